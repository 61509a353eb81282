"""Hostile files in the store and lost updates: issue 14, defects 1, 2, 13, 16, 17.

Each case runs the real command (both backends where a request is made) and checks the
exit code, the one stderr line, stdout and the saved files' bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from cli_harness import run_dial

from dialcli.conversation import Conversation, Message, Role
from dialcli.errors import StorageError
from dialcli.session import Session
from dialcli.store import Store

CONV_ID = "0b9e7a52-4c1d-4e8e-9d1a-3f2a6c1b7e10"
NEWER = "2099-01-01T00:00:00.000Z"


def home() -> Path:
    import os

    return Path(os.environ["DIAL_HOME"])


def save_doc(doc: dict, name: str | None = None) -> Path:
    directory = home() / "conversations"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or f"{doc['id']}.json")
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    return path


def conversation_doc(conv_id: str = CONV_ID, **fields) -> dict:
    doc = {
        "schema": 1,
        "id": conv_id,
        "created": "2024-01-01T00:00:00.000Z",
        "updated": "2024-01-01T00:00:00.000Z",
        "title": "first",
        "model": "ok",
        "system": None,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "Hello world"},
        ],
    }
    doc.update(fields)
    return doc


@pytest.fixture
def at_fault_server(fault_server, dial_environ, monkeypatch):
    monkeypatch.setenv("DIAL_URL", fault_server.url)
    fault_server.reset()
    return fault_server


# -- 13: a newest *.json that is not a conversation file -----------------------------------


@pytest.mark.parametrize(
    "name",
    ["notes.json", "0B9E7A52-4C1D-4E8E-9D1A-3F2A6C1B7E99.json"],
    ids=["notes", "uppercase-uuid"],
)
def test_a_foreign_newest_json_file_does_not_break_continue_or_last(
    at_fault_server, backend_name, name
):
    good = save_doc(conversation_doc())
    foreign_doc = conversation_doc(name.removesuffix(".json"), updated=NEWER)
    foreign = save_doc(foreign_doc, name)
    before = foreign.read_bytes()
    result = run_dial(["ask", "--backend", backend_name, "-c", "hi"])
    assert (result.code, result.stdout) == (0, "Hello world\n"), result.stderr
    assert result.stderr == ""
    assert len(json.loads(good.read_bytes())["messages"]) == 4
    assert foreign.read_bytes() == before
    shown = run_dial(["history", "show", "last"])
    assert shown.code == 0 and CONV_ID in shown.stdout


def test_history_list_reports_a_foreign_json_file_once(dial_environ):
    save_doc(conversation_doc())
    save_doc(conversation_doc("notes", updated=NEWER), "notes.json")
    result = run_dial(["history", "list"])
    assert result.code == 0
    assert CONV_ID[:8] in result.stdout and "notes" not in result.stdout
    assert result.stderr.count("notes.json") == 1


# -- 16: a directory named <uuid>.json ---------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["history", "list"], ["history", "search", "hi"], ["history", "show", "last"]],
    ids=["list", "search", "show"],
)
def test_a_directory_named_like_a_conversation_is_reported_not_fatal(dial_environ, args):
    save_doc(conversation_doc())
    (home() / "conversations" / "1b9e7a52-4c1d-4e8e-9d1a-3f2a6c1b7e10.json").mkdir()
    result = run_dial(args)
    assert result.code == 0, result.stderr
    assert CONV_ID[:8] in result.stdout
    assert "internal error" not in result.stderr


def test_continue_with_a_directory_named_like_a_conversation(at_fault_server, backend_name):
    save_doc(conversation_doc())
    (home() / "conversations" / "1b9e7a52-4c1d-4e8e-9d1a-3f2a6c1b7e10.json").mkdir()
    result = run_dial(["ask", "--backend", backend_name, "-c", "hi"])
    assert (result.code, result.stdout, result.stderr) == (0, "Hello world\n", "")


def test_show_of_a_directory_named_like_a_conversation_is_one_line(dial_environ):
    (home() / "conversations" / f"{CONV_ID}.json").mkdir(parents=True)
    result = run_dial(["history", "show", CONV_ID])
    assert result.code == 1
    assert result.stderr.startswith("dial: could not read conversation: ")
    assert result.stderr.count("\n") == 1


# -- 17: custom_content that is not an object ----------------------------------------------


@pytest.mark.parametrize("value", ["str", 42, ["a"], {"stages": "x"}, {"stages": [1, None]}])
def test_custom_content_of_any_shape_does_not_crash_history_show(dial_environ, value):
    doc = conversation_doc()
    doc["messages"][1]["custom_content"] = value
    path = save_doc(doc)
    before = path.read_bytes()
    result = run_dial(["history", "show", CONV_ID])
    assert result.code == 0, result.stderr
    assert "Assistant: " in result.stdout and "Hello world" in result.stdout
    assert path.read_bytes() == before


def test_custom_content_of_any_shape_is_kept_by_continue(at_fault_server, backend_name):
    doc = conversation_doc()
    doc["messages"][1]["custom_content"] = "str"
    path = save_doc(doc)
    result = run_dial(["ask", "--backend", backend_name, "-c", "hi"])
    assert (result.code, result.stderr) == (0, ""), result.stderr
    assert json.loads(path.read_bytes())["messages"][1]["custom_content"] == "str"


# -- 2: content that is a list of parts -------------------------------------------------------

PARTS = [
    {"type": "text", "text": "look at"},
    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
    {"type": "text", "text": "this"},
]


def test_list_content_is_sent_and_kept_as_it_is(at_fault_server, backend_name):
    doc = conversation_doc()
    doc["messages"][0]["content"] = PARTS
    path = save_doc(doc)
    result = run_dial(["ask", "--backend", backend_name, "-c", "hi"])
    assert (result.code, result.stdout, result.stderr) == (0, "Hello world\n", "")
    sent = at_fault_server.requests_for("ok")[-1].json()["messages"]
    assert sent[0]["content"] == PARTS
    saved = json.loads(path.read_bytes())["messages"]
    assert saved[0]["content"] == PARTS and len(saved) == 4


def test_history_show_and_search_see_the_text_parts_of_list_content(dial_environ):
    doc = conversation_doc(title="")
    doc["messages"][0]["content"] = PARTS
    save_doc(doc)
    shown = run_dial(["history", "show", CONV_ID])
    assert shown.code == 0
    assert "You: look at this" in shown.stdout and "image_url" not in shown.stdout
    found = run_dial(["history", "search", "look at"])
    assert found.code == 0 and CONV_ID[:8] in found.stdout


# -- 1: /retry and /system never erase what another process saved ------------------------------


def exchange(question: str, answer: str) -> list[Message]:
    return [Message(Role.USER, question), Message(Role.ASSISTANT, answer, model="ok")]


def other_process_appends(store: Store, conv_id: str) -> None:
    Store(store.home).append(conv_id, exchange("from elsewhere", "kept"))


def test_retry_after_another_process_saved_refuses_and_keeps_both(tmp_path):
    store = Store(tmp_path / "home")
    conv = Conversation(model="ok")
    conv.messages = exchange("q1", "a1")
    store.create(conv)
    session = Session.resume(store, conv.id)
    other_process_appends(store, conv.id)
    question, answer = exchange("q1", "a1 again")
    from dialcli.backends.base import Reply

    with pytest.raises(StorageError, match="changed in another process"):
        session.record(question, Reply(content=answer.content, model="ok"), replace=True)
    texts = [m.content for m in store.load(conv.id).messages]
    assert texts == ["q1", "a1", "from elsewhere", "kept"]
    assert [m.content for m in session.conversation.messages] == texts


def test_retry_without_interference_replaces_the_last_answer_on_disk(tmp_path):
    from dialcli.backends.base import Reply

    store = Store(tmp_path / "home")
    conv = Conversation(model="ok")
    conv.messages = exchange("q0", "a0") + exchange("q1", "a1")
    store.create(conv)
    session = Session.resume(store, conv.id)
    session.record(Message(Role.USER, "q1"), Reply(content="a1 again", model="ok"), replace=True)
    texts = [m.content for m in store.load(conv.id).messages]
    assert texts == ["q0", "a0", "q1", "a1 again"]


def test_system_change_after_another_process_saved_keeps_its_exchange(tmp_path):
    store = Store(tmp_path / "home")
    conv = Conversation(model="ok")
    conv.messages = exchange("q1", "a1")
    store.create(conv)
    session = Session.resume(store, conv.id)
    other_process_appends(store, conv.id)
    session.set_system("Be brief.")
    saved = store.load(conv.id)
    assert saved.system == "Be brief."
    assert [m.content for m in saved.messages] == ["q1", "a1", "from elsewhere", "kept"]


def test_undo_after_another_process_saved_refuses_and_keeps_both(tmp_path):
    store = Store(tmp_path / "home")
    conv = Conversation(model="ok")
    conv.messages = exchange("q1", "a1")
    store.create(conv)
    session = Session.resume(store, conv.id)
    other_process_appends(store, conv.id)
    with pytest.raises(StorageError, match="changed in another process"):
        session.undo()
    texts = [m.content for m in store.load(conv.id).messages]
    assert texts == ["q1", "a1", "from elsewhere", "kept"]


def test_retry_in_chat_after_another_process_saved_is_refused_clearly(
    at_fault_server, backend_name
):
    """The whole path: a chat answers, another dial appends, then /retry."""
    import io

    from dialcli.__main__ import main
    from dialcli.output import IOStreams

    class Stdin(io.BytesIO):
        def readline(self, *args):
            line = super().readline(*args)
            if line == b"/retry\n":  # between the first answer and /retry
                done = run_dial(["ask", "--backend", backend_name, "-c", "-m", "ok", "other"])
                assert done.code == 0, done.stderr
            return line

    streams = IOStreams(Stdin(b"hi\n/retry\n"), io.BytesIO(), io.StringIO())
    code = main(["chat", "--backend", backend_name, "-m", "ok", "-s", ""], streams)
    err = streams.stderr.getvalue()
    assert code == 1, err
    lines = err.splitlines()
    assert lines[0].startswith("dial: could not save conversation: it changed in another process")
    assert lines[1:] == ["dial: 1 input(s) of the chat failed (see above)"]
    store = Store(home())
    saved = store.load(store.latest())
    assert [m.content for m in saved.messages] == ["hi", "Hello world", "other", "Hello world"]
