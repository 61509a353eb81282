"""`dial history show` per-turn usage and `dial history stats`, from saved answers.

Local commands: the conversations are written with the store, the prices put in the
model cache as `dial models` would have left them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from cli_harness import run_dial

from dialcli import model_cache
from dialcli.conversation import Conversation, Message, Role
from dialcli.store import Store

PRICES = {
    "priced": {"unit": "token", "prompt": "0.0000025", "completion": "0.00001"},
    "chars": {"unit": "char_without_whitespace", "prompt": "0.0000005", "completion": "0.0000015"},
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = Path(os.environ["DIAL_HOME"])
    # A fresh cache for the default URL: no request is made for prices.
    model_cache.save(home, "http://localhost:8080", list(PRICES), pricing=PRICES)
    return home


def _answer(text: str, model: str, usage: dict | None, at: str, total_ms: int = 2300) -> Message:
    return Message(
        Role.ASSISTANT,
        text,
        usage=usage,
        model=model,
        created=at,
        latency_ms={"first_byte": 120, "total": total_ms},
    )


def _save(home: Path, model: str, turns: list[tuple[str, Message]], updated: str) -> Conversation:
    conv = Conversation(model=model, created=updated, updated=updated)
    for question, answer in turns:
        conv.add(Role.USER, question)
        conv.messages.append(answer)
    Store(home).create(conv)
    return conv


def test_show_prints_each_answers_usage_cost_and_time_and_the_total(home):
    usage = {"prompt_tokens": 1204, "completion_tokens": 356, "total_tokens": 1560}
    _save(
        home,
        "priced",
        [
            ("q1", _answer("a1", "priced", usage, "2026-11-20T10:00:00.000Z")),
            ("q2", _answer("a2", "priced", usage, "2026-11-20T10:01:00.000Z", 900)),
        ],
        "2026-11-20T10:01:00.000Z",
    )
    result = run_dial(["history", "show", "last"])
    assert result.code == 0, result.stderr
    # 1,204 x $0.0000025 + 356 x $0.00001 = $0.00657 per answer; $0.01314 for both.
    assert "Assistant: a1\n  [1,204 in · 356 out · $0.0066 · 2.3 s]" in result.stdout
    assert "Assistant: a2\n  [1,204 in · 356 out · $0.0066 · 0.9 s]" in result.stdout
    assert result.stdout.endswith("Total: 2 answers · 2,408 in · 712 out · $0.013\n")


def test_show_has_no_cost_for_an_unpriced_model_and_says_when_usage_is_missing(home):
    _save(
        home,
        "echo",
        [("q1", _answer("a1", "echo", None, "2026-11-20T10:00:00.000Z"))],
        "2026-11-20T10:00:00.000Z",
    )
    result = run_dial(["history", "show", "last"])
    assert result.code == 0, result.stderr
    assert "[usage not reported · 2.3 s]" in result.stdout
    assert "$" not in result.stdout
    assert result.stdout.endswith("Total: 1 answer · 0 in · 0 out · 1 without usage\n")


def test_stats_by_model_sums_tokens_and_costs_and_marks_character_prices(home):
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
    _save(
        home,
        "priced",
        [("q", _answer("a", "priced", usage, "2026-11-20T10:00:00.000Z"))],
        "2026-11-20T10:00:00.000Z",
    )
    # Character price: prompt "How are you?" = 10 chars, answer = 24 chars
    # -> 10 x $0.0000005 + 24 x $0.0000015 = $0.000041, approximate.
    _save(
        home,
        "chars",
        [
            (
                "How are you?",
                _answer("A file is a named collection.", "chars", None, "2026-11-21T09:00:00.000Z"),
            )
        ],
        "2026-11-21T09:00:00.000Z",
    )
    result = run_dial(["history", "stats", "--json"])
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    rows = {row["model"]: row for row in doc["rows"]}
    # 1,000 x $0.0000025 + 100 x $0.00001 = $0.0035
    assert rows["priced"]["cost_usd"] == pytest.approx(0.0035)
    assert rows["priced"]["cost_approximate"] is False
    assert rows["chars"]["cost_usd"] == pytest.approx(0.000041)
    assert rows["chars"]["cost_approximate"] is True
    assert doc["total"]["answers"] == 2
    assert doc["total"]["prompt_tokens"] == 1000
    assert doc["total"]["answers_without_usage"] == 1
    assert doc["total"]["cost_usd"] == pytest.approx(0.003541)
    assert doc["total"]["cost_approximate"] is True

    table = run_dial(["history", "stats"]).stdout.splitlines()
    assert table[0].split() == ["MODEL", "ANSWERS", "IN", "OUT", "COST"]
    assert table[-1].split() == ["TOTAL", "2", "1,000", "100", "~$0.0035"]


def test_stats_by_day_and_since_keep_only_recent_answers(home):
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    _save(
        home,
        "priced",
        [
            ("old", _answer("a", "priced", usage, "2020-01-01T10:00:00.000Z")),
            ("new", _answer("b", "priced", usage, "2099-01-02T10:00:00.000Z")),
        ],
        "2099-01-02T10:00:00.000Z",
    )
    result = run_dial(["history", "stats", "--by", "day", "--json"])
    assert [r["day"] for r in json.loads(result.stdout)["rows"]] == ["2020-01-01", "2099-01-02"]
    recent = json.loads(run_dial(["history", "stats", "--since", "7d", "--json"]).stdout)
    assert recent["total"]["answers"] == 1
    dated = json.loads(run_dial(["history", "stats", "--since", "2099-01-01", "--json"]).stdout)
    assert dated["total"]["prompt_tokens"] == 10


@pytest.mark.parametrize("args", [["--since", "soon"], ["--by", "week"]])
def test_stats_rejects_bad_options_with_exit_2(home, args):
    result = run_dial(["history", "stats", *args])
    assert result.code == 2
    assert result.stderr.startswith("dial: ") and result.stderr.count("\n") == 1


def test_stats_with_no_answers_says_so_on_stderr(home):
    result = run_dial(["history", "stats"])
    assert result.code == 0
    assert result.stdout == ""
    assert result.stderr == "dial: no saved answers\n"


def test_history_is_repriced_when_prices_change(home):
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
    _save(
        home,
        "priced",
        [("q", _answer("a", "priced", usage, "2026-11-20T10:00:00.000Z"))],
        "2026-11-20T10:00:00.000Z",
    )
    first = json.loads(run_dial(["history", "stats", "--json"]).stdout)
    doubled = {"unit": "token", "prompt": "0.000005", "completion": "0.00002"}
    model_cache.save(home, "http://localhost:8080", ["priced"], pricing={"priced": doubled})
    second = json.loads(run_dial(["history", "stats", "--json"]).stdout)
    # $0.0035 at the old prices, $0.007 at the new: cost is computed, never stored.
    assert first["total"]["cost_usd"] == pytest.approx(0.0035)
    assert second["total"]["cost_usd"] == pytest.approx(0.007)


def test_stale_prices_are_refreshed_from_the_listing(dial_environ, emulator):
    home = Path(os.environ["DIAL_HOME"])
    wrong = {"priced": {"unit": "token", "prompt": "1", "completion": "1"}}
    model_cache.save(home, emulator.url, ["priced"], checked=0.0, pricing=wrong)
    usage = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}
    _save(
        home,
        "priced",
        [("q", _answer("a", "priced", usage, "2026-11-20T10:00:00.000Z"))],
        "2026-11-20T10:00:00.000Z",
    )
    doc = json.loads(run_dial(["history", "stats", "--json"]).stdout)
    assert doc["total"]["cost_usd"] == pytest.approx(0.0035)  # the emulator's prices
    cached = model_cache.load(home, emulator.url)
    assert cached is not None and cached.fresh(time.time())
    assert cached.pricing["priced"]["prompt"] == "0.0000025"
