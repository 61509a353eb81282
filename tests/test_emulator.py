"""The emulator looks like DIAL Core to a plain HTTP client."""

from __future__ import annotations

import base64
import json
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helpers import RunningEmulator, start_emulator

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Api-Key": emulator.api_key or ""}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=10) as http:
        yield http


def chat_url(deployment: str) -> str:
    return f"/openai/deployments/{deployment}/chat/completions?api-version=2024-02-01"


def user(text: str, **extra: Any) -> dict[str, Any]:
    return {"role": "user", "content": text, **extra}


def stream_events(client: httpx.Client, deployment: str, body: dict[str, Any]) -> list[Any]:
    """POST with stream=true; every ``data:`` payload, JSON-decoded except [DONE]."""
    events: list[Any] = []
    with client.stream("POST", chat_url(deployment), json={**body, "stream": True}) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        for line in resp.iter_lines():
            if line.startswith("data: "):
                payload = line[len("data: ") :]
                events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


def streamed_text(events: list[Any]) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or ""
        for e in events
        if isinstance(e, dict) and e.get("choices")
    )


def complete(client: httpx.Client, deployment: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = client.post(chat_url(deployment), json={**body, "stream": False})
    assert resp.status_code == 200, resp.text
    return resp.json()


# -- echo and friends -----------------------------------------------------------


TRICKY = "héllo  世界 🎉\tשלום e\u0301 \n end  "


def test_echo_streams_tokens_that_rebuild_the_exact_text(client: httpx.Client) -> None:
    events = stream_events(client, "echo", {"messages": [user(TRICKY)]})
    assert events[-1] == "[DONE]"
    assert events[0]["choices"][0]["delta"] == {"role": "assistant"}
    assert streamed_text(events) == TRICKY
    assert len([e for e in events if isinstance(e, dict)]) > 4  # really token by token
    final = events[-2]
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["usage"]["completion_tokens"] > 0
    assert final["usage"]["total_tokens"] == (
        final["usage"]["prompt_tokens"] + final["usage"]["completion_tokens"]
    )


def test_echo_without_streaming_returns_one_message(client: httpx.Client) -> None:
    body = complete(client, "echo", {"messages": [user("first"), user(TRICKY)]})
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": TRICKY}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"]["prompt_tokens"] >= 2


def test_echo_of_empty_message_is_a_valid_empty_stream(client: httpx.Client) -> None:
    events = stream_events(client, "echo", {"messages": [user("")]})
    assert streamed_text(events) == ""
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert events[-1] == "[DONE]"


def test_slow_pauses_between_tokens(client: httpx.Client) -> None:
    events = stream_events(client, "slow", {"messages": [user("a b c")]})
    assert streamed_text(events) == "a b c"


def test_long_answers_n_words_when_asked(client: httpx.Client) -> None:
    body = complete(client, "long", {"messages": [user("1500")]})
    words = body["choices"][0]["message"]["content"].split(" ")
    assert words[0] == "word1" and words[-1] == "word1500" and len(words) == 1500
    assert body["usage"]["completion_tokens"] == 1500


def test_inspect_reports_what_reached_the_server(client: httpx.Client) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        user("hi"),
        {"role": "assistant", "content": "hello", "custom_content": {"state": {"n": 1}}},
        user("again"),
    ]
    custom_fields = {"configuration": {"a": 1}}
    for stream in (False, True):
        body = {"messages": messages, "temperature": 0.25, "max_tokens": 7}
        body["custom_fields"] = custom_fields
        if stream:
            text = streamed_text(stream_events(client, "inspect", body))
        else:
            text = complete(client, "inspect", body)["choices"][0]["message"]["content"]
        report = json.loads(text)
        assert report == {
            "messages": messages,
            "temperature": 0.25,
            "max_tokens": 7,
            "custom_fields": custom_fields,
            "headers": {"api-version": "2024-02-01", "x-conversation-id": None},
            "stream": stream,
        }
        assert "test-key" not in text


