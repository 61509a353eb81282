"""The installed `dial` in a subprocess: pipes, flushing, stdin, closed readers."""

from __future__ import annotations

import os
import selectors
import subprocess

from cli_harness import dial_exe, run_installed


def test_echo_through_a_real_pipe(dial_env):
    done = run_installed(["ask", "-m", "echo"], dial_env, stdin=b"Hello, DIAL")
    assert (done.returncode, done.stdout, done.stderr) == (0, b"Hello, DIAL\n", b"")


def test_each_token_is_flushed_into_the_pipe_as_it_arrives(dial_env):
    """With the slow deployment (~50 ms a token) the first token arrives long before the last."""
    words = " ".join(f"w{i}" for i in range(20))
    env = {"PATH": os.environ["PATH"], **dial_env}
    process = subprocess.Popen(
        [dial_exe(), "ask", "-m", "slow", words],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    arrivals: list[bytes] = []
    running_at_first_token = None
    while True:
        selector.select(timeout=30)
        data = os.read(process.stdout.fileno(), 65536)
        if not data:
            break
        if not arrivals:
            running_at_first_token = process.poll() is None
        arrivals.append(data)
    assert process.wait(timeout=30) == 0
    assert b"".join(arrivals) == (words + "\n").encode()
    assert running_at_first_token, "the first token came only when the answer had ended"
    assert len(arrivals) >= 10, "tokens were buffered instead of flushed one by one"


def test_a_reader_that_closes_early_ends_dial_quietly(dial_env):
    env = {"PATH": os.environ["PATH"], **dial_env}
    pipeline = f"'{dial_exe()}' ask -m long 50000 | head -c 10"
    done = subprocess.run(
        ["bash", "-c", pipeline + '; echo " status=${PIPESTATUS[0]}"'],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.stdout.startswith(b"word1 word")
    assert done.stderr == b""
    assert b"status=141" in done.stdout


def test_stdin_from_a_file_and_an_argument(dial_env, tmp_path):
    source = tmp_path / "notes.txt"
    source.write_text("line one\nline two\n")
    env = {"PATH": os.environ["PATH"], **dial_env}
    with source.open("rb") as stdin:
        done = subprocess.run(
            [dial_exe(), "ask", "-m", "echo", "summarise"],
            stdin=stdin,
            env=env,
            capture_output=True,
            timeout=30,
        )
    assert done.returncode == 0
    assert done.stdout == b"line one\nline two\n\nsummarise\n"
