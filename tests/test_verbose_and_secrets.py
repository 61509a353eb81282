"""-v logs requests and responses; the API key never appears anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_harness import run_dial, run_installed


@pytest.mark.usefixtures("dial_environ")
def test_verbose_logs_the_request_and_each_sse_line_with_timings(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-v", "-m", "echo", "hi there"])
    assert result.code == 0
    assert result.stdout == "hi there\n", "logging must never reach stdout"
    log = result.stderr
    assert re.search(
        r"^dial: debug: > POST http://\S+/openai/deployments/echo/chat/completions", log, re.M
    )
    assert re.search(r"^dial: debug: > api-key: \*\*\*c123$", log, re.M | re.I)
    assert '"content":"hi there"' in log
    assert re.search(r"^dial: debug: \[ *[\d.]+ ms\] < HTTP 200", log, re.M)
    assert re.search(r'^dial: debug: \[ *[\d.]+ ms\] < .*"content":" there"', log, re.M)


@pytest.mark.usefixtures("dial_environ")
def test_dial_log_debug_turns_on_the_same_logging(backend_name, monkeypatch):
    monkeypatch.setenv("DIAL_LOG", "debug")
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "hi"])
    assert result.code == 0
    assert "dial: debug: > POST" in result.stderr


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["ask", "-m", "echo", "hi"], 0),
        (["ask", "-m", "echo", "--no-stream", "hi"], 0),
        (["ask", "-m", "midstream", "a b c d e"], 1),
        (["ask", "-m", "fail-429", "--retries", "0", "hi"], 5),
        (["ask", "-m", "fail-500", "--retries", "0", "hi"], 1),
        (["ask", "-m", "nope", "hi"], 4),
        (["models"], 0),
    ],
)
def test_the_key_never_appears_in_output_or_files(dial_env, tmp_path, backend_name, args, code):
    key = dial_env["DIAL_API_KEY"]
    env = {**dial_env, "DIAL_BACKEND": backend_name, "DIAL_DEBUG": "1", "HOME": str(tmp_path)}
    done = run_installed([*args[:1], "-v", *args[1:]], env)
    assert done.returncode == code, done.stderr
    assert key.encode() not in done.stdout
    assert key.encode() not in done.stderr
    assert b"dial: debug: >" in done.stderr
    for path in files_under(tmp_path):
        assert key.encode() not in path.read_bytes(), f"key written to {path}"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["ask", "-m", "fail-403", "hi"], 3),
        (["ask", "-m", "midstream", "a b c d"], 1),
        (["models"], 3),
    ],
)
def test_the_key_is_scrubbed_from_forced_tracebacks(dial_env, tmp_path, backend_name, args, code):
    """DIAL_DEBUG=1 prints the traceback of every error; the key is scrubbed from it."""
    key = dial_env["DIAL_API_KEY"]
    env = {**dial_env, "DIAL_DEBUG": "1", "HOME": str(tmp_path), "DIAL_BACKEND": backend_name}
    if args == ["models"]:
        env["DIAL_API_KEY"] = key = "wrong-but-secret-key-4242"
    done = run_installed(args, env)
    assert done.returncode == code
    assert b"Traceback (most recent call last)" in done.stderr
    assert key.encode() not in done.stderr
    assert key.encode() not in done.stdout
