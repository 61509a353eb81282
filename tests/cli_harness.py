"""Run ``dial`` in-process with fake streams, or as the installed program."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dialcli.__main__ import main
from dialcli.output import IOStreams


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes = b""


def run_dial(args: list[str], stdin: bytes | str = b"", *, tty: bool = False) -> Result:
    """``dial ARGS`` in this process; the environment comes from os.environ."""
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
    full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [dial_exe(), *args], input=stdin, env=full_env, capture_output=True, timeout=timeout
    )
