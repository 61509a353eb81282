"""`dial ask` with several -m: one prompt to several models at once, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from cli_harness import run_dial

from dialcli.store import Store

pytestmark = pytest.mark.usefixtures("dial_environ")


def ask(backend: str, *args: str, stdin: str = ""):
    return run_dial(["ask", "--backend", backend, *args], stdin)


def test_answers_follow_each_other_under_a_header_in_the_order_given(backend_name):
    # slow (50 ms a word) finishes last but is shown first: the order is the user's.
    result = ask(backend_name, "-m", "slow", "-m", "echo", "-m", "latency", "one two three")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "=== slow ===\none two three\n\n"
        "=== echo ===\none two three\n\n"
        "=== latency ===\none two three\n"
    )


def test_the_models_are_asked_at_the_same_time(backend_name, emulator):
    headers = {"Api-Key": emulator.api_key}
    httpx.delete(f"{emulator.url}/emulator/load", headers=headers).raise_for_status()
    result = ask(backend_name, "-m", "limited", "-m", "limited", "-m", "limited", "hi")
    assert result.code == 0, result.stderr
    counts = httpx.get(f"{emulator.url}/emulator/load", headers=headers).json()["limited"]
    assert (counts["peak"], counts["served"]) == (3, 3)  # all three inside at once


def test_json_gives_one_line_per_model_and_a_failure_sets_the_exit_code(backend_name):
    result = ask(backend_name, "--json", "--retries", "0", "-m", "echo", "-m", "fail-403", "hey")
    assert result.code == 3
    assert result.stderr == (
        "dial: fail-403: Access to this deployment is denied (emulator) (HTTP 403)\n"
        "dial: 1 of 2 models failed\n"
    )
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["latency_ms"] >= 0 and first["conversation_id"]
    del first["latency_ms"], first["conversation_id"]
    assert first == {
        "model": "echo",
        "content": "hey",
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        "error": None,
    }
    assert second["error"] == {
        "status": 403,
        "message": "Access to this deployment is denied (emulator) (HTTP 403)",
    }
    assert (second["content"], second["conversation_id"]) == (None, None)


def test_each_model_is_saved_apart_and_c_continues_the_first(backend_name, dial_environ):
    assert ask(backend_name, "-m", "latency-3", "-m", "echo", "-m", "slow", "q").code == 0
    store = Store(Path(dial_environ["DIAL_HOME"]))
    saved = {s.id: store.load(s.id) for s in store.summaries()}
    assert sorted(c.model for c in saved.values()) == ["echo", "latency-3", "slow"]
    assert all([m.content for m in c.messages] == ["q", "q"] for c in saved.values())
    again = ask(backend_name, "-c", "and again")
    assert (again.code, again.stdout) == (0, "and again\n")
    continued = [store.load(s.id) for s in store.summaries() if len(store.load(s.id).messages) == 4]
    assert [c.model for c in continued] == ["latency-3"]


def test_continuing_with_several_models_is_a_usage_error():
    result = ask("raw", "-c", "-m", "echo", "-m", "slow", "hi")
    assert result.code == 2
    assert result.stderr.startswith("dial: several -m start new conversations")


def test_ctrl_c_keeps_what_each_model_answered_marked_interrupted(backend_name, dial_env):
    import os
    import signal
    import subprocess

    from cli_harness import dial_exe

    prompt = " ".join(f"w{i}" for i in range(60))  # slow: 50 ms a word, 3 s in all
    process = subprocess.Popen(
        [dial_exe(), "ask", "--backend", backend_name, "-m", "slow", "-m", "echo", prompt],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **dial_env},
    )
    assert process.stdout.read(len("=== slow ===\nw0 w1")) == b"=== slow ===\nw0 w1"
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.decode() == "dial: interrupted\n"
    assert rest.endswith(b"\n") and b"w59" not in rest  # the line ends; the answer stopped
    store = Store(Path(dial_env["DIAL_HOME"]))
    saved = {c.model: c for c in (store.load(s.id) for s in store.summaries())}
    # slow was cut after two words; echo may have finished or not: either way each
    # saved answer is what arrived, marked interrupted unless it was whole.
    assert "slow" in saved and set(saved) <= {"slow", "echo"}
    for conversation in saved.values():
        question, answer = conversation.messages
        assert question.content == prompt and prompt.startswith(answer.content)
        assert answer.interrupted == (answer.content != prompt)
    slow = saved["slow"].messages[1]
    assert slow.content.startswith("w0 w1") and slow.interrupted
    assert store.latest() == saved["slow"].id  # -c continues the first model's


def test_usage_stages_and_finish_reasons_are_shown_per_model_after_the_answers(backend_name):
    result = ask(
        backend_name, "-u", "--stages", "names", "-m", "stages", "-m", "priced", "-m", "length",
        "a b c d",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("=== stages ===\na b c d\n\n=== priced ===\na b c d\n")
    lines = result.stderr.splitlines()
    assert lines[:5] == [
        "dial: stages: stages",
        "▸ Searching",
        "✓ Searching (done)",
        "▸ Answering",
        "✓ Answering (done)",
    ]
    assert lines[5] == "dial: length: the answer was cut at the token limit"
    usage = lines[6:]
    assert [line.split(":")[0] for line in usage] == ["stages", "priced", "length"]
    assert "$" in usage[1] and " in · " in usage[0]


def test_a_content_filtered_model_is_that_models_failure(backend_name):
    result = ask(backend_name, "-m", "echo", "-m", "content-filter", "x y z")
    assert result.code == 1
    assert result.stderr == (
        "dial: content-filter: the answer was stopped by the content filter\n"
        "dial: 1 of 2 models failed\n"
    )


def test_save_attachments_keeps_the_files_of_every_model(backend_name, tmp_path):
    folder = tmp_path / "files"
    result = ask(
        backend_name, "--save-attachments", str(folder), "-m", "attachments", "-m", "echo", "x"
    )
    assert result.code == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["dot.png", "report.txt"]
    assert result.stderr.startswith("dial: attachments: attachments\n")
    assert f"saved: {folder / 'report.txt'}\n" in result.stderr
