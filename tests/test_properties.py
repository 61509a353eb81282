"""Property tests (Hypothesis): any JSON in any field of a chunk or a config file, any
bytes in a conversation file. Each ends in a value or a clean DialError, never an
internal error; a bad file is reported, never fatal to the others, never rewritten.

Examples are kept few and deadlines off so the suite stays inside its CI budget.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dialcli.attachments import describe, listed, safe_name
from dialcli.backends.base import merge_custom_content
from dialcli.backends.replies import deltas_from_reads, reply_from_completion
from dialcli.config import resolve_settings
from dialcli.conversation import Conversation, Message, Role
from dialcli.errors import DialError, StorageError, UsageError
from dialcli.render import transcript
from dialcli.stages import StageReporter
from dialcli.store import Store

FAST = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def replace_at(doc: Any, path: list[Any], value: Any) -> Any:
    """``doc`` (a copy) with the item at ``path`` replaced by ``value``."""
    doc = json.loads(json.dumps(doc))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def paths(doc: Any, prefix: list[Any] | None = None) -> list[list[Any]]:
    prefix = prefix or []
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += paths(value, [*prefix, key])
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found += paths(value, [*prefix, i])
    return found


# -- chunks ------------------------------------------------------------------------------

STAGE = {"index": 0, "name": "Search", "content": "found", "status": "completed"}
ATTACHMENT = {"index": 0, "type": "text/plain", "title": "a.txt", "data": "aGk="}
CHUNK = {
    "id": "c",
    "object": "chat.completion.chunk",
    "created": 1,
    "choices": [
        {
            "index": 0,
            "finish_reason": None,
            "delta": {
                "content": "Hello",
                "custom_content": {"stages": [STAGE], "attachments": [ATTACHMENT], "state": {}},
            },
        }
    ],
    "usage": None,
}
CHUNK_PATHS = paths(CHUNK)
FINAL = {**CHUNK, "choices": [{"index": 0, "finish_reason": "stop", "delta": {}}]}


def consume(reads: list[list[Any]]) -> str:
    """What the turn does with a stream: deltas merged, stages shown, attachments listed."""
    text: list[str] = []
    custom: dict[str, Any] = {}
    stages = StageReporter(io.StringIO(), "full")
    for delta in deltas_from_reads(reads):
        assert isinstance(delta.text, str)
        text.append(delta.text)
        if delta.custom_content:
            merge_custom_content(custom, delta.custom_content)
            stages(delta)
    for attachment in listed(custom):
        describe(attachment)
        safe_name(attachment.get("title"), "fallback")
    return "".join(text)


@FAST
@given(path=st.sampled_from(CHUNK_PATHS), value=json_values)
def test_any_json_in_any_field_of_a_chunk_is_a_value_or_a_clean_error(path, value):
    chunk = replace_at(CHUNK, path, value)
    reads = [[orjson.dumps(chunk)], [orjson.dumps(FINAL), b"[DONE]"]]
    try:
        consume(reads)
    except DialError as err:
        assert "\n" not in str(err)


@FAST
@given(chunk=json_values, done=st.booleans())
def test_any_json_as_a_whole_chunk_is_a_value_or_a_clean_error(chunk, done):
    reads = [[orjson.dumps(chunk)], [b"[DONE]"] if done else []]
    with pytest.raises(DialError) if not isinstance(chunk, dict) else _maybe():
        consume(reads)


class _maybe:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, err: Any, tb: Any) -> bool:
        return kind is None or issubclass(kind, DialError)


COMPLETION = {
    "choices": [{"index": 0, "finish_reason": "stop", "message": CHUNK["choices"][0]["delta"]}],
    "usage": {"total_tokens": 3},
}


@FAST
@given(path=st.sampled_from(paths(COMPLETION)), value=json_values)
def test_any_json_in_a_completion_is_a_reply_or_a_clean_error(path, value):
    try:
        reply = reply_from_completion(replace_at(COMPLETION, path, value), "m")
    except DialError:
        return
    assert isinstance(reply.content, str)


# -- config.toml -------------------------------------------------------------------------

toml_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(max_size=20),
)
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
CONFIG_KEYS = [
    "url", "api_key", "api_key_command", "model", "backend", "api_version", "retries",
    "timeouts", "system", "markdown", "aliases", "home",
]  # fmt: skip


def toml(value: Any) -> str:
    """A TOML value (inline), escaping as JSON does, which TOML's basic strings accept."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + "}"


