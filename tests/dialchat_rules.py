"""DIAL Chat's import rules, written out in Python, to check files we export.

Each rule names its source in epam/ai-dial-chat (or epam/ai-dial-core for what Core
checks when the conversation is stored):

- ``apps/chat/src/utils/app/import-export.ts`` ``cleanData``, ``isExportFormatV5``;
- ``apps/chat/src/utils/app/clean.ts`` ``cleanConversation`` (the defaults it would
  put in place of a missing or falsy field, and the ``files/`` prefix it adds to
  attachment urls that lack one);
- ``libs/shared/src/types/chat.ts`` (``Conversation``, ``Message``, ``Attachment``,
  ``Stage``, ``MessageSettings``, ``LikeState``, ``FolderInterface``);
- ``apps/chat/src/utils/app/common.ts`` ``isEntityNameValid`` and
  ``conversation-api-storage.ts`` ``getImportPreparedConversations`` (names are
  stripped of ``notAllowedSymbols`` on import: ours must have none);
- ai-dial-core ``server/.../data/Conversation.java`` (required properties).
"""

from __future__ import annotations

import re
from typing import Any

NOT_ALLOWED = re.compile("[" + re.escape(':;,=/{}%&\\"') + r"]|\r\n|\n|\r|\t|[\x00-\x1f]")
MAX_ENTITY_LENGTH = 160
ROLES = {"assistant", "user", "system"}
STAGE_STATUS = {"completed", "failed", None}
LIKES = {-1, 0, 1}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def name_problems(name: Any) -> list[str]:
    if not isinstance(name, str):
        return ["name is not a string"]
    trimmed = name.strip()
    out = []
    if NOT_ALLOWED.search(name):
        out.append(f"name {name!r} has a symbol DIAL Chat strips (notAllowedSymbols)")
    if trimmed.endswith("."):
        out.append(f"name {name!r} ends with a dot")
    if not 1 <= len(trimmed) <= MAX_ENTITY_LENGTH:
        out.append(f"name {name!r} is not 1-{MAX_ENTITY_LENGTH} characters")
    return out


def attachment_problems(att: Any, where: str) -> list[str]:
    if not isinstance(att, dict):
        return [f"{where} is not an object"]
    out = []
    if not isinstance(att.get("type"), str) or not isinstance(att.get("title"), str):
        out.append(f"{where}: type and title must be strings")
    for key in ("data", "url", "reference_url", "reference_type"):
        if key in att and not isinstance(att[key], str):
            out.append(f"{where}.{key} is not a string")
    url = att.get("url")
    if isinstance(url, str) and not url.startswith(("files", "http", "//")):
        out.append(f"{where}.url {url!r} would be rewritten to files/… by cleanConversation")
    return out


def message_problems(msg: Any, where: str) -> list[str]:
    if not isinstance(msg, dict):
        return [f"{where} is not an object"]
    out = []
    if msg.get("role") not in ROLES:
        out.append(f"{where}.role {msg.get('role')!r} is not a Role")
    if not isinstance(msg.get("content"), str):
        out.append(f"{where}.content is not a string")
    model = msg.get("model")
    if model is not None and not (isinstance(model, dict) and isinstance(model.get("id"), str)):
        out.append(f"{where}.model is not {{id: string}}")
    settings = msg.get("settings")
    if settings is not None and not (
        isinstance(settings, dict)
        and isinstance(settings.get("prompt"), str)
        and _is_number(settings.get("temperature"))
        and _str_list(settings.get("selectedAddons"))
    ):
        out.append(f"{where}.settings is not MessageSettings")
    if "like" in msg and msg["like"] not in LIKES:
        out.append(f"{where}.like is not a LikeState")
    for key in ("responseId", "errorMessage"):
        if key in msg and not isinstance(msg[key], str):
            out.append(f"{where}.{key} is not a string")
    custom = msg.get("custom_content")
    if custom is not None:
        if not isinstance(custom, dict):
            return [*out, f"{where}.custom_content is not an object"]
        for i, att in enumerate(custom.get("attachments") or []):
            out += attachment_problems(att, f"{where}.custom_content.attachments[{i}]")
        for i, stage in enumerate(custom.get("stages") or []):
            ok = (
                isinstance(stage, dict)
                and _is_number(stage.get("index"))
                and isinstance(stage.get("name"), str)
                and stage.get("status") in STAGE_STATUS
            )
            if not ok:
                out.append(f"{where}.custom_content.stages[{i}] is not a Stage")
    return out


def conversation_problems(conv: Any, where: str, folder_ids: set[str]) -> list[str]:
    if not isinstance(conv, dict):
        return [f"{where} is not an object"]
    out = []
    # cleanConversation: a falsy value here would be replaced by a default.
    for key in ("id", "name", "folderId", "lastActivityDate"):
        if not conv.get(key):
            out.append(f"{where}.{key} is missing: cleanConversation would invent one")
    for key in ("id", "name", "folderId", "prompt"):
        if not isinstance(conv.get(key), str):
            out.append(f"{where}.{key} is not a string (Conversation.java requires it)")
    model = conv.get("model")
    if not (isinstance(model, dict) and isinstance(model.get("id"), str)):
        out.append(f"{where}.model is not {{id: string}}")
    if not _is_number(conv.get("temperature")):
        out.append(f"{where}.temperature is not a number")
    if not _str_list(conv.get("selectedAddons")):
        out.append(f"{where}.selectedAddons is not a string list")
    if not _is_number(conv.get("lastActivityDate")):
        out.append(f"{where}.lastActivityDate is not epoch ms")
    for key in ("createdAt", "updatedAt"):
        if key in conv and not _is_number(conv[key]):
            out.append(f"{where}.{key} is not epoch ms")
    if conv.get("folderId") not in folder_ids:
        out.append(f"{where}.folderId is not one of the file's folders (its path would be lost)")
    out += name_problems(conv.get("name"))
    messages = conv.get("messages")
    if not isinstance(messages, list):
        return [*out, f"{where}.messages is not a list"]
    for i, msg in enumerate(messages):
        out += message_problems(msg, f"{where}.messages[{i}]")
    return out


def export_file_problems(data: Any) -> list[str]:
    """Everything DIAL Chat's import (or Core, when it stores the result) would change
    or refuse in ``data``; empty when the file imports as it is."""
    if not isinstance(data, dict) or data.get("version") != 5:
        return ["not ExportFormatV5 ({version: 5, …})"]
    out = []
    if not isinstance(data.get("history"), list):
        return ["history is not a list"]
    folders = data.get("folders")
    if not isinstance(folders, list):
        return ["folders is not a list"]
    if not isinstance(data.get("prompts", []), list):
        out.append("prompts is not a list")
    folder_ids: set[str] = set()
    for i, folder in enumerate(folders):
        ok = isinstance(folder, dict) and all(
            isinstance(folder.get(k), str) for k in ("id", "name", "folderId")
        )
        if not ok or folder.get("type") != "chat":
            out.append(f"folders[{i}] is not a chat FolderInterface")
            continue
        folder_ids.add(folder["id"])
        out += name_problems(folder["name"])
    ids = [c.get("id") for c in data["history"] if isinstance(c, dict)]
    if len(ids) != len(set(ids)):
        out.append("two conversations share an id (one would replace the other)")
    for i, conv in enumerate(data["history"]):
        out += conversation_problems(conv, f"history[{i}]", folder_ids)
    return out
