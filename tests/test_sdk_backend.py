"""What the sdk backend adds on top of aidial-client, against real local servers.

The library alone retries chat calls twice on openai's terms, waits up to 600 s, wraps
server messages in openai's "Error code: 429 - {...}" text, reports every error event
as status 500 and ends a cut stream quietly. These tests pin down how the backend takes
each of those back to raw's behaviour. (Cross-backend behaviour lives in the contract
and CLI suites.)
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from aidial_client import Dial, DialException
from faultserver import FaultServer
from helpers import RunningEmulator

from dialcli.backends.base import ChatRequest, merge_custom_content
from dialcli.backends.raw import RawBackend
from dialcli.backends.sdk import SdkBackend
from dialcli.backends.sdk_errors import strip_wrapper
from dialcli.config import Settings
from dialcli.debuglog import DebugLog
from dialcli.errors import (
    IncompleteAnswerError,
    NetworkError,
    RateLimitError,
    ServerError,
    UsageError,
)

KEY = "sdk-test-key-0123456789"
HI = [{"role": "user", "content": "hi"}]


def settings(url: str, tmp_path: Path, **changes: object) -> Settings:
    return Settings(
        url=url, api_key=KEY, home=tmp_path, config_path=tmp_path / "none.toml"
    ).with_overrides(**changes)


@pytest.fixture
def faults(fault_server: FaultServer) -> FaultServer:
    fault_server.reset()
    return fault_server


def collect(backend: SdkBackend | RawBackend, model: str) -> tuple[str, Exception | None]:
    text = ""
    try:
        for delta in backend.stream(ChatRequest(model=model, messages=HI)):
            text += delta.text
    except Exception as err:
        return text, err
    return text, None


# -- openai's wrapper text -----------------------------------------------------------


def test_strip_wrapper_recovers_the_servers_message_from_a_real_library_exception(faults):
    # The library on its own (400 is not retried by openai), to get its real wording.
    with Dial(base_url=faults.url, api_key=KEY) as dial, pytest.raises(DialException) as caught:
        dial.chat.completions.create(deployment_name="status-400", messages=HI, stream=False)
    assert caught.value.message.startswith("Error code: 400 - {'error': {")
    assert strip_wrapper(caught.value.message) == (400, "Emulated HTTP 400 (fault server)")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Error code: 503 - {'error': {'message': 'Busy', 'code': None}}", (503, "Busy")),
        ("Error code: 404 - {'detail': 'Not Found'}", (404, "Not Found")),
        ("Error code: 502", (502, None)),
        ("Connection error.", (None, "Connection error.")),
    ],
)
def test_strip_wrapper_handles_each_shape_openai_produces(message, expected):
    assert strip_wrapper(message) == expected


# -- retries and timeouts are ours, not the library's --------------------------------


def test_library_retries_are_off_so_429_makes_exactly_one_request(faults, tmp_path, retry_waits):
    # aidial-client's sync Dial alone makes 3 requests here (Retry-After: 1).
    with SdkBackend(settings(faults.url, tmp_path, retries=0)) as backend:
        _, err = collect(backend, "status-429-retry-after-1")
    assert isinstance(err, RateLimitError)
    assert faults.hits["status-429-retry-after-1"] == 1
    assert retry_waits == []


def test_our_policy_makes_retries_plus_one_requests_honouring_retry_after(
    faults, tmp_path, retry_waits
):
    with SdkBackend(settings(faults.url, tmp_path, retries=2)) as backend:
        _, err = collect(backend, "status-429-retry-after-1")
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 1.0, "Retry-After is read from the response the library hides"
    assert str(err) == "Emulated HTTP 429 (fault server) (HTTP 429)"
    assert faults.hits["status-429-retry-after-1"] == 3
    assert retry_waits == [1.0, 1.0]  # ours, and only ours: the library waits no more


def test_non_streaming_calls_follow_the_same_retry_policy(faults, tmp_path):
    with (
        SdkBackend(settings(faults.url, tmp_path, retries=1)) as backend,
        pytest.raises(ServerError, match=r"^Emulated HTTP 503 \(fault server\) \(HTTP 503\)$"),
    ):
        backend.complete(ChatRequest(model="status-503-retry-after-0", messages=HI))
    assert faults.hits["status-503-retry-after-0"] == 2


def test_a_started_stream_is_never_replayed(faults, tmp_path):
    with SdkBackend(settings(faults.url, tmp_path, retries=2)) as backend:
        text, err = collect(backend, "drop")
    assert text == "Hello world"
    assert isinstance(err, NetworkError)
    assert str(err).startswith("connection dropped: ")
    assert faults.hits["drop"] == 1


def test_the_configured_read_timeout_reaches_the_chat_call(faults, tmp_path):
    # The library's default would wait 600 s for these headers (and the test time out).
    with SdkBackend(settings(faults.url, tmp_path, read_timeout=0.3)) as backend:
        _, err = collect(backend, "stall-headers")
    assert isinstance(err, NetworkError)
    assert str(err) == "read timeout: no data from the server for 0.3 s"
    assert faults.hits["stall-headers"] == 1


# -- what the library flattens, restored -------------------------------------------


def test_an_error_event_keeps_the_servers_message_not_the_librarys_500(faults, tmp_path):
    with SdkBackend(settings(faults.url, tmp_path)) as backend:
        text, err = collect(backend, "error-event")
    assert text == "Hello"
    assert type(err) is ServerError
    assert str(err) == "server error during the answer: boom mid-stream"


def test_a_stream_cut_before_finish_reason_is_incomplete_though_the_library_ends_quietly(
    faults, tmp_path
):
    with SdkBackend(settings(faults.url, tmp_path)) as backend:
        text, err = collect(backend, "no-done")
    assert text == "Hello world"
    assert isinstance(err, IncompleteAnswerError)


def test_a_refused_connection_names_the_os_reason(tmp_path, closed_port):
    url = f"http://127.0.0.1:{closed_port}"
    with SdkBackend(settings(url, tmp_path, retries=0)) as backend:
        _, err = collect(backend, "echo")
    assert isinstance(err, NetworkError)
    # The OS's own words, as raw shows them ("[Errno 111] Connection refused" on Linux).
    assert str(err).startswith(f"cannot reach DIAL at {url}: [Errno ")
    assert str(err).endswith("Connection refused")


def test_an_event_stream_to_a_non_streaming_request_is_not_json_like_raw(faults, tmp_path):
    messages = []
    for backend_class in (RawBackend, SdkBackend):
        with (
            backend_class(settings(faults.url, tmp_path)) as backend,
            pytest.raises(ServerError) as caught,
        ):
            backend.complete(ChatRequest(model="ok", messages=HI))
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert messages[1].startswith("expected JSON from the server, got data: {")


def test_no_key_is_a_usage_error_before_the_library_is_asked(tmp_path):
    with pytest.raises(UsageError):
        SdkBackend(settings("http://127.0.0.1:9", tmp_path).with_overrides(api_key=""))


# -- the request on the wire ---------------------------------------------------------


def test_the_request_is_the_one_raw_sends(faults, tmp_path):
    request = ChatRequest(
        model="ok",
        messages=[{"role": "user", "content": "hi", "custom_content": {"state": {"n": 1}}}],
        temperature=0.0,
        max_tokens=7,
        custom_fields={"configuration": {"a": 1}},
    )
    for backend_class in (RawBackend, SdkBackend):
        with backend_class(settings(faults.url, tmp_path)) as backend:
            list(backend.stream(request))
    raw, sdk = faults.requests_for("ok")
    path = "/openai/deployments/ok/chat/completions?api-version=2025-01-01-preview"
    assert sdk.path == raw.path == path
    assert sdk.json() == raw.json(), "no 'model' in the body, nothing dropped"
    assert sdk.headers["api-key"] == KEY
    assert sdk.headers["user-agent"] == raw.headers["user-agent"]
    assert not [name for name in sdk.headers if name.startswith("x-stainless")]


def test_a_deployment_id_is_quoted_in_the_path_like_raw(faults, tmp_path):
    for backend_class in (RawBackend, SdkBackend):
        with backend_class(settings(faults.url, tmp_path, retries=0)) as backend:
            collect(backend, "apps/x y?z")
    raw, sdk = faults.requests_for("apps/x%20y%3Fz")
    assert sdk.path == raw.path


def test_verbose_log_shows_wire_and_chunks_without_the_key(faults, tmp_path):
    stream = io.StringIO()
    log = DebugLog(stream, [KEY])
    with SdkBackend(settings(faults.url, tmp_path), log) as backend:
        list(backend.stream(ChatRequest(model="ok", messages=HI)))
    text = stream.getvalue()
    assert KEY not in text
    assert f"> api-key: ***{KEY[-4:]}" in text
    assert "ms] < HTTP 200 OK" in text
    assert '< chunk: {"id":"fault-0001"' in text and '"content":" world"' in text


# -- replies as the server wrote them ------------------------------------------------


def test_custom_content_keeps_the_servers_nulls_like_raw(emulator: RunningEmulator, tmp_path):
    merged = []
    for backend_class in (RawBackend, SdkBackend):
        custom: dict = {}
        with backend_class(
            settings(emulator.url, tmp_path).with_overrides(api_key=emulator.api_key)
        ) as backend:
            for delta in backend.stream(ChatRequest(model="stages", messages=HI)):
                if delta.custom_content:
                    merge_custom_content(custom, delta.custom_content)
        merged.append(custom)
    assert merged[0] == merged[1]
    assert merged[1]["stages"], "the emulator's stages app streams stages"


def test_models_are_listed_from_openai_models_as_the_server_wrote_them(
    emulator: RunningEmulator, tmp_path
):
    config = settings(emulator.url, tmp_path).with_overrides(api_key=emulator.api_key)
    with RawBackend(config) as raw, SdkBackend(config) as sdk:
        assert [m.raw for m in sdk.list_models()] == [m.raw for m in raw.list_models()]
        assert [m.raw for m in sdk.list_applications()] == [m.raw for m in raw.list_applications()]


def test_a_bug_of_ours_inside_the_library_call_is_not_called_a_server_reply(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    """The library wraps what our event hook raised; it must come out as the bug it is."""
    backend = SdkBackend(settings(emulator.url, tmp_path, retries=0))
    backend._log = None  # type: ignore[assignment]  # the hook now fails inside dialcli
    with pytest.raises(AttributeError, match="NoneType"):
        backend.list_models()
    with pytest.raises(AttributeError, match="NoneType"):
        list(backend.stream(ChatRequest(model="echo", messages=HI)))