# -- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "status", "message"),
    [
        ("fail-400", 400, "Bad request (emulator)"),
        ("fail-403", 403, "Access to this deployment is denied (emulator)"),
        ("fail-429", 429, "Rate limit exceeded (emulator)"),
        ("fail-500", 500, "Internal server error (emulator)"),
        ("fail-503", 503, "Service unavailable (emulator)"),
    ],
)
@pytest.mark.parametrize("stream", [True, False])
def test_fail_deployments_answer_the_status_before_streaming(
    client: httpx.Client, deployment: str, status: int, message: str, stream: bool
) -> None:
    resp = client.post(chat_url(deployment), json={"messages": [user("x")], "stream": stream})
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/json"
    error = resp.json()["error"]
    assert error["message"] == message
    assert error["code"] == str(status)


def test_429_carries_retry_after_headers(client: httpx.Client) -> None:
    resp = client.post(chat_url("fail-429"), json={"messages": [user("x")], "stream": True})
    assert resp.headers["retry-after"] == "1"
    assert resp.headers["retry-after-ms"] == "1000"


def test_midstream_failure_is_an_error_event_on_a_200(client: httpx.Client) -> None:
    events = stream_events(client, "midstream", {"messages": [user("one two three four five")]})
    assert streamed_text(events) == "one two three"
    assert events[-2] == {
        "error": {
            "message": "Upstream failed mid-stream (emulator)",
            "type": "runtime_error",
            "code": "503",
        }
    }
    assert events[-1] == "[DONE]"


def test_midstream_without_streaming_is_a_503(client: httpx.Client) -> None:
    resp = client.post(chat_url("midstream"), json={"messages": [user("x")]})
    assert resp.status_code == 503


def test_flaky_fails_k_times_per_prompt_then_echoes(client: httpx.Client) -> None:
    prompt = "fail 2: hello flaky test"
    statuses = [
        client.post(chat_url("flaky"), json={"messages": [user(prompt)]}).status_code
        for _ in range(2)
    ]
    assert statuses == [503, 503]
    body = complete(client, "flaky", {"messages": [user(prompt)]})
    assert body["choices"][0]["message"]["content"] == "hello flaky test"


def test_flaky_429_has_zero_retry_after(client: httpx.Client) -> None:
    resp = client.post(chat_url("flaky"), json={"messages": [user("429 flaky zero")]})
    assert resp.status_code == 429
    assert resp.headers["retry-after"] == "0"
    body = complete(client, "flaky", {"messages": [user("429 flaky zero")]})
    assert body["choices"][0]["message"]["content"] == "429 flaky zero"


# -- auth and unknown routes ----------------------------------------------------


