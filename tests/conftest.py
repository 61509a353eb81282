"""Shared fixtures: the DIAL emulator, the fault server and a clean dial environment."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/ helpers import as plain modules

from faultserver import FaultServer
from helpers import EMULATOR_KEY, EMULATOR_TOKEN, INTERNAL_EXIT, RunningEmulator, start_emulator

from dialcli.__main__ import INTERNAL_EXIT_VAR
from dialcli.backends.retry import RetryPolicy


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    """A running emulator (``.url``, ``.api_key``, ``.token``) shared by the whole session."""
    running = start_emulator(EMULATOR_KEY, token=EMULATOR_TOKEN)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def fault_server() -> Iterator[FaultServer]:
    """A running FaultServer (``.url``, ``.hits``, ``.requests``) for the session."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def dial_env(emulator: RunningEmulator, tmp_path: Path) -> dict[str, str]:
    """A full environment for running ``dial`` in a subprocess against the emulator.

    Inherited ``DIAL_*`` variables are dropped so a developer's own setup never leaks in.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIAL_")}
    env.update(
        DIAL_URL=emulator.url,
        DIAL_API_KEY=emulator.api_key or "",
        DIAL_HOME=str(tmp_path / "home"),
        DIAL_CONFIG=str(tmp_path / "config.toml"),  # does not exist: defaults apply
    )
    env[INTERNAL_EXIT_VAR] = str(INTERNAL_EXIT)
    return env


@pytest.fixture
def dial_environ(dial_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``dial_env`` applied to ``os.environ`` for in-process tests.

    Inherited ``DIAL_*`` variables are already gone (``_no_inherited_dial_settings``).
    """
    for name, value in dial_env.items():
        if name.startswith("DIAL_"):
            monkeypatch.setenv(name, value)
    return dial_env


@pytest.fixture
def at_fault_server(
    fault_server: FaultServer, dial_environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> FaultServer:
    """In-process ``dial`` pointed at the fault server, its hit counts reset."""
    monkeypatch.setenv("DIAL_URL", fault_server.url)
    fault_server.reset()
    return fault_server


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening on it: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits every RetryPolicy made in this test, recorded instead of slept."""
    waits: list[float] = []
    # A NamedTuple keeps its defaults on __new__, in field order; ``sleep`` is the last.
    assert RetryPolicy._fields[-1] == "sleep"
    defaults = RetryPolicy.__new__.__defaults__ or ()
    monkeypatch.setattr(RetryPolicy.__new__, "__defaults__", (*defaults[:-1], waits.append))
    return waits


@pytest.fixture(params=["raw", "sdk"], ids=["raw", "sdk"])
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each backend in turn, for contract tests that must hold for both."""
    return request.param


@pytest.fixture(autouse=True)
def _no_inherited_dial_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's own DIAL_* variables or config file never leak into a test."""
    for name in list(os.environ):
        if name.startswith("DIAL_") or name == "NO_COLOR":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DIAL_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("DIAL_HOME", str(tmp_path / "home"))
    # An internal error exits 70 in every test, in-process and in subprocesses built from
    # dial_env or run_installed: cli_harness fails any run that meets one unexpectedly.
    monkeypatch.setenv(INTERNAL_EXIT_VAR, str(INTERNAL_EXIT))
