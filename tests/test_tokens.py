"""Bearer tokens (DIAL_TOKEN, token, token_command): sent alone, redacted, never saved."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cli_harness import run_dial
from helpers import RunningEmulator

pytestmark = pytest.mark.usefixtures("dial_environ")


def everything_saved() -> bytes:
    home = Path(os.environ["DIAL_HOME"])
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


def token_bucket(emulator: RunningEmulator) -> str:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    return httpx.get(emulator.url + "/v1/bucket", headers=headers).json()["bucket"]


def test_dial_token_alone_is_enough(backend_name, emulator, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    monkeypatch.setenv("DIAL_TOKEN", emulator.token)
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "signed in"])
    assert (result.code, result.stdout, result.stderr) == (0, "signed in\n", "")
    assert emulator.token.encode() not in everything_saved()


def test_token_wins_over_the_key_and_verbose_says_so(backend_name, emulator, monkeypatch):
    monkeypatch.setenv("DIAL_TOKEN", emulator.token)  # DIAL_API_KEY stays set too
    result = run_dial(["ask", "--backend", backend_name, "-v", "-m", "echo", "both"])
    assert result.code == 0, result.stderr  # the emulator, like Core, answers 400 to both
    assert result.stdout == "both\n"
    assert "sending the token" in result.stderr
    assert "Authorization: ***" in result.stderr or "authorization: ***" in result.stderr
    assert emulator.token not in result.stderr and emulator.api_key not in result.stderr
    assert "api-key:" not in result.stderr.lower()


def test_files_go_to_the_token_owners_bucket(backend_name, emulator, monkeypatch, tmp_path):
    monkeypatch.delenv("DIAL_API_KEY")
    monkeypatch.setenv("DIAL_TOKEN", emulator.token)
    note = tmp_path / "note.txt"
    note.write_text("mine")
    args = ["ask", "--backend", backend_name, "-m", "attachments-echo", "-a", str(note), "x"]
    result = run_dial(args)
    assert result.code == 0, result.stderr
    assert f"url files/{token_bucket(emulator)}/" in result.stdout


def test_token_command_in_the_config_file(backend_name, emulator, monkeypatch, tmp_path):
    monkeypatch.delenv("DIAL_API_KEY")
    config = tmp_path / "config.toml"
    config.write_text(f"token_command = \"echo '{emulator.token}'\"\n")
    config.chmod(0o600)
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    result = run_dial(["models", "--backend", backend_name])
    assert result.code == 0, result.stderr
    assert "echo" in result.stdout.split()


def test_a_wrong_token_exits_3_without_showing_it(backend_name, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    monkeypatch.setenv("DIAL_TOKEN", "not-the-token-0123456789")
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "x"])
    assert result.code == 3
    assert "not-the-token-0123456789" not in result.stderr


def test_no_key_and_no_token_names_both(monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    result = run_dial(["ask", "-m", "echo", "x"])
    assert result.code == 2
    assert "DIAL_API_KEY or DIAL_TOKEN" in result.stderr


class _EchoingHandler(BaseHTTPRequestHandler):
    """A careless server: its 401 repeats the credential it was sent."""

    def do_POST(self) -> None:
        sent = self.headers.get("Authorization") or self.headers.get("Api-Key") or ""
        body = json.dumps({"error": {"message": f"rejected {sent}", "code": "401"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("key", ["token", "api_key"])
def test_a_secret_from_the_config_file_is_scrubbed_from_error_lines(
    backend_name, echoing_server, monkeypatch, tmp_path, key
):
    secret = "config-secret-0123456789"
    monkeypatch.delenv("DIAL_API_KEY")
    monkeypatch.setenv("DIAL_URL", echoing_server)
    config = tmp_path / "config.toml"
    config.write_text(f'{key} = "{secret}"\nretries = 0\n')
    config.chmod(0o600)
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "x"])
    assert result.code == 3
    assert "rejected" in result.stderr and "***6789" in result.stderr
    assert secret not in result.stderr
