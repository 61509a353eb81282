"""usage.py: cost arithmetic checked against hand-computed values, and its wording."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dialcli.usage import (
    Cost,
    Pricing,
    Tokens,
    answer_cost,
    chars_without_whitespace,
    configured_windows,
    dropped_notice,
    dropped_turns,
    price_text,
    ranges,
    total_cost,
    usage_line,
    usd,
)

TOKEN_PRICING = {"unit": "token", "prompt": "0.0000025", "completion": "0.00001"}
CHAR_PRICING = {"unit": "char_without_whitespace", "prompt": "0.0000005", "completion": "0.0000015"}


def test_token_cost_is_prompt_times_price_plus_completion_times_price():
    # 1,204 x $0.0000025 = $0.00301; 356 x $0.00001 = $0.00356; sum $0.00657.
    cost = answer_cost(Pricing.of(TOKEN_PRICING), {"prompt_tokens": 1204, "completion_tokens": 356})
    assert cost == Cost(Decimal("0.00657"), approximate=False)
    assert usd(cost) == "$0.0066"


def test_core_model_cost_calculator_example_gives_the_same_six_dollars():
    # epam/ai-dial-core ModelCostCalculatorTest: prompt 0.1, completion 0.5, 10 + 10 -> 6.0
    pricing = Pricing.of({"unit": "token", "prompt": "0.1", "completion": "0.5"})
    cost = answer_cost(pricing, {"prompt_tokens": 10, "completion_tokens": 10})
    assert cost is not None and cost.usd == Decimal("6.0")


def test_character_cost_counts_characters_without_whitespace_and_is_approximate():
    # Core's own examples: "How are you?" is 10, "A file is a named collection." is 24.
    assert chars_without_whitespace("How are you?") == 10
    assert chars_without_whitespace("A file is a named collection.") == 24
    # 10 x $0.0000005 = $0.000005; 24 x $0.0000015 = $0.000036; sum $0.000041.
    cost = answer_cost(
        Pricing.of(CHAR_PRICING),
        None,  # usage is not needed for character prices
        prompt_text="How are you?",
        answer_text="A file is a named collection.",
    )
    assert cost == Cost(Decimal("0.000041"), approximate=True)
    assert usd(cost) == "~$0.000041"


@pytest.mark.parametrize(
    "pricing",
    [
        None,
        {},
        {"unit": "none", "prompt": "0.1", "completion": "0.1"},
        {"unit": "request", "prompt": "0.1", "completion": "0.1"},
        {"unit": "token", "prompt": "free", "completion": "0.1"},
        {"unit": "token", "prompt": "0.1"},
        {"unit": "token", "prompt": "-1", "completion": "0.1"},
        {"unit": "token", "prompt": "NaN", "completion": "0.1"},
        "0.1",
    ],
)
def test_no_usable_price_means_no_cost_never_a_guess(pricing):
    usage = {"prompt_tokens": 10, "completion_tokens": 10}
    assert answer_cost(Pricing.of(pricing), usage, prompt_text="x", answer_text="y") is None


def test_a_missing_unit_means_tokens_as_dial_chat_reads_it():
    pricing = Pricing.of({"prompt": "0.001", "completion": "0.002"})
    assert pricing is not None and pricing.unit == "token"


@pytest.mark.parametrize(
    "usage",
    [None, {}, {"prompt_tokens": 3}, {"prompt_tokens": "3", "completion_tokens": 4}, "x"],
)
def test_token_price_without_usage_gives_no_cost(usage):
    assert answer_cost(Pricing.of(TOKEN_PRICING), usage) is None


def test_total_of_known_costs_is_exact_and_a_missing_one_makes_it_approximate():
    a, b = Cost(Decimal("0.001")), Cost(Decimal("0.002"))
    assert total_cost([a, b]) == Cost(Decimal("0.003"), approximate=False)
    assert total_cost([a, None, b]) == Cost(Decimal("0.003"), approximate=True)
    assert total_cost([None, None]) is None
    assert total_cost([]) is None
    assert total_cost([a, Cost(Decimal("0.5"), approximate=True)]).approximate


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("0", "$0"),
        ("0.0041", "$0.0041"),
        ("0.00657", "$0.0066"),
        ("0.0000031", "$0.0000031"),
        ("0.000075", "$0.000075"),
        ("0.0002175", "$0.00022"),
        ("0.5", "$0.50"),
        ("0.123", "$0.12"),
        ("1.5", "$1.50"),
        ("1234.567", "$1,234.57"),
    ],
)
def test_dollars_are_shown_without_ever_rounding_a_cost_to_zero(value, shown):
    assert usd(Cost(Decimal(value))) == shown


def test_usage_line_reads_like_the_issue_example():
    usage = {"prompt_tokens": 1204, "completion_tokens": 356, "total_tokens": 1560}
    line = usage_line(usage, Cost(Decimal("0.0041")), 2300)
    assert line == "1,204 in · 356 out · $0.0041 · 2.3 s"
    assert usage_line(None, None, 900) == "usage not reported · 0.9 s"
    assert usage_line(usage, None) == "1,204 in · 356 out"


def test_tokens_add_up():
    total = Tokens(1, 2) + Tokens(10, 20)
    assert (total.prompt, total.completion, total.total) == (11, 22, 33)


def test_discarded_message_indexes_become_turn_numbers():
    messages = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2"},
        {"role": "user", "content": "q3"},
        {"role": "assistant", "content": "a3"},
        {"role": "user", "content": "q4"},
    ]
    assert dropped_turns([1, 2, 3, 4, 5, 6], messages) == [1, 2, 3]
    assert dropped_turns([0, 99, "x"], messages) == []
    assert dropped_notice([1, 2, 3], 8000) == "dropped turns 1-3 to fit 8,000 tokens"
    assert dropped_notice([2], 50) == "dropped turn 2 to fit 50 tokens"
    assert ranges([5, 1, 2, 3, 7, 8]) == "1-3, 5, 7-8"


def test_only_windows_with_a_real_limit_are_configured():
    limits = {
        "minuteTokenStats": {"total": 10000, "used": 1204},
        "dayTokenStats": {"total": 9223372036854775807, "used": 5},  # Core's "unlimited"
        "hourRequestStats": {"total": 0, "used": 0},
        "dayCostStats": {"total": 100.0, "used": 12.5, "resetsAt": "2026-11-27T00:00:00Z"},
        "weekTokenStats": "nonsense",
    }
    windows = configured_windows(limits)
    assert [w.key for w in windows] == ["minuteTokenStats", "dayCostStats"]
    assert windows[0].percent == pytest.approx(12.04)
    assert windows[1].amount(windows[1].used) == "$12.50"
    assert windows[1].to_json() == {
        "window": "dayCostStats",
        "used": 12.5,
        "total": 100,
        "percent": 12.5,
        "resets_at": "2026-11-27T00:00:00Z",
    }
    assert configured_windows({}) == [] and configured_windows(None) == []


def test_prices_are_quoted_per_million_units():
    assert price_text(Pricing.of(TOKEN_PRICING)) == "$2.50 in / $10.00 out per 1M tokens"
    assert (
        price_text(Pricing.of(CHAR_PRICING))
        == "$0.50 in / $1.50 out per 1M characters (no whitespace)"
    )
