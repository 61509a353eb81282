"""The async backends against the emulator: the same replies and errors as the sync ones."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from dialcli.backends import get_backend
from dialcli.backends.base import ChatRequest
from dialcli.config import Settings
from dialcli.engine import get_async_backend
from dialcli.engine.base import collect
from dialcli.errors import DialError
from dialcli.turn import run_turn


def settings(emulator, backend_name: str) -> Settings:
    return Settings(url=emulator.url, api_key=emulator.api_key, backend=backend_name, retries=0)


def request(model: str, text: str = "one two 🎉 three") -> ChatRequest:
    return ChatRequest(model=model, messages=[{"role": "user", "content": text}])


def async_reply(config: Settings, req: ChatRequest, *, stream: bool = True):
    async def go():
        backend = get_async_backend(config)
        try:
            return await collect(backend, req, stream=stream)
        except DialError as err:
            return err
        finally:
            await backend.aclose()

    return asyncio.run(go())


def sync_reply(config: Settings, req: ChatRequest, *, stream: bool = True):
    with get_backend(config) as backend:
        try:
            return run_turn(backend, req, None, stream=stream)
        except DialError as err:
            return err


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "complete"])
def test_an_answer_is_the_same_as_the_sync_backends(emulator, backend_name, stream):
    config = settings(emulator, backend_name)
    got = async_reply(config, request("echo"), stream=stream)
    expected = sync_reply(config, request("echo"), stream=stream)
    assert got.response_id and expected.response_id  # one per completion: they differ
    # Per answer (timings, ids) they differ; what the answer is, they must not.
    ignore = {"response_id": None, "latency_ms": None, "sent": None}
    assert replace(got, **ignore) == replace(expected, **ignore)
    assert got.latency_ms["total"] >= got.latency_ms["first_byte"] >= 0
    assert got.content == "one two 🎉 three" and got.finish_reason == "stop"
    assert got.usage["completion_tokens"] == 4


@pytest.mark.parametrize(
    ("model", "error", "status"),
    [
        ("fail-429", "RateLimitError", 429),
        ("fail-500", "ServerError", 500),
        ("fail-403", "AuthError", 403),
        ("no-such-model", "NotFoundError", 404),
        ("midstream", "ServerError", None),
    ],
)
def test_errors_are_the_same_as_the_sync_backends(emulator, backend_name, model, error, status):
    config = settings(emulator, backend_name)
    got = async_reply(config, request(model))
    expected = sync_reply(config, request(model))
    assert type(got).__name__ == type(expected).__name__ == error
    assert (got.message, got.status, got.retry_after) == (
        expected.message,
        expected.status,
        expected.retry_after,
    )
    assert got.status == status


def test_the_conversation_id_header_is_sent_like_the_sync_backends(emulator, backend_name):
    config = settings(emulator, backend_name)
    req = ChatRequest(
        model="inspect", messages=[{"role": "user", "content": "x"}], conversation_id="c-42"
    )
    got = async_reply(config, req)
    # inspect answers with the request as it arrived: the same from both sides.
    assert got.content == sync_reply(config, req).content
    assert '"x-conversation-id":"c-42"' in got.content


def test_429_carries_retry_after(emulator, backend_name):
    got = async_reply(settings(emulator, backend_name), request("fail-429"))
    assert got.retry_after == 1.0
