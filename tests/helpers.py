"""Helpers for the test fixtures: starting the emulator as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import IO

EMULATOR_KEY = "test-key-abc123"
INTERNAL_EXIT = 70  # DIAL_INTERNAL_ERROR_EXIT in every test (conftest.py)
EMULATOR_TOKEN = "test-jwt-eyJhbGciOi.user42"  # a bearer token the session emulator accepts


@dataclass
class RunningEmulator:
    """A ``dial-emulator`` subprocess and how to reach it."""

    url: str
    api_key: str | None
    process: subprocess.Popen[str]
    log: IO[str]
    token: str | None = None

    def stderr_text(self) -> str:
        """Everything the emulator wrote to stderr so far."""
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        """Terminate (SIGTERM) and return the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode


def start_emulator(
    api_key: str | None = EMULATOR_KEY,
    timeout: float = 20.0,
    token: str | None = None,
    extra: tuple[str, ...] = (),
) -> RunningEmulator:
    """Start ``python -m dialcli.emulator --port 0 [extra...]`` and wait for its URL line."""
    argv = [sys.executable, "-m", "dialcli.emulator", "--port", "0", *extra]
    if api_key is not None:
        argv += ["--api-key", api_key]
    if token is not None:
        argv += ["--token", token]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAL_")}
    # stderr goes to a file: an unread pipe fills up after 64 KiB of server logs and
    # then blocks the emulator in the middle of a test session.
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the emulator
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    line: list[str] = []
    # readline() blocks; a thread lets us give up after ``timeout`` seconds.
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    url = line[0].strip() if line else ""
    if not url.startswith("http://"):
        process.kill()
        process.wait()
        log.seek(0)
        err = log.read()
        raise RuntimeError(f"emulator did not start within {timeout}s: {err.strip()[-2000:]}")
    return RunningEmulator(url, api_key, process, log, token)
