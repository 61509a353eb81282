"""DIAL Chat's conversation document and export file, mapped to and from ours.

Sources (epam/ai-dial-chat): the types in ``libs/shared/src/types/chat.ts``
(``Conversation``, ``Message``, ``MessageSettings``, ``FolderInterface``), the export
formats in ``apps/chat/src/types/import-export.ts`` and ``cleanData`` /
``isExportFormatV1..V5`` in ``apps/chat/src/utils/app/import-export.ts``, and
``cleanConversation`` in ``apps/chat/src/utils/app/clean.ts``. DIAL Core checks the
stored document against ``server/.../data/Conversation.java`` (epam/ai-dial-core):
``id``, ``folderId``, ``name``, ``prompt``, ``temperature``, ``model.id`` and
``messages[].role/content`` are required.

Pure: no I/O. What DIAL Chat keeps that we do not model (temperature, addons,
replay, a message's ``like`` or ``settings``…) rides along in ``extra`` and is
written back unchanged.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from dialcli.conversation import Conversation, Message, Role, utc_now
from dialcli.remote import names

EXPORT_VERSION = 5
DEFAULT_MODEL = "gpt-35-turbo"  # cleanConversation's OpenAIEntityModelID.GPT_3_5_AZ
DEFAULT_TEMPERATURE = 1  # DIAL Chat's DEFAULT_TEMPERATURE
LOCAL_ROOT = "conversations/local"  # DIAL Chat rebuilds ids from `folders` on import
DEFAULT_FOLDER = "dial"
OUR_FORMAT = "dial-cli/conversations"
# Our local id, carried in DIAL Chat documents: an export imported back is recognised
# (DIAL Chat's cleanConversation drops unknown top-level fields, so it never sees it).
LOCAL_ID = "dialCliId"

# DIAL Chat state about the browser session, not the conversation: never stored.
_TRANSIENT = frozenset(
    {
        "isMessageStreaming",
        "status",
        "isShared",
        "sharedWithMe",
        "isPublished",
        "publishedWithMe",
        "publicationInfo",
        "permissions",
    }
)
_MAPPED = frozenset(
    {"id", "name", "folderId", "model", "prompt", "messages", LOCAL_ID}
    | {"lastActivityDate", "createdAt", "updatedAt"}
)
_ROLES = {"user", "assistant", "system"}


class BadEntry(ValueError):
    """One conversation of an import file that cannot be read; the message names it."""


@dataclass
class Imported:
    """A conversation read from a file, with the id it had there (None: it had none)."""

    conversation: Conversation
    source_id: str
    label: str


# -- time --------------------------------------------------------------------------------


def to_ms(timestamp: str) -> int:
    """Our UTC ISO 8601 timestamp as epoch milliseconds (DIAL Chat's dates)."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return int(datetime.now(UTC).timestamp() * 1000)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_ms(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    try:
        moment = datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- ours -> DIAL Chat ----------------------------------------------------------------------


def text_of(content: Any) -> str:
    """DIAL Chat's ``content`` is a string; a list of parts keeps its text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _settings(conv: Conversation) -> dict[str, Any]:
    kept = conv.extra.get("dialchat") or {}
    return {
        "prompt": conv.system or "",
        "temperature": kept.get("temperature", DEFAULT_TEMPERATURE),
        "selectedAddons": kept.get("selectedAddons", []),
    }


def message_to_dialchat(message: Message, conv: Conversation) -> dict[str, Any]:
    out = message.to_dict()
    out["content"] = text_of(message.content)
    model = message.model or (conv.model if message.role is Role.ASSISTANT else None)
    if model:
        out["model"] = {"id": model}
    if message.role is Role.ASSISTANT and "settings" not in out:
        # DIAL Chat records the settings an answer was given with on the answer.
        out["settings"] = _settings(conv)
    return out


def to_dialchat(conv: Conversation, folder_id: str, name: str) -> dict[str, Any]:
    """The conversation as DIAL Chat stores and exports it, in ``folder_id`` as ``name``."""
    kept = conv.extra.get("dialchat") or {}
    doc: dict[str, Any] = {
        **kept,
        "id": f"{folder_id}/{names.conversation_key(conv.model, name)}",
        "name": name,
        "folderId": folder_id,
        "model": {"id": conv.model},
        "prompt": conv.system or "",
        "temperature": kept.get("temperature", DEFAULT_TEMPERATURE),
        "selectedAddons": kept.get("selectedAddons", []),
        "messages": [message_to_dialchat(m, conv) for m in conv.messages],
        "lastActivityDate": to_ms(conv.updated),
        "createdAt": to_ms(conv.created),
        "updatedAt": to_ms(conv.updated),
        LOCAL_ID: conv.id,
    }
    return doc


def unique_names(convs: list[Conversation]) -> list[str]:
    """A valid DIAL Chat name per conversation, distinct per model in one folder."""
    taken: set[str] = set()
    out = []
    for conv in convs:
        base = names.prepare_name(conv.title or _first_question(conv))
        name, n = base, 1
        while names.conversation_key(conv.model, name) in taken:
            n += 1
            name = names.numbered(base, n)
        taken.add(names.conversation_key(conv.model, name))
        out.append(name)
    return out


def _first_question(conv: Conversation) -> str:
    return next((text_of(m.content) for m in conv.messages if m.role is Role.USER), "")


def export_file(convs: list[Conversation], folder: str = DEFAULT_FOLDER) -> dict[str, Any]:
    """A version-5 export file, as DIAL Chat's "Export" writes it."""
    folder_id = f"{LOCAL_ROOT}/{folder}"
    history = [
        to_dialchat(c, folder_id, n) for c, n in zip(convs, unique_names(convs), strict=True)
    ]
    folders = [{"id": folder_id, "name": folder, "folderId": LOCAL_ROOT, "type": "chat"}]
    return {"version": EXPORT_VERSION, "history": history, "folders": folders, "prompts": []}


def our_file(convs: list[Conversation]) -> dict[str, Any]:
    """``--format json``: our own documents, whole."""
    return {"format": OUR_FORMAT, "version": 1, "conversations": [c.to_dict() for c in convs]}


# -- DIAL Chat -> ours ----------------------------------------------------------------------


def from_dialchat(doc: dict[str, Any], label: str) -> Conversation:
    """A new local conversation from a DIAL Chat document; BadEntry names what is wrong."""
    model = _model_id(doc.get("model"), f"{label}: model") or DEFAULT_MODEL
    raw_messages = doc.get("messages") or []
    if not isinstance(raw_messages, list):
        raise BadEntry(f"{label}: messages is not a list")
    name = doc.get("name")
    if name is not None and not isinstance(name, str):
        raise BadEntry(f"{label}: name is not a string")
    prompt = doc.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise BadEntry(f"{label}: prompt is not a string")
    kept = {k: v for k, v in doc.items() if k not in _MAPPED and k not in _TRANSIENT}
    conv = Conversation(model=model, system=prompt or None, title=name or names.DEFAULT_NAME)
    if kept:
        conv.extra["dialchat"] = kept
    conv.messages = [
        _message_from_dialchat(m, f"{label}: messages[{i}]", conv)
        for i, m in enumerate(raw_messages)
    ]
    created = from_ms(doc.get("createdAt")) or from_ms(doc.get("lastActivityDate"))
    updated = from_ms(doc.get("updatedAt")) or from_ms(doc.get("lastActivityDate"))
    conv.created = created or updated or utc_now()
    conv.updated = updated or conv.created
    return conv


def _model_id(value: Any, label: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise BadEntry(f"{label} is not an object with a string id")
    return str(value["id"])


def _message_from_dialchat(data: Any, label: str, conv: Conversation) -> Message:
    if not isinstance(data, dict):
        raise BadEntry(f"{label} is not an object")
    role = data.get("role")
    if role not in _ROLES:
        raise BadEntry(f"{label}: role {role!r} is not user, assistant or system")
    content = data.get("content", "")
    if not isinstance(content, str):
        raise BadEntry(f"{label}: content is not a string")
    custom = data.get("custom_content")
    if custom is not None and not isinstance(custom, dict):
        raise BadEntry(f"{label}: custom_content is not an object")
    ours = {k: v for k, v in data.items() if k not in ("model", "settings")}
    model = _model_id(data.get("model"), f"{label}: model")
    if model:
        ours["model"] = model
    settings = data.get("settings")
    if settings is not None and not (role == "assistant" and settings == _settings(conv)):
        ours["settings"] = settings  # only what export would not write back by itself
    try:
        return Message.from_dict(ours)
    except (KeyError, ValueError, TypeError) as err:
        raise BadEntry(f"{label}: {err}") from None


# -- import files ---------------------------------------------------------------------------


def detect_version(data: Any) -> int | str | None:
    """The export format as DIAL Chat's ``isExportFormatV1..V5`` tell it; ours as "ours"."""
    if isinstance(data, list):
        return 1
    if not isinstance(data, dict):
        return None
    if data.get("format") == OUR_FORMAT:
        return "ours"
    if "version" not in data:
        return 2 if "folders" in data and "history" in data else None
    version = data["version"]
    return version if version in (3, 4, 5) and not isinstance(version, bool) else None


def read_export(data: Any) -> tuple[list[Imported], list[str]]:
    """The conversations of an export file (any version DIAL Chat reads, or ours), and
    one problem line per entry that could not be read. A file of no known format is a
    BadEntry."""
    version = detect_version(data)
    if version is None:
        raise BadEntry(
            "not a DIAL Chat export (versions 1-5) or a dial json export: "
            "expected a list or an object with 'history' and 'folders'"
        )
    if version == "ours":
        return _read_ours(data)
    history = data if version == 1 else data.get("history")
    if history is None and version == 2:
        history = []
    if not isinstance(history, list):
        raise BadEntry("'history' is not a list")
    out: list[Imported] = []
    problems: list[str] = []
    for index, entry in enumerate(history):
        label = _label(index, entry)
        try:
            if not isinstance(entry, dict):
                raise BadEntry(f"{label} is not an object")
            conv = from_dialchat(entry, label)
        except BadEntry as err:
            problems.append(str(err))
            continue
        if _is_uuid(entry.get(LOCAL_ID)):
            conv.id = str(entry[LOCAL_ID])  # one of ours coming back: the same conversation
            out.append(Imported(conv, conv.id, label))
        else:
            out.append(Imported(conv, _source_id(entry), label))
    return out, problems


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _read_ours(data: dict[str, Any]) -> tuple[list[Imported], list[str]]:
    items = data.get("conversations")
    if not isinstance(items, list):
        raise BadEntry("'conversations' is not a list")
    out: list[Imported] = []
    problems: list[str] = []
    for index, entry in enumerate(items):
        label = _label(index, entry, key="title", what="conversations")
        try:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise BadEntry(f"{label} has no id")
            uuid.UUID(entry["id"])
            conv = Conversation.from_dict(entry)
        except BadEntry as err:
            problems.append(str(err))
            continue
        except (KeyError, ValueError, TypeError) as err:
            problems.append(f"{label}: {err}")
            continue
        out.append(Imported(conv, conv.id, label))
    return out, problems


def _label(index: int, entry: Any, key: str = "name", what: str = "history") -> str:
    name = entry.get(key) if isinstance(entry, dict) else None
    return f"{what}[{index}] {name!r}" if isinstance(name, str) else f"{what}[{index}]"


def _source_id(entry: dict[str, Any]) -> str:
    """The entry's id in DIAL Chat; without one, a digest of what it says (v1 files
    may lack ids, and cleanConversation would invent a fresh one on every import)."""
    value = entry.get("id")
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return f"dialchat:{value}"
    digest = hashlib.sha256(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"dialchat:sha256:{digest[:32]}"