@FAST
@given(
    values=st.dictionaries(st.sampled_from(CONFIG_KEYS), toml_values, max_size=4),
    env=st.dictionaries(
        st.sampled_from(["DIAL_URL", "DIAL_HOME", "DIAL_API_KEY", "DIAL_MODEL"]),
        st.text(alphabet=st.characters(exclude_characters="\0"), max_size=20),
        max_size=2,
    ),
)
def test_any_value_in_config_toml_or_the_environment_is_settings_or_a_usage_error(values, env):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text("".join(f"{json.dumps(k)} = {toml(v)}\n" for k, v in values.items()))
        try:
            resolved = resolve_settings({}, {"DIAL_CONFIG": str(path), **env})
            resolved.require_key()
        except UsageError as err:
            assert "\n" not in str(err)
            if "api_key" in values and isinstance(values["api_key"], str) and values["api_key"]:
                assert values["api_key"] not in str(err) or len(values["api_key"]) < 3


# -- conversation files ----------------------------------------------------------------------

GOOD_ID = "aaaaaaaa-0000-4000-8000-000000000000"
BAD_ID = "bbbbbbbb-0000-4000-8000-000000000000"
DOC = {
    "schema": 1,
    "id": BAD_ID,
    "created": "2024-01-01T00:00:00.000Z",
    "updated": "2099-01-01T00:00:00.000Z",
    "title": "t",
    "model": "m",
    "system": "s",
    "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a", "custom_content": {"stages": [STAGE]}},
    ],
}
file_bytes = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda path, value: orjson.dumps(replace_at(DOC, path, value)),
        st.sampled_from(paths(DOC)),
        json_values,
    ),
)


@FAST
@given(data=file_bytes)
def test_any_bytes_in_a_conversation_file_are_reported_not_fatal_never_rewritten(data):
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        good = Conversation(model="m", id=GOOD_ID)
        good.add(Role.USER, "hello there")
        good.add(Role.ASSISTANT, "hi")
        store.create(good)
        bad = store.path / f"{BAD_ID}.json"
        bad.write_bytes(data)
        listed_ids = [s.id for s in store.summaries()]
        assert GOOD_ID in listed_ids
        assert [h.summary.id for h in store.search("hello")][-1:] == [GOOD_ID]
        assert store.resolve(GOOD_ID[:8]) == GOOD_ID
        try:
            conv = store.load(BAD_ID)
        except StorageError:
            assert BAD_ID not in listed_ids and [p.path for p in store.problems] == [bad]
        else:
            transcript(conv)
            conv.request_messages()
        store.append(GOOD_ID, [Message(Role.USER, "more")])
        assert bad.read_bytes() == data
        assume(True)


# -- model listings and deployment details ---------------------------------------------------

MODEL = {
    "id": "gpt-4o",
    "display_name": "GPT-4o",
    "model": "gpt-4o",
    "owner": "organization-owner",
    "object": "model",
    "capabilities": {"chat_completion": True},
    "features": {"configuration": True},
    "input_attachment_types": ["image/png"],
    "limits": {"max_total_tokens": 128000},
}


@FAST
@given(path=st.sampled_from(paths(MODEL)), value=json_values)
def test_any_json_in_a_listing_or_deployment_is_shown(path, value):
    from dialcli.backends.model_info import ModelInfo
    from dialcli.cli.models import format_details, format_table

    details = replace_at(MODEL, path, value)
    assert isinstance(format_table([ModelInfo.from_dict(details)]), str)
    assert isinstance(format_details(details, None), str)
