"""dial history export / import: DIAL Chat's export files (versions 1-5), ours, Markdown."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from cli_harness import run_dial
from dialchat_rules import export_file_problems

from dialcli.conversation import Conversation, Message, Role
from dialcli.remote import names
from dialcli.store import Store

ATTACHMENT = {"type": "image/png", "title": "cat.png", "url": "files/b/dir/cat%20one.png"}


def home() -> Path:
    return Path(os.environ["DIAL_HOME"])


def dial(*args: str, stdin: str = "") -> tuple[int, str, str]:
    result = run_dial(list(args), stdin)
    return result.code, result.stdout, result.stderr


def saved(conv: Conversation, store: Store | None = None) -> Conversation:
    (store or Store(home())).create(conv)
    return conv


def sample(
    title: str = "Plan: a trip; to Rome/Paris\nsecond line", model: str = "gpt-4o"
) -> Conversation:
    conv = Conversation(model=model, system="You are terse.", title=title)
    conv.messages = [
        Message(Role.USER, "what to pack?", custom_content={"attachments": [ATTACHMENT]}),
        Message(
            Role.ASSISTANT,
            "A coat.",
            usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
            custom_content={
                "state": {"step": 2},
                "stages": [{"index": 0, "name": "Search", "status": "completed"}],
            },
            model=model,
        ),
    ]
    return conv


def export(*args: str) -> dict[str, Any]:
    code, out, err = dial("history", "export", *args)
    assert (code, err) == (0, ""), err
    return json.loads(out)


def only(conv_ids: list[str]) -> Conversation:
    [conv_id] = conv_ids
    return Store(home()).load(conv_id)


def imported_ids(out: str) -> list[str]:
    return [line.split()[1] for line in out.splitlines() if line.startswith("imported")]


def write(tmp_path: Path, data: Any, name: str = "export.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def essentials(conv: Conversation) -> dict[str, Any]:
    return {
        "model": conv.model,
        "system": conv.system,
        "messages": [
            (str(m.role), m.content, m.custom_content, m.model, m.usage) for m in conv.messages
        ],
    }


# -- export ------------------------------------------------------------------------------


def made_at(conv: Conversation, minute: int) -> Conversation:
    """``conv`` as if made at a given minute: --all exports oldest first, and two
    conversations made within one millisecond would tie (then their random ids decide)."""
    conv.created = conv.updated = f"2025-01-01T00:{minute:02d}:00.000Z"
    return conv


def test_exported_file_passes_dial_chats_own_import_rules():
    saved(made_at(sample(), 1))
    saved(made_at(sample(), 2))  # the same title twice: names must stay distinct
    saved(made_at(sample(title="x" * 300 + "...", model="gpt-4o__2025-09-20"), 3))
    saved(made_at(Conversation(model="echo"), 4))  # no title, no messages
    data = export("--all")
    assert export_file_problems(data) == []
    history = data["history"]
    assert [c["name"] for c in history] == [
        "Plan_ a trip_ to Rome_Paris",
        "Plan_ a trip_ to Rome_Paris (2)",
        "x" * 160,
        "New conversation",
    ]
    assert history[2]["id"] == "conversations/local/dial/gpt-4o%5F%5F2025-09-20__" + "x" * 160
    assert history[0]["prompt"] == "You are terse."  # the system prompt, not a message
    assert [m["role"] for m in history[0]["messages"]] == ["user", "assistant"]
    answer = history[0]["messages"][1]
    assert answer["model"] == {"id": "gpt-4o"}
    assert answer["settings"] == {
        "prompt": "You are terse.",
        "temperature": 1,
        "selectedAddons": [],
    }
    assert answer["custom_content"]["state"] == {"step": 2}
    assert history[0]["messages"][0]["custom_content"] == {"attachments": [ATTACHMENT]}
    assert isinstance(history[0]["lastActivityDate"], int)


def test_the_rules_catch_what_dial_chat_would_change():
    data = export_file_problems(
        {
            "version": 5,
            "folders": [],
            "history": [{"id": "a", "name": "bad: name.", "messages": [{"role": "bot"}]}],
        }
    )
    assert any("notAllowedSymbols" in p for p in data)
    assert any("ends with a dot" in p for p in data)
    assert any("role 'bot'" in p for p in data)
    assert any("temperature" in p for p in data)


def test_export_md_is_a_readable_transcript():
    conv = saved(sample(title="Packing"))
    code, out, _ = dial("history", "export", conv.id, "--format", "md")
    assert code == 0
    assert out.startswith("# Packing\n")
    assert "## System prompt\n\n> You are terse." in out
    assert "## Turn 1\n\n**You**\n\nwhat to pack?" in out
    assert "- [cat.png](files/b/dir/cat%20one.png)" in out
    assert "**Assistant** (`gpt-4o`, 9 prompt + 3 completion tokens)" in out
    assert "[stage: Search (done)]" in out


def test_export_md_shows_when_an_answer_was_saved_if_known():
    conv = sample(title="Timed")
    conv.messages[1] = Message.from_dict(
        {**conv.messages[1].to_dict(), "created": "2026-11-26T10:15:30.000Z"}
    )
    saved(conv)
    code, out, _ = dial("history", "export", conv.id, "--format", "md")
    assert code == 0
    assert "9 prompt + 3 completion tokens, 2026-11-26 10:15 UTC)" in out


def test_export_to_an_existing_file_refuses_and_leaves_it(tmp_path):
    saved(sample())
    target = tmp_path / "out.json"
    target.write_text("keep me")
    code, _, err = dial("history", "export", "--all", "-o", str(target))
    assert code == 2 and "exists" in err
    assert target.read_text() == "keep me"
    fresh = tmp_path / "new.json"
    assert dial("history", "export", "--all", "-o", str(fresh))[0] == 0
    assert json.loads(fresh.read_text())["version"] == 5


def test_export_needs_ids_or_all_and_a_known_format():
    assert dial("history", "export")[0] == 2
    code, _, err = dial("history", "export", "--all", "--format", "pdf")
    assert code == 2 and "unknown --format 'pdf'" in err


# -- round trips ---------------------------------------------------------------------------


def test_import_of_our_json_export_gives_back_the_same_documents(tmp_path, monkeypatch):
    convs = [saved(sample()), saved(sample(title="two"))]
    path = tmp_path / "ours.json"
    assert dial("history", "export", "--all", "--format", "json", "-o", str(path))[0] == 0
    monkeypatch.setenv("DIAL_HOME", str(tmp_path / "elsewhere"))
    code, out, _ = dial("history", "import", str(path))
    assert code == 0 and sorted(imported_ids(out)) == sorted(c.id for c in convs)
    for conv in convs:
        assert Store(home()).load(conv.id).to_dict() == conv.to_dict()


def test_import_of_a_dialchat_export_keeps_messages_system_model_and_custom_content(
    tmp_path, monkeypatch
):
    original = saved(sample())
    first = export(original.id)
    monkeypatch.setenv("DIAL_HOME", str(tmp_path / "elsewhere"))
    _code, out, _ = dial("history", "import", write(tmp_path, first))
    back = only(imported_ids(out))
    assert back.id == original.id  # carried as dialCliId, which DIAL Chat ignores
    assert essentials(back) == essentials(original)
    assert back.title == "Plan_ a trip_ to Rome_Paris"
    assert (back.created, back.updated) == (original.created, original.updated)
    # Exporting what was imported writes the same file again.
    assert export(back.id) == first


# -- DIAL Chat's export versions -------------------------------------------------------------

V5_CONVERSATION = {
    "id": "conversations/ABC/work/gpt-4o__Quarterly report",
    "name": "Quarterly report",
    "folderId": "conversations/ABC/work",
    "model": {"id": "gpt-4o"},
    "prompt": "You write reports.",
    "temperature": 0.5,
    "selectedAddons": ["web-search"],
    "lastActivityDate": 1764151200000,
    "createdAt": 1764150000000,
    "updatedAt": 1764151200000,
    "isMessageStreaming": False,
    "replay": {"isReplay": False},
    "messages": [
        {"role": "user", "content": "Draft it", "custom_content": {"attachments": [ATTACHMENT]}},
        {
            "role": "assistant",
            "content": "Here is a draft.",
            "model": {"id": "gpt-4o"},
            "settings": {
                "prompt": "You write reports.",
                "temperature": 0.5,
                "selectedAddons": ["web-search"],
            },
            "responseId": "resp-1",
            "like": 1,
            "custom_content": {"state": {"k": 1}},
        },
    ],
}
V5_FOLDER = {
    "id": "conversations/ABC/work",
    "name": "work",
    "folderId": "conversations/ABC",
    "type": "chat",
}


def v1_file() -> list[dict[str, Any]]:
    return [{"id": 1, "name": "v1 chat", "messages": [{"role": "user", "content": "hi v1"}]}]


@pytest.mark.parametrize(
    ("version", "data"),
    [
        (1, v1_file()),
        (2, {"history": [V5_CONVERSATION], "folders": [{"id": 1, "name": "old"}]}),
        (3, {"version": 3, "history": [V5_CONVERSATION], "folders": [V5_FOLDER]}),
        (4, {"version": 4, "history": [V5_CONVERSATION], "folders": [V5_FOLDER], "prompts": []}),
        (5, {"version": 5, "history": [V5_CONVERSATION], "folders": [V5_FOLDER], "prompts": []}),
    ],
)
def test_every_export_version_dial_chat_reads_imports_and_shows(tmp_path, version, data):
    code, out, err = dial("history", "import", write(tmp_path, data))
    assert code == 0, err
    conv = only(imported_ids(out))
    code, shown, _ = dial("history", "show", conv.id)
    if version == 1:
        assert (conv.title, conv.model, conv.system) == ("v1 chat", "gpt-35-turbo", None)
        assert "You: hi v1" in shown
        return
    assert (conv.title, conv.model, conv.system) == (
        "Quarterly report",
        "gpt-4o",
        "You write reports.",
    )
    assert [(m.role, m.content) for m in conv.messages] == [
        ("user", "Draft it"),
        ("assistant", "Here is a draft."),
    ]
    assert conv.messages[0].custom_content == {"attachments": [ATTACHMENT]}
    assert conv.messages[1].response_id == "resp-1"  # the field our answers have too
    assert conv.messages[1].extra == {"like": 1}  # settings = default
    assert conv.extra["dialchat"]["temperature"] == 0.5
    assert "isMessageStreaming" not in conv.extra["dialchat"]
    assert conv.created == "2025-11-26T09:40:00.000Z"
    assert "# Quarterly report" in shown and "System: You write reports." in shown
    # Exported again, DIAL Chat's own fields come back as they were.
    again = export(conv.id)["history"][0]
    for key in ("prompt", "temperature", "selectedAddons", "replay", "lastActivityDate"):
        assert again[key] == V5_CONVERSATION[key]
    assert again["messages"] == V5_CONVERSATION["messages"]


def test_our_own_dialchat_export_imported_back_is_recognised(tmp_path):
    conv = saved(sample())
    code, out, _ = dial("history", "import", write(tmp_path, export("--all")))
    assert code == 0
    assert out.startswith(f"skipped   {conv.id}  history[0]")
    assert len(Store(home()).summaries()) == 1


def test_importing_twice_does_not_duplicate_and_never_overwrites(tmp_path):
    path = write(tmp_path, {"version": 5, "history": [V5_CONVERSATION], "folders": [V5_FOLDER]})
    code, out, _ = dial("history", "import", path)
    [conv_id] = imported_ids(out)
    Store(home()).append(conv_id, [Message(Role.USER, "a local edit")])
    code, out, err = dial("history", "import", path)
    assert code == 0
    assert out == f"skipped   {conv_id}  history[0] 'Quarterly report': already imported\n"
    assert err == "Imported 0, skipped 1 already imported.\n"
    assert len(Store(home()).summaries()) == 1
    assert Store(home()).load(conv_id).messages[-1].content == "a local edit"


def test_a_malformed_entry_is_named_and_the_valid_ones_still_import(tmp_path):
    bad = {**V5_CONVERSATION, "name": "broken one", "messages": [{"role": "bot", "content": "x"}]}
    path = write(tmp_path, {"version": 5, "history": [V5_CONVERSATION, bad, 7], "folders": []})
    code, out, err = dial("history", "import", path)
    assert code == 0
    assert len(imported_ids(out)) == 1
    assert "skipped history[1] 'broken one': messages[0]: role 'bot' is not user" in err
    assert "skipped history[2] is not an object" in err
    assert err.endswith("Imported 1, skipped 0 already imported, 2 malformed.\n")


def test_strict_imports_nothing_when_an_entry_is_malformed(tmp_path):
    bad = {**V5_CONVERSATION, "messages": "nope"}
    path = write(tmp_path, {"version": 5, "history": [V5_CONVERSATION, bad], "folders": []})
    code, out, err = dial("history", "import", path, "--strict")
    assert code == 2 and out == ""
    assert "history[1] 'Quarterly report': messages is not a list" in err
    assert Store(home()).summaries() == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "is not JSON"),
        ('{"version": 9, "history": []}', "not a DIAL Chat export"),
        ('"just a string"', "not a DIAL Chat export"),
    ],
)
def test_a_file_of_no_known_format_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "weird.json"
    path.write_text(content)
    code, out, err = dial("history", "import", str(path))
    assert code == 2 and out == "" and message in err
    assert err.startswith("dial: ") and err.count("\n") == 1


def test_import_reads_stdin_with_a_dash():
    code, out, _ = dial("history", "import", "-", stdin=json.dumps(v1_file()))
    assert code == 0 and len(imported_ids(out)) == 1


# -- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hello", "hello"),
        ("  a: b/c  \nnext", "a_ b_c"),
        ("\n\n  ends with dots...", "ends with dots"),
        ("tab\there", "tab_here"),
        ("", "New conversation"),
        ("...", "New conversation"),
    ],
)
def test_names_follow_dial_chats_prepare_entity_name(text, name):
    assert names.prepare_name(text) == name
    assert names.is_valid_name(name)


def test_model_ids_with_double_underscore_are_encoded_in_keys():
    key = names.conversation_key("gpt-4o__2025", "my chat")
    assert key == "gpt-4o%5F%5F2025__my chat"
    assert names.parse_key(key) == ("gpt-4o__2025", "my chat")
    assert names.encode_path("dial/" + key) == "dial/gpt-4o%255F%255F2025__my%20chat"
    assert names.numbered("x" * 160, 2) == "x" * 156 + " (2)"
