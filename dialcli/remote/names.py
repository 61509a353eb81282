"""DIAL Chat's naming rules for stored conversations.

Followed from epam/ai-dial-chat: ``apps/chat/src/utils/app/common.ts``
(``prepareEntityName``, ``isEntityNameValid``, ``MAX_ENTITY_LENGTH`` 160, trailing dots
trimmed), ``apps/chat/src/utils/app/file.ts`` (``notAllowedSymbols`` ``:;,=/{}%&\\"``,
line breaks, tabs and control characters) and ``apps/chat/src/utils/server/api.ts``
(the key ``{modelId}__{name}``, a ``__`` inside a model id written ``%5F%5F``).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

MAX_NAME_LENGTH = 160
DEFAULT_NAME = "New conversation"  # DIAL Chat's DEFAULT_CONVERSATION_NAME
KEY_SEPARATOR = "__"
ENCODED_SEPARATOR = "%5F%5F"
NOT_ALLOWED = ':;,=/{}%&\\"'
_NOT_ALLOWED_RE = re.compile("[" + re.escape(NOT_ALLOWED) + r"]|\r\n|\n|\r|\t|[\x00-\x1f]")


def is_valid_name(name: str) -> bool:
    """DIAL Chat's ``isEntityNameValid``: no forbidden symbol, no trailing dot, 1-160 chars."""
    trimmed = name.strip()
    return (
        not _NOT_ALLOWED_RE.search(trimmed)
        and not trimmed.endswith(".")
        and 1 <= len(trimmed) <= MAX_NAME_LENGTH
        and trimmed == name
    )


def prepare_name(text: str) -> str:
    """A valid name from any text, as DIAL Chat's ``prepareEntityName`` makes one.

    The first non-empty line, forbidden symbols replaced by ``_``, at most 160
    characters, trailing dots and whitespace trimmed; DEFAULT_NAME if nothing is left.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cleaned = (_NOT_ALLOWED_RE.sub("_", line).strip() for line in lines)
    name = next((line for line in cleaned if line), "")
    name = name[:MAX_NAME_LENGTH].rstrip(". \t\r\n")
    return name or DEFAULT_NAME


def numbered(name: str, n: int) -> str:
    """``name (n)``, shortened so that the result is still a valid name."""
    suffix = f" ({n})"
    return name[: MAX_NAME_LENGTH - len(suffix)].rstrip(". \t") + suffix


def encode_model_id(model: str) -> str:
    """A model id as it appears in a key: ``a__b`` becomes ``a%5F%5Fb`` (``encodeModelId``)."""
    return ENCODED_SEPARATOR.join(
        quote(part, safe="/:@&=+$,;!~*'()#?") for part in model.split(KEY_SEPARATOR)
    )


def decode_model_id(text: str) -> str:
    return KEY_SEPARATOR.join(unquote(part) for part in text.split(ENCODED_SEPARATOR))


def conversation_key(model: str, name: str) -> str:
    """The last path segment DIAL Chat gives a conversation: ``{modelId}__{name}``."""
    return f"{encode_model_id(model)}{KEY_SEPARATOR}{name}"


def parse_key(key: str) -> tuple[str, str]:
    """(model id, name) from a key; a key without ``__`` is a name without a model."""
    model, sep, name = key.partition(KEY_SEPARATOR)
    if not sep:
        return "", key
    return decode_model_id(model), name


def encode_path(path: str) -> str:
    """Each segment percent-encoded, as DIAL Core parses resource urls."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


def decode_path(path: str) -> str:
    return "/".join(unquote(segment) for segment in path.split("/"))
