"""Text helpers shared by the deployments: exact tokenising and prompt extraction."""

from __future__ import annotations

import re
from typing import Any

from aidial_sdk.chat_completion import Message, Request

# Every token is optional leading whitespace plus a run of non-space, or trailing
# whitespace alone, so "".join(tokens) == text byte for byte (emoji, CJK, combining
# marks and odd whitespace survive because nothing is ever normalised or dropped).
_TOKEN = re.compile(r"\s*\S+|\s+")


def tokenize(text: str) -> list[str]:
    """Split ``text`` into word-ish tokens whose concatenation is exactly ``text``."""
    return _TOKEN.findall(text)


def message_text(message: Message | dict[str, Any]) -> str:
    """The text of a message: a string content, or its text parts joined."""
    content = message.get("content") if isinstance(message, dict) else message.content
    if isinstance(content, str):
        return content
    if not content:
        return ""
    texts = []
    for part in content:
        if isinstance(part, dict):
            if part.get("type") == "text":
                texts.append(part.get("text") or "")
        elif getattr(part, "type", None) == "text":
            texts.append(getattr(part, "text", "") or "")
    return "".join(texts)


def last_user_message(request: Request) -> Message | None:
    """The last message with role ``user``, if any."""
    for message in reversed(request.messages):
        if message.role == "user":
            return message
    return None


def last_user_text(request: Request) -> str:
    """Text of the last user message ("" when there is none)."""
    message = last_user_message(request)
    return message_text(message) if message is not None else ""


def prompt_tokens(request: Request) -> int:
    """A rough prompt size: whitespace-separated words over all messages."""
    return sum(len(message_text(m).split()) for m in request.messages)
