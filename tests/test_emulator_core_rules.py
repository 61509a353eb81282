"""The emulator is as strict as DIAL Core where a client could get it wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import RunningEmulator


def chat_url(deployment: str) -> str:
    return f"/openai/deployments/{deployment}/chat/completions"


@pytest.fixture(scope="module")
def key_client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emulator.url, headers={"Api-Key": emulator.api_key or ""}, timeout=10
    ) as http:
        yield http


@pytest.fixture(scope="module")
def token_client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=10) as http:
        yield http


def ask(client: httpx.Client, deployment: str, messages: list[dict[str, Any]]) -> httpx.Response:
    return client.post(chat_url(deployment), json={"messages": messages})


def user(text: str, attachments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "user", "content": text}
    if attachments:
        message["custom_content"] = {"attachments": attachments}
    return message


# -- credentials ------------------------------------------------------------------------------


def test_a_bearer_token_is_accepted(token_client: httpx.Client) -> None:
    resp = ask(token_client, "echo", [user("by token")])
    assert resp.json()["choices"][0]["message"]["content"] == "by token"


def test_both_headers_are_a_plain_text_400(emulator: RunningEmulator) -> None:
    headers = {"Api-Key": emulator.api_key or "", "Authorization": f"Bearer {emulator.token}"}
    resp = httpx.get(emulator.url + "/openai/models", headers=headers)
    assert (resp.status_code, resp.text) == (400, "Provided API key is not per request key")


@pytest.mark.parametrize("value", ["Bearer wrong-token-123", "Basic abc", "Bearer"])
def test_a_bad_authorization_header_is_401(emulator: RunningEmulator, value: str) -> None:
    resp = httpx.get(emulator.url + "/openai/models", headers={"Authorization": value})
    assert resp.status_code == 401
    assert "wrong-token" not in resp.text


def test_each_identity_has_its_own_bucket(
    key_client: httpx.Client, token_client: httpx.Client
) -> None:
    key_bucket = key_client.get("/v1/bucket").json()["bucket"]
    token_bucket = token_client.get("/v1/bucket").json()["bucket"]
    assert key_bucket != token_bucket
    files = {"file": ("mine.txt", b"secret", "text/plain")}
    assert key_client.put(f"/v1/files/{key_bucket}/a/mine.txt", files=files).status_code == 200
    assert token_client.get(f"/v1/files/{key_bucket}/a/mine.txt").status_code == 403
    assert key_client.get(f"/v1/files/{key_bucket}/a/mine.txt").content == b"secret"


# -- deployments ------------------------------------------------------------------------------


def test_configuration_without_an_endpoint_is_an_empty_200(key_client: httpx.Client) -> None:
    resp = key_client.get("/v1/deployments/echo/configuration")
    assert (resp.status_code, resp.content) == (200, b"")
    assert key_client.get("/v1/deployments/configurable/configuration").json()["type"] == "object"
    assert key_client.get("/v1/deployments/nope/configuration").status_code == 404


def test_one_model_has_a_localized_display_name(key_client: httpx.Client) -> None:
    names = {m["id"]: m["display_name"] for m in key_client.get("/openai/models").json()["data"]}
    assert names["long"]["en"] == "Long answers" and "uk" in names["long"]
    assert names["echo"] == "Echo"


@pytest.mark.parametrize(
    ("deployment", "reason", "content"),
    [("content-filter", "content_filter", "a b c"), ("length", "length", "a b c")],
)
def test_answers_that_stop_for_a_reason(
    key_client: httpx.Client, deployment: str, reason: str, content: str
) -> None:
    choice = ask(key_client, deployment, [user("a b c d e")]).json()["choices"][0]
    assert (choice["finish_reason"], choice["message"]["content"]) == (reason, content)
    if deployment == "content-filter":
        assert choice["message"]["refusal"] == "Filtered."


# -- what the request carries -----------------------------------------------------------------


def test_stages_sent_back_are_refused(key_client: httpx.Client) -> None:
    answer = {
        "role": "assistant",
        "content": "turn 1",
        "custom_content": {"state": {"turns": 1}, "stages": [{"index": 0, "name": "Counting"}]},
    }
    resp = ask(key_client, "counter", [user("a"), answer, user("b")])
    assert resp.status_code == 400
    assert "stages are read-only" in resp.json()["error"]["message"]
    answer["custom_content"] = {"state": {"turns": 1}}
    assert ask(key_client, "counter", [user("a"), answer, user("b")]).status_code == 200


@pytest.mark.parametrize("name", ["My Report #1.txt", "a b.txt", "what?.txt", "100%.txt"])
def test_an_attachment_url_that_is_not_percent_encoded_is_an_empty_400(
    key_client: httpx.Client, name: str
) -> None:
    bucket = key_client.get("/v1/bucket").json()["bucket"]
    attachment = {"type": "text/plain", "title": name, "url": f"files/{bucket}/{name}"}
    resp = ask(key_client, "echo", [user("x", [attachment])])
    assert (resp.status_code, resp.content) == (400, b"")


def test_an_encoded_attachment_url_passes(key_client: httpx.Client) -> None:
    bucket = key_client.get("/v1/bucket").json()["bucket"]
    files = {"file": ("My Report #1.txt", b"hello", "text/plain")}
    meta = key_client.put(f"/v1/files/{bucket}/My%20Report%20%231.txt", files=files).json()
    assert meta["url"] == f"files/{bucket}/My%20Report%20%231.txt"
    attachment = {"type": "text/plain", "title": "My Report #1.txt", "url": meta["url"]}
    resp = ask(key_client, "attachments-echo", [user("x", [attachment])])
    assert "5 bytes in storage" in resp.json()["choices"][0]["message"]["content"]


def test_an_attachment_in_another_bucket_is_403(
    key_client: httpx.Client, token_client: httpx.Client
) -> None:
    other = token_client.get("/v1/bucket").json()["bucket"]
    url = f"files/{other}/x.txt"
    resp = ask(key_client, "echo", [user("x", [{"type": "text/plain", "url": url}])])
    assert (resp.status_code, resp.text) == (403, f"Access denied to the file {url}")