@pytest.mark.parametrize("headers", [{"Api-Key": "wrong-key"}, {}])
def test_wrong_or_missing_key_is_401_without_echoing_it(
    emulator: RunningEmulator, headers: dict[str, str]
) -> None:
    resp = httpx.post(emulator.url + chat_url("echo"), json={"messages": []}, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("text/plain")  # as DIAL Core's Proxy does
    missing = "At least API-KEY or Authorization header must be provided"
    assert resp.text in ("Unknown api key", missing)
    assert "wrong-key" not in resp.text


def test_key_header_name_is_case_insensitive(emulator: RunningEmulator) -> None:
    resp = httpx.get(emulator.url + "/openai/models", headers={"API-KEY": emulator.api_key or ""})
    assert resp.status_code == 200


def test_unknown_deployment_is_404_as_dial_core_writes_it(client: httpx.Client) -> None:
    resp = client.post(chat_url("nope"), json={"messages": [user("x")], "stream": True})
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text == "Deployment is not found"
    resp = client.post(chat_url("a/b/c"), json={"messages": [user("x")]})
    assert (resp.status_code, resp.text) == (404, "Deployment is not found")
    for path in ("/openai/models/nope", "/openai/deployments/nope"):
        resp = client.get(path)
        assert (resp.status_code, resp.content) == (404, b""), "Core: 404, empty body"


# -- listings -------------------------------------------------------------------


def test_models_listing_has_dial_shapes(client: httpx.Client) -> None:
    body = client.get("/openai/models").json()
    assert body["object"] == "list"
    by_id = {m["id"]: m for m in body["data"]}
    assert {"echo", "slow", "long", "inspect", "midstream", "flaky", "fail-429"} <= set(by_id)
    echo = by_id["echo"]
    assert echo["object"] == "model" and echo["model"] == "echo"
    assert echo["status"] == "succeeded"
    assert echo["lifecycle_status"] == "generally-available"
    assert echo["capabilities"]["chat_completion"] is True
    assert echo["features"]["streaming"] is True
    assert client.get("/openai/models/echo").json() == echo


def test_deployments_and_applications_listings(client: httpx.Client) -> None:
    deployments = client.get("/openai/deployments").json()["data"]
    assert {d["object"] for d in deployments} == {"deployment"}
    assert client.get("/openai/deployments/echo").json()["id"] == "echo"
    apps = {a["id"]: a for a in client.get("/openai/applications").json()["data"]}
    assert set(apps) == {
        "counter",
        "stages",
        "attachments",
        "attachments-echo",
        "configurable",
        "my-app",  # an alias of configurable, the name docs/usage.md uses
    }
    assert apps["counter"]["object"] == "application"
    assert apps["attachments-echo"]["input_attachment_types"] == ["*/*"]
    assert apps["configurable"]["features"]["configuration"] is True


def test_the_names_the_docs_use_are_listed_as_aliases_and_answer(client: httpx.Client) -> None:
    from dialcli.emulator.app import DOC_ALIASES

    listed = [
        client.get(path).json()["data"] for path in ("/openai/models", "/openai/applications")
    ]
    models = {m["id"]: m for m in listed[0] + listed[1]}
    for alias, target in DOC_ALIASES.items():
        assert models[alias]["description"].startswith(f"Alias of {target}, a name the docs use.")
    events = stream_events(client, "gpt-4o", {"messages": [user("as echo does")]})
    assert streamed_text(events) == "as echo does"


def test_every_listed_deployment_has_a_description(client: httpx.Client) -> None:
    for path in ("/openai/models", "/openai/applications"):
        for entry in client.get(path).json()["data"]:
            assert isinstance(entry["description"], str) and len(entry["description"]) > 10


# -- applications ---------------------------------------------------------------


def test_counter_keeps_its_turns_in_state(client: httpx.Client) -> None:
    first = complete(client, "counter", {"messages": [user("hi")]})["choices"][0]["message"]
    assert first["content"] == "turn 1"
    assert first["custom_content"]["state"] == {"turns": 1}
    assert first["custom_content"]["stages"][0]["name"] == "Counting"
    sent_back = {**first, "custom_content": {"state": first["custom_content"]["state"]}}
    history = [user("hi"), sent_back, user("again")]
    events = stream_events(client, "counter", {"messages": history})
    assert streamed_text(events) == "turn 2"
    states = [
        e["choices"][0]["delta"]["custom_content"]["state"]
        for e in events
        if isinstance(e, dict) and "state" in e["choices"][0]["delta"].get("custom_content", {})
    ]
    assert states == [{"turns": 2}]


def test_counter_rejects_a_history_without_state(client: httpx.Client) -> None:
    history = [user("hi"), {"role": "assistant", "content": "turn 1"}, user("again")]
    resp = client.post(chat_url("counter"), json={"messages": history, "stream": True})
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == (
        "state was not sent back: the client dropped custom_content.state"
    )


def stages_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    return message["custom_content"]["stages"]


def test_stages_stream_then_echo(client: httpx.Client) -> None:
    message = complete(client, "stages", {"messages": [user("find it")]})["choices"][0]["message"]
    assert message["content"] == "find it"
    stages = stages_of(message)
    assert [(s["name"], s["status"]) for s in stages] == [
        ("Searching", "completed"),
        ("Answering", "completed"),
    ]
    assert stages[0]["content"] == "Looking up: find it"
    events = stream_events(client, "stages", {"messages": [user("fail-stage please")]})
    assert streamed_text(events) == "fail-stage please"
    statuses = [
        stage["status"]
        for e in events
        if isinstance(e, dict)
        for stage in e["choices"][0]["delta"].get("custom_content", {}).get("stages", [])
        if stage.get("status")
    ]
    assert statuses == ["failed", "completed"]


def test_attachments_are_inline_png_and_downloadable_file(client: httpx.Client) -> None:
    message = complete(client, "attachments", {"messages": [user("files?")]})["choices"][0][
        "message"
    ]
    assert message["content"] == "here are your files"
    png, report = message["custom_content"]["attachments"]
    assert (png["type"], png["title"]) == ("image/png", "dot.png")
    assert base64.b64decode(png["data"]).startswith(PNG_MAGIC)
    assert (report["type"], report["title"]) == ("text/plain", "report.txt")
    download = client.get("/v1/" + report["url"])
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/plain")
    assert download.text.startswith("Emulator report")


def test_files_upload_download_and_attachments_echo(client: httpx.Client) -> None:
    bucket = client.get("/v1/bucket").json()["bucket"]
    data = bytes(range(256)) + b"\r\n--boundary-like\r\n"
    files = {"file": ("data.bin", data, "application/octet-stream")}
    meta = client.put(f"/v1/files/{bucket}/tests/data.bin", files=files).json()
    assert meta == {
        "name": "data.bin",
        "parentPath": "tests",
        "bucket": bucket,
        "url": f"files/{bucket}/tests/data.bin",
        "nodeType": "ITEM",
        "resourceType": "FILE",
        "updatedAt": meta["updatedAt"],
        "contentType": "application/octet-stream",
        "contentLength": len(data),
    }
    assert client.get(f"/v1/files/{bucket}/tests/data.bin").content == data
    attachment = {"type": "application/octet-stream", "title": "data.bin", "url": meta["url"]}
    body = {"messages": [user("look", custom_content={"attachments": [attachment]})]}
    text = complete(client, "attachments-echo", body)["choices"][0]["message"]["content"]
    assert text == (
        "received 1 attachment(s):\n"
        f"- data.bin (application/octet-stream): url {meta['url']}, {len(data)} bytes in storage"
    )


def test_files_errors(client: httpx.Client) -> None:
    bucket = client.get("/v1/bucket").json()["bucket"]
    missing = client.get(f"/v1/files/{bucket}/no/such.txt")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "404"
    assert client.get("/v1/files/other-bucket/x.txt").status_code == 403


def test_configurable_exposes_schema_and_shouts(client: httpx.Client) -> None:
    schema = client.get("/v1/deployments/configurable/configuration").json()
    assert schema["properties"]["style"]["enum"] == ["plain", "shout"]
    body = {"messages": [user("hey you")], "custom_fields": {"configuration": {"style": "shout"}}}
    assert complete(client, "configurable", body)["choices"][0]["message"]["content"] == "HEY YOU"
    plain = complete(client, "configurable", {"messages": [user("hey you")]})
    assert plain["choices"][0]["message"]["content"] == "hey you"


# -- process behaviour ----------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_emulator_without_key_accepts_anything_and_exits_quietly(sig: signal.Signals) -> None:
    running = start_emulator(api_key=None)
    try:
        resp = httpx.post(running.url + chat_url("echo"), json={"messages": [user("open")]})
        assert resp.json()["choices"][0]["message"]["content"] == "open"
    finally:
        running.process.send_signal(sig)
        assert running.process.wait(timeout=10) == 0
        assert running.process.stdout is not None and running.process.stdout.read() == ""
        assert running.stderr_text() == ""
