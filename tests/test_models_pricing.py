"""Prices and token limits in `dial models --long`, on both backends."""

from __future__ import annotations

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


def test_long_listing_shows_token_limits_and_prices_per_million(backend_name):
    result = run_dial(["models", "--long", "--backend", backend_name])
    assert result.code == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "CONTEXT", "MAX", "PROMPT", "MAX", "ANSWER", "PRICE"]
    by_id = {row.split()[0]: row for row in rows}
    # $0.0000025 and $0.00001 per token are $2.50 and $10 per million.
    assert by_id["priced"].split(None, 4)[1:] == [
        "8,192",
        "4,096",
        "4,096",
        "$2.50 in / $10.00 out per 1M tokens",
    ]
    assert by_id["priced-chars"].endswith("$0.50 in / $1.50 out per 1M characters (no whitespace)")
    assert by_id["echo"].split()[-1] == "-"  # no pricing, no price: never a guess


def test_models_show_prints_the_price_per_million_and_token_limits(backend_name):
    result = run_dial(["models", "show", "priced", "--backend", backend_name])
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "price:                  $2.50 in / $10.00 out per 1M tokens" in lines
    assert any(line.split() == ["max_total_tokens:", "8192"] for line in lines)
    echo = run_dial(["models", "show", "echo", "--backend", backend_name]).stdout
    assert "price" not in echo
