"""A bounded soak: many sequential and concurrent `ask -c` runs lose nothing, leak nothing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_harness import dial_exe, run_dial

# Bounded in count, not in time: on a loaded 2-core machine 500 runs take minutes.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def the_conversation(home: str) -> dict:
    [path] = (Path(home) / "conversations").glob("[0-9a-f]*.json")
    return json.loads(path.read_bytes())


def test_500_sequential_continuations_keep_every_exchange_and_memory_flat(dial_environ):
    assert run_dial(["ask", "-m", "echo", "turn start"]).code == 0
    rss_after_warmup = 0
    for turn in range(500):
        result = run_dial(["ask", "-c", f"turn {turn}"])
        assert result.code == 0, result.stderr
        if turn == 100:
            rss_after_warmup = rss_kib()
    growth = rss_kib() - rss_after_warmup
    assert growth < 20 * 1024, f"memory grew by {growth} KiB over 400 runs"
    messages = the_conversation(dial_environ["DIAL_HOME"])["messages"]
    assert len(messages) == 2 * 501
    assert [m["content"] for m in messages[2::2]] == [f"turn {i}" for i in range(500)]


def test_50_concurrent_continuations_all_land(dial_env):
    env = {"PATH": os.environ["PATH"], **dial_env}
    first = subprocess.run(
        [dial_exe(), "ask", "-m", "echo", "start"], env=env, capture_output=True, check=True
    )
    assert first.stdout == b"start\n"
    processes = [
        subprocess.Popen(
            [dial_exe(), "ask", "-c", f"parallel {i}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(50)
    ]
    for i, process in enumerate(processes):
        out, err = process.communicate(timeout=120)
        assert (process.returncode, out) == (0, f"parallel {i}\n".encode()), err
    messages = the_conversation(dial_env["DIAL_HOME"])["messages"]
    assert len(messages) == 2 + 2 * 50
    questions = [m["content"] for m in messages[2::2]]
    assert sorted(questions) == sorted(f"parallel {i}" for i in range(50))
    for question, answer in zip(messages[2::2], messages[3::2], strict=True):
        assert answer["role"] == "assistant" and answer["content"] == question["content"]
