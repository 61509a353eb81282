"""`dial usage` (limits) and `dial tokens` (tokenize) against the emulator, both backends."""

from __future__ import annotations

import json

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


def _limits(backend_name: str, *models: str) -> dict[str, dict]:
    args = ["usage", "--backend", backend_name, "--json"]
    for model in models:
        args += ["-m", model]
    result = run_dial(args)
    assert result.code == 0, result.stderr
    return {entry["deployment"]: entry for entry in json.loads(result.stdout)}


def test_usage_lists_configured_windows_and_says_when_there_are_none(backend_name):
    result = run_dial(["usage", "--backend", backend_name], tty=True)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    echo = next(line for line in lines if line.startswith("echo "))
    assert echo.split(None, 1)[1] == "no limits configured"
    priced = [line for line in lines if line.startswith("priced ")]
    assert len(priced) == 1 and "tokens per minute" in priced[0]
    at = lines.index(priced[0])
    windows = [line.split("  ")[-1] for line in lines[at : at + 4]]
    labels = [line.split()[0:3] for line in lines[at + 1 : at + 4]]
    assert labels == [["tokens", "per", "day"], ["requests", "per", "hour"], ["cost", "per", "day"]]
    assert all(w.endswith("%") for w in windows)


def test_usage_counts_what_an_answer_used(backend_name):
    before = _limits(backend_name, "priced")["priced"]
    result = run_dial(["ask", "-m", "priced", "--backend", backend_name, "one two three"])
    assert result.code == 0, result.stderr
    after = _limits(backend_name, "priced")["priced"]
    used = {w["window"]: w["used"] for w in after["windows"]}
    was = {w["window"]: w["used"] for w in before["windows"]}
    # 3 prompt words + 3 answer words, one request.
    assert used["minuteTokenStats"] - was["minuteTokenStats"] == 6
    assert used["hourRequestStats"] - was["hourRequestStats"] == 1
    minute = next(w for w in after["windows"] if w["window"] == "minuteTokenStats")
    assert minute["total"] == 10_000
    assert minute["percent"] == pytest.approx(used["minuteTokenStats"] / 100, abs=0.01)
    # The unconfigured windows (Core's Long.MAX_VALUE) are no window at all.
    assert "weekTokenStats" not in used
    assert after["limits"]["weekTokenStats"]["total"] == 9223372036854775807


def test_usage_for_a_deployment_without_limits_has_no_windows(backend_name):
    assert _limits(backend_name, "echo")["echo"]["windows"] == []


def test_usage_of_an_unknown_deployment_exits_4_after_showing_the_others(backend_name):
    result = run_dial(["usage", "--backend", backend_name, "-m", "nope", "-m", "echo"])
    assert result.code == 4
    assert result.stdout == "echo\tnone\n"
    assert result.stderr.startswith("dial: limits of 'nope': deployment 'nope' not found")
    assert result.stderr.count("\n") == 1


def test_tokens_counts_a_text(backend_name):
    result = run_dial(["tokens", "--backend", backend_name, "-m", "priced", "one two three"])
    assert (result.code, result.stdout) == (0, "3\n"), result.stderr
    piped = run_dial(["tokens", "--backend", backend_name, "-m", "priced", "--json"], "a b c d")
    assert json.loads(piped.stdout) == {"model": "priced", "token_count": 4}


def test_tokens_of_a_conversation_predict_the_next_answers_prompt_tokens(backend_name):
    first = run_dial(["ask", "--backend", backend_name, "-m", "priced", "one two three"])
    assert first.code == 0, first.stderr
    counted = run_dial(["tokens", "--backend", backend_name, "-c", "four five"])
    assert counted.code == 0, counted.stderr
    # user "one two three" + assistant "one two three" + user "four five"
    assert counted.stdout == "8\n"
    asked = run_dial(["ask", "--backend", backend_name, "-c", "four five", "--json"])
    assert json.loads(asked.stdout)["usage"]["prompt_tokens"] == 8


def test_tokens_on_a_deployment_without_tokenize_exits_2_naming_it(backend_name):
    result = run_dial(["tokens", "--backend", backend_name, "-m", "echo", "hello"])
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "dial: deployment 'echo' cannot count tokens: its listing does not offer tokenize "
        "(features.tokenize is not true)\n"
    )


def test_tokens_needs_a_text_or_a_conversation():
    result = run_dial(["tokens", "-m", "priced"], tty=True)
    assert result.code == 2
    assert "no prompt" in result.stderr
