"""The emulator's priced deployments, limits, tokenize and truncate_prompt, over plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import RunningEmulator


@pytest.fixture(scope="module")
def client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Api-Key": emulator.api_key or ""}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=10) as http:
        yield http


def messages(*texts: str, system: str | None = None) -> list[dict[str, Any]]:
    out = [{"role": "system", "content": system}] if system else []
    for i, text in enumerate(texts):
        out.append({"role": "user" if i % 2 == 0 else "assistant", "content": text})
    return out


def test_listing_carries_pricing_only_where_set(client):
    models = {m["id"]: m for m in client.get("/openai/models").json()["data"]}
    assert models["priced"]["pricing"] == {
        "unit": "token",
        "prompt": "0.0000025",
        "completion": "0.00001",
    }
    assert models["priced-chars"]["pricing"]["unit"] == "char_without_whitespace"
    assert "pricing" not in models["echo"]
    assert models["priced"]["features"]["tokenize"] is True
    assert models["echo"]["features"]["tokenize"] is False


def test_max_prompt_tokens_drops_oldest_messages_and_reports_them(client):
    body = {
        "messages": messages("one two three", "one two three", "four five", system="be brief"),
        "max_prompt_tokens": 6,
    }
    reply = client.post("/openai/deployments/priced/chat/completions", json=body).json()
    # system (2) + "four five" (2) = 4 fit; the first exchange (3 + 3) does not.
    assert reply["statistics"]["discarded_messages"] == [1, 2]
    assert reply["usage"]["prompt_tokens"] == 4
    assert reply["model"] == "priced-2025-01"
    assert reply["choices"][0]["message"]["content"] == "four five"


def test_no_statistics_without_max_prompt_tokens(client):
    reply = client.post(
        "/openai/deployments/priced/chat/completions", json={"messages": messages("hi")}
    ).json()
    assert "statistics" not in reply


def test_what_must_stay_over_the_limit_is_sdks_truncate_prompt_error(client):
    body = {"messages": messages("one two three"), "max_prompt_tokens": 1}
    response = client.post("/openai/deployments/priced/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "truncate_prompt_error"
    assert error["param"] == "max_prompt_tokens"


def test_tokenize_counts_strings_and_requests(client):
    body = {
        "inputs": [
            {"type": "string", "value": "a b c"},
            {"type": "request", "value": {"messages": messages("x y", "z")}},
        ]
    }
    reply = client.post("/v1/deployments/priced/tokenize", json=body).json()
    assert reply == {
        "outputs": [
            {"status": "success", "token_count": 3},
            {"status": "success", "token_count": 3},
        ]
    }


def test_truncate_prompt_names_the_messages_it_would_drop(client):
    request = {"messages": messages("x y", "x y", "z"), "max_prompt_tokens": 3}
    reply = client.post("/v1/deployments/priced/truncate_prompt", json={"inputs": [request]})
    assert reply.json() == {"outputs": [{"status": "success", "discarded_messages": [0]}]}


@pytest.mark.parametrize("endpoint", ["tokenize", "truncate_prompt"])
def test_a_deployment_without_the_feature_is_forbidden_like_core(client, endpoint):
    response = client.post(f"/v1/deployments/echo/{endpoint}", json={"inputs": []})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Forbidden deployment"
    unknown = client.post(f"/v1/deployments/nope/{endpoint}", json={"inputs": []})
    assert unknown.status_code == 404


def test_limits_report_every_window_with_core_sentinel_where_unconfigured(client):
    limits = client.get("/v1/deployments/echo/limits").json()
    assert len(limits) == 10
    assert all(w["total"] == 9223372036854775807 for w in limits.values())
    priced = client.get("/v1/deployments/priced/limits").json()
    assert priced["minuteTokenStats"]["total"] == 10_000
    assert priced["dayCostStats"]["total"] == 5
    assert client.get("/v1/deployments/nope/limits").status_code == 404


def test_limits_count_tokens_requests_and_cost_of_answers(client):
    before = client.get("/v1/deployments/priced/limits").json()
    client.post(
        "/openai/deployments/priced/chat/completions", json={"messages": messages("a b c d")}
    )
    after = client.get("/v1/deployments/priced/limits").json()
    assert after["minuteTokenStats"]["used"] - before["minuteTokenStats"]["used"] == 8
    assert after["hourRequestStats"]["used"] - before["hourRequestStats"]["used"] == 1
    # 4 x $0.0000025 + 4 x $0.00001 = $0.00005
    spent = after["dayCostStats"]["used"] - before["dayCostStats"]["used"]
    assert spent == pytest.approx(0.00005)
