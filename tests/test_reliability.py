"""Retries, timeouts and bad input, on both backends, over real sockets."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest
from cli_harness import dial_exe, run_dial, run_installed


def unique(text: str) -> str:
    """The emulator's flaky deployment counts failures per exact prompt."""
    return f"{text} {uuid.uuid4().hex[:8]}"


@pytest.mark.usefixtures("dial_environ")
class TestRetries:
    def test_transient_503s_are_retried_until_the_answer_arrives(self, backend_name):
        prompt = unique("fail 2: hello")
        result = run_dial(["ask", "--backend", backend_name, "-v", "-m", "flaky", prompt])
        assert result.code == 0, result.stderr
        assert result.stdout == prompt.removeprefix("fail 2: ") + "\n"
        assert "retry 1/2" in result.stderr and "retry 2/2" in result.stderr

    def test_retries_run_out_with_the_last_error(self, backend_name):
        prompt = unique("fail 3: hello")
        result = run_dial(
            ["ask", "--backend", backend_name, "--retries", "1", "-m", "flaky", prompt]
        )
        assert result.code == 1
        assert "failure 2 of 3" in result.stderr and "(HTTP 503)" in result.stderr

    def test_rate_limit_is_retried_then_exits_5(self, backend_name):
        prompt = unique("fail 5: 429 x")
        result = run_dial(
            ["ask", "--backend", backend_name, "--retries", "2", "-m", "flaky", prompt]
        )
        assert result.code == 5
        assert "failure 3 of 5" in result.stderr

    def test_no_retries_with_retries_0(self, backend_name):
        prompt = unique("fail 1: once")
        result = run_dial(
            ["ask", "--backend", backend_name, "--retries", "0", "-m", "flaky", prompt]
        )
        assert result.code == 1 and "failure 1 of 1" in result.stderr

    def test_client_errors_are_not_retried(self, backend_name):
        result = run_dial(["ask", "--backend", backend_name, "-v", "-m", "fail-400", "x"])
        assert result.code == 2
        assert "retry" not in result.stderr


def test_retry_after_is_honoured(at_fault_server, backend_name, retry_waits):
    args = ["ask", "--backend", backend_name, "--retries", "1", "-m", "status-429-retry-after-1"]
    result = run_dial([*args, "hi"])
    assert result.code == 5
    assert at_fault_server.hits["status-429-retry-after-1"] == 2
    assert retry_waits == [1.0]


def test_502_from_a_proxy_is_retried(at_fault_server, backend_name):
    result = run_dial(["ask", "--backend", backend_name, "--retries", "2", "-m", "html-502", "hi"])
    assert result.code == 1
    assert at_fault_server.hits["html-502"] == 3


def test_connection_refused_is_retried_and_reported_in_verbose_mode(
    dial_environ, monkeypatch, closed_port, backend_name
):
    monkeypatch.setenv("DIAL_URL", f"http://127.0.0.1:{closed_port}")
    result = run_dial(["ask", "--backend", backend_name, "-v", "--retries", "1", "-m", "x", "hi"])
    assert result.code == 6
    assert "retry 1/1" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("dial: cannot reach DIAL at")


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port whose accept queue is full, so a new connection hangs in SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for filler in fillers:
        filler.close()
    listener.close()


def test_connect_timeout_names_itself_and_exits_6(dial_environ, monkeypatch, tmp_path, blackhole):
    config = tmp_path / "config.toml"
    config.write_text("[timeouts]\nconnect = 0.3\n")
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    monkeypatch.setenv("DIAL_URL", f"http://127.0.0.1:{blackhole}")
    result = run_dial(["ask", "--retries", "0", "-m", "x", "hi"])
    assert result.code == 6
    assert result.stderr.startswith("dial: connect timeout: no connection to")
    assert "within 0.3 s" in result.stderr


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.usefixtures("dial_environ")
def test_invalid_utf8_on_stdin_is_rejected_with_one_line():
    result = run_dial(["ask", "-m", "echo"], stdin=b"caf\xe9 latin-1\n")
    assert result.code == 2
    assert result.stderr == (
        "dial: stdin is not valid UTF-8 (byte 0xe9 at offset 3); "
        "convert it first, e.g. iconv -f latin1 -t utf-8\n"
    )


def test_a_50_mb_stdin_is_refused_with_its_size(dial_env):
    process = subprocess.Popen(
        [dial_exe(), "ask", "-m", "echo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": "/usr/bin:/bin", **dial_env},
    )
    block = b"x" * (1024 * 1024)
    try:
        for _ in range(50):
            process.stdin.write(block)  # type: ignore[union-attr]
    except BrokenPipeError:
        pass  # dial stopped reading once it knew the answer
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert out == b""
    assert err.startswith(b"dial: stdin is larger than 16 MiB")


def test_closed_stdout_exits_quietly_without_traceback(dial_env):
    done = subprocess.run(
        ["bash", "-c", f"'{dial_exe()}' ask -m long 100000 >&-; echo status=$?"],
        env={"PATH": "/usr/bin:/bin", **dial_env},
        capture_output=True,
        timeout=30,
    )
    assert done.stderr == b""
    assert done.stdout.strip() == b"status=141"


def test_no_temporary_files_are_left_after_failed_runs(dial_env):
    for model in ("echo", "midstream", "fail-500"):
        run_installed(["ask", "--retries", "0", "-m", model, "a b c d"], dial_env)
    from pathlib import Path

    folder = Path(dial_env["DIAL_HOME"]) / "conversations"
    assert not list(folder.glob(".tmp-*"))
