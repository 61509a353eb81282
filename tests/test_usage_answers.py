"""Usage recorded on every answer, -u/--usage, --json cost, --max-prompt-tokens, chat's /usage.

Against the emulator on both backends. `priced` costs $0.0000025 per prompt token and
$0.00001 per completion token; its tokens are words.
"""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from cli_harness import run_dial

from dialcli.__main__ import main
from dialcli.output import IOStreams

pytestmark = pytest.mark.usefixtures("dial_environ")


def saved() -> list[dict]:
    folder = Path(os.environ["DIAL_HOME"]) / "conversations"
    return [json.loads(p.read_bytes()) for p in sorted(folder.glob("[!.]*.json"))]


def test_usage_flag_prints_one_line_with_tokens_cost_and_time(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-m", "priced", "-u", "one two three"])
    assert result.code == 0, result.stderr
    assert result.stdout == "one two three\n"
    # 3 x $0.0000025 + 3 x $0.00001 = $0.0000375, shown with two significant digits.
    assert re.fullmatch(r"3 in · 3 out · \$0\.000038 · \d+\.\d s\n", result.stderr)


def test_usage_flag_without_a_price_shows_no_cost(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "--usage", "a b"])
    assert result.code == 0, result.stderr
    assert re.fullmatch(r"2 in · 2 out · \d+\.\d s\n", result.stderr)


def test_json_has_usage_and_cost(backend_name):
    priced = json.loads(
        run_dial(["ask", "--backend", backend_name, "-m", "priced", "--json", "a b c d"]).stdout
    )
    assert priced["usage"] == {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8}
    assert priced["cost_usd"] == pytest.approx(0.00005)  # 4 x 0.0000025 + 4 x 0.00001
    assert priced["cost_approximate"] is False
    assert priced["response_model"] == "priced-2025-01"
    echo = json.loads(
        run_dial(["ask", "--backend", backend_name, "-m", "echo", "--json", "x"]).stdout
    )
    assert echo["cost_usd"] is None and echo["usage"]["completion_tokens"] == 1


def test_character_prices_are_approximate_in_json(backend_name):
    doc = json.loads(
        run_dial(
            ["ask", "--backend", backend_name, "-m", "priced-chars", "--json", "How are you?"]
        ).stdout
    )
    # 10 characters in, 10 out: 10 x $0.0000005 + 10 x $0.0000015 = $0.00002
    assert doc["cost_usd"] == pytest.approx(0.00002)
    assert doc["cost_approximate"] is True


def test_every_saved_answer_records_usage_latency_and_the_model_as_answered(backend_name):
    for args in (["-m", "priced", "first"], ["-c", "--no-stream", "second"]):
        result = run_dial(["ask", "--backend", backend_name, *args])
        assert result.code == 0, result.stderr
    [conversation] = saved()
    answers = [m for m in conversation["messages"] if m["role"] == "assistant"]
    assert len(answers) == 2
    for answer in answers:
        assert answer["usage"]["completion_tokens"] == 1
        assert answer["model"] == "priced"
        assert answer["response_model"] == "priced-2025-01"
        latency = answer["latency_ms"]
        assert 0 <= latency["first_byte"] <= latency["total"]
        assert answer["created"].endswith("Z")


class _ClosesAfterFirstWrite(io.BytesIO):
    """stdout whose reader goes away after the first piece (`dial ask ... | head -c 5`)."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.getvalue():
            raise BrokenPipeError
        return super().write(data)


def test_an_interrupted_answer_stores_what_is_known(backend_name):
    streams = IOStreams(io.BytesIO(), _ClosesAfterFirstWrite(), io.StringIO())
    code = main(["ask", "--backend", backend_name, "-m", "long", "3000"], streams)
    assert code == 141, streams.stderr.getvalue()  # type: ignore[attr-defined]
    [conversation] = saved()
    answer = conversation["messages"][-1]
    assert answer["interrupted"] is True
    assert "usage" not in answer  # the stream was cut before the usage chunk
    assert answer["latency_ms"]["total"] >= answer["latency_ms"]["first_byte"] >= 0


def test_max_prompt_tokens_reports_dropped_turns_and_keeps_the_whole_conversation(backend_name):
    base = ["ask", "--backend", backend_name]
    assert run_dial([*base, "-m", "priced", "one two three"]).code == 0
    assert run_dial([*base, "-c", "four five six"]).code == 0
    # History: 3 + 3 + 3 + 3 words; the new question has 2: only it fits in 4.
    result = run_dial([*base, "-c", "--max-prompt-tokens", "4", "-u", "seven eight"])
    assert result.code == 0, result.stderr
    assert result.stdout == "seven eight\n"
    lines = result.stderr.splitlines()
    assert lines[0] == "dial: dropped turns 1-2 to fit 4 tokens"
    assert lines[1].startswith("2 in · 2 out · ")
    [conversation] = saved()
    contents = [m["content"] for m in conversation["messages"]]
    assert contents == ["one two three"] * 2 + ["four five six"] * 2 + ["seven eight"] * 2


def test_max_prompt_tokens_from_config_toml(backend_name, tmp_path, monkeypatch):
    config = tmp_path / "limits.toml"
    config.write_text("max_prompt_tokens = 3\n")
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    assert run_dial(["ask", "--backend", backend_name, "-m", "priced", "a b"]).code == 0
    result = run_dial(["ask", "--backend", backend_name, "-c", "c d"])
    assert result.code == 0, result.stderr
    assert result.stderr == "dial: dropped turn 1 to fit 3 tokens\n"


def test_no_notice_when_nothing_was_dropped(backend_name):
    result = run_dial(
        ["ask", "--backend", backend_name, "-m", "priced", "--max-prompt-tokens", "100", "hi"]
    )
    assert (result.code, result.stderr) == (0, "")


@pytest.mark.parametrize("value", ["0", "-3", '"many"', "true"])
def test_a_bad_max_prompt_tokens_in_config_is_exit_2(tmp_path, monkeypatch, value):
    config = tmp_path / "bad.toml"
    config.write_text(f"max_prompt_tokens = {value}\n")
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    result = run_dial(["ask", "-m", "priced", "hi"])
    assert result.code == 2
    assert result.stderr.startswith("dial: invalid max_prompt_tokens")


def test_chat_usage_flag_and_usage_command(backend_name):
    script = "one two\nthree four five\n/usage\n"
    result = run_dial(["chat", "--backend", backend_name, "-m", "priced", "-u"], script)
    assert result.code == 0, result.stderr
    usage_lines = [line for line in result.stderr.splitlines() if " in · " in line]
    # chat's default system prompt is 5 words: the first prompt is 5 + 2 = 7 tokens,
    # 7 x $0.0000025 + 2 x $0.00001 = $0.0000375; the second 5 + 2 + 2 + 3 = 12 tokens,
    # 12 x $0.0000025 + 3 x $0.00001 = $0.00006.
    assert [line.rsplit(" · ", 1)[0] for line in usage_lines] == [
        "7 in · 2 out · $0.000038",
        "12 in · 3 out · $0.000060",
    ]
    # /usage: the last answer, then the total: 19 x $0.0000025 + 5 x $0.00001 = $0.0000975
    assert "last answer:  12 in · 3 out · $0.000060 · " in result.stdout
    assert result.stdout.endswith("conversation: 2 answers · 19 in · 5 out · $0.000098\n")
