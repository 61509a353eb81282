"""Run ``dial`` in-process with fake streams, or as the installed program."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helpers import INTERNAL_EXIT

from dialcli.__main__ import INTERNAL_EXIT_VAR, main
from dialcli.output import IOStreams


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes = b""


def check_internal(code: int, stderr: str | bytes, *, expected: bool = False) -> None:
    """Fail the test on an internal error (a bug), unless the test is about one."""
    if (code == INTERNAL_EXIT) != expected:
        text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
        raise AssertionError(f"exit {code}; internal error expected: {expected}; {text}")


def run_dial(
    args: list[str],
    stdin: bytes | str = b"",
    *,
    tty: bool = False,
    internal_error: bool = False,
) -> Result:
    """``dial ARGS`` in this process; the environment comes from os.environ.

    A run that ends in an internal error fails the test unless ``internal_error``.
    """
    data = stdin.encode() if isinstance(stdin, str) else stdin
    streams = IOStreams(
        stdin=io.BytesIO(data),
        stdout=io.BytesIO(),
        stderr=io.StringIO(),
        stdin_is_tty=tty,
        stdout_is_tty=tty,
        stderr_is_tty=tty,
    )
    code = main(args, streams)
    check_internal(code, streams.stderr.getvalue(), expected=internal_error)  # type: ignore[attr-defined]
    out = streams.stdout.getvalue()  # type: ignore[attr-defined]
    return Result(code, out.decode("utf-8"), streams.stderr.getvalue(), out)  # type: ignore[attr-defined]


def dial_exe() -> str:
    # Beside the interpreter first: CI runs .venv/bin/python without activating the venv.
    found = shutil.which("dial", path=str(Path(sys.executable).parent)) or shutil.which("dial")
    assert found, "the dial console script must be installed (pip install -e .)"
    return found


def run_installed(
    args: list[str], env: dict[str, str], stdin: bytes = b"", timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """The installed ``dial`` in a subprocess, with exactly ``env`` (plus PATH/HOME)."""
    full_env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        INTERNAL_EXIT_VAR: str(INTERNAL_EXIT),
        **env,
    }
    done = subprocess.run(
        [dial_exe(), *args], input=stdin, env=full_env, capture_output=True, timeout=timeout
    )
    check_internal(done.returncode, done.stderr)
    return done
