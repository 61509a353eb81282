"""A conversation in memory: an id, a system prompt and role-based messages.

Pure data with ``to_dict``/``from_dict``; files are ``store.py``'s job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = 1


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


def utc_now() -> str:
    """UTC ISO 8601 with milliseconds, sortable as text."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# A message's content is text, or (OpenAI multimodal form, written by other tools or by
# import) a list of parts such as {"type": "text", "text": ...}. Either is kept and sent
# exactly as it is; only what is shown is reduced to text.
Content = str | list[Any]


@dataclass
class Message:
    role: Role
    content: Content
    usage: dict[str, Any] | None = None
    # Any JSON value read from a file is kept as it is (never rewritten); code that looks
    # inside uses ``custom`` below, which is a dict or None.
    custom_content: dict[str, Any] | None = None
    interrupted: bool = False
    model: str | None = None
    # An answer's facts (issue 17): when it was saved, the model as the server named it
    # (may differ from the deployment in ``model``), and its latency in milliseconds:
    # {"first_byte": ..., "total": ...}.
    created: str | None = None
    response_model: str | None = None
    latency_ms: dict[str, Any] | None = None
    finish_reason: str | None = None  # of an answer: stop, length, content_filter, ...
    response_id: str | None = None  # the completion's id; "responseId" as DIAL Chat names it
    refusal: str | None = None  # why the model would not answer, when it said so
    # Fields this version does not know (e.g. DIAL Chat's ``like``, ``settings``):
    # kept and written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The content as shown and searched: the text parts of a list, joined."""
        return content_text(self.content)

    @property
    def custom(self) -> dict[str, Any] | None:
        """``custom_content`` when it is an object (a foreign file may hold anything)."""
        return self.custom_content if isinstance(self.custom_content, dict) else None

    @property
    def unanswered(self) -> bool:
        """An answer stopped (Ctrl-C in the chat) before any of it arrived."""
        return (
            self.role is Role.ASSISTANT
            and self.interrupted
            and not self.content
            and not self.custom_content
        )

    def to_request(self) -> dict[str, Any]:
        """The message as DIAL expects it in ``messages``.

        Of ``custom_content`` only what DIAL Chat sends back (apps/chat
        ``utils/server/chat.ts``, ``getMessageCustomContent``): the ``state``, and a
        user message's ``attachments``. Stages are read-only; an interrupted answer's
        stages (``status: null``) make aidial-sdk applications answer 400.
        """
        out: dict[str, Any] = {"role": str(self.role), "content": self.content}
        sent = request_custom_content(self.role, self.custom_content)
        if sent:
            out["custom_content"] = sent
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {**self.extra, "role": str(self.role), "content": self.content}
        if self.usage is not None:
            out["usage"] = self.usage
        if self.custom_content:
            out["custom_content"] = self.custom_content
        if self.interrupted:
            out["interrupted"] = True
        if self.model:
            out["model"] = self.model
        if self.created:
            out["created"] = self.created
        if self.response_model:
            out["response_model"] = self.response_model
        if self.latency_ms:
            out["latency_ms"] = self.latency_ms
        if self.finish_reason:
            out["finish_reason"] = self.finish_reason
        if self.response_id:
            out["responseId"] = self.response_id
        if self.refusal:
            out["refusal"] = self.refusal
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        return cls(
            role=Role(data["role"]),
            content=_content(data.get("content")),
            usage=data.get("usage"),
            custom_content=data.get("custom_content"),
            interrupted=bool(data.get("interrupted", False)),
            model=data.get("model"),
            created=_str_or_none(data.get("created")),
            response_model=_str_or_none(data.get("response_model")),
            latency_ms=data.get("latency_ms") if isinstance(data.get("latency_ms"), dict) else None,
            finish_reason=data.get("finish_reason"),
            response_id=data.get("responseId"),
            refusal=data.get("refusal"),
            extra={k: v for k, v in data.items() if k not in _MESSAGE_FIELDS},
        )


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_MESSAGE_FIELDS = frozenset(
    {
        "role",
        "content",
        "usage",
        "custom_content",
        "interrupted",
        "model",
        "created",
        "response_model",
        "latency_ms",
        "finish_reason",
        "responseId",
        "refusal",
    }
)


@dataclass
class Conversation:
    model: str
    system: str | None = None
    messages: list[Message] = field(default_factory=list)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: str = field(default_factory=utc_now)
    updated: str = ""
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.updated:
            self.updated = self.created

    def add(self, role: Role, content: Content, **kwargs: Any) -> Message:
        message = Message(role, content, **kwargs)
        self.messages.append(message)
        if not self.title and role is Role.USER:
            self.title = make_title(message.text)
        return message

    def request_messages(self, upto: int | None = None) -> list[dict[str, Any]]:
        """The history (``messages[:upto]``) as sent to DIAL, system prompt first.

        A question whose answer was stopped before any of it arrived stays in the file
        (so /retry can ask it again) but is left out here, with its empty answer: the
        model never answered it, and some models refuse an empty assistant message.
        """
        out = [{"role": "system", "content": self.system}] if self.system else []
        messages = self.messages[:upto]
        for index, message in enumerate(messages):
            following = messages[index + 1] if index + 1 < len(messages) else None
            if message.unanswered or (following is not None and following.unanswered):
                continue
            out.append(message.to_request())
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.extra,
            "schema": SCHEMA_VERSION,
            "id": self.id,
            "created": self.created,
            "updated": self.updated,
            "title": self.title,
            "model": self.model,
            "system": self.system,
            "messages": [m.to_dict() for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        """Build from a stored document; unknown fields are kept, not dropped."""
        known = {"schema", "id", "created", "updated", "title", "model", "system", "messages"}
        return cls(
            id=str(data["id"]),
            model=str(data.get("model") or ""),
            system=data.get("system"),
            messages=[Message.from_dict(m) for m in data.get("messages", [])],
            created=str(data.get("created") or utc_now()),
            updated=str(data.get("updated") or ""),
            title=str(data.get("title") or ""),
            extra={k: v for k, v in data.items() if k not in known},
        )


def request_custom_content(role: Role, custom: dict[str, Any] | None) -> dict[str, Any]:
    """The part of a stored ``custom_content`` that goes back to DIAL."""
    if not isinstance(custom, dict):
        return {}
    sent: dict[str, Any] = {}
    if role is not Role.ASSISTANT and custom.get("attachments"):
        sent["attachments"] = custom["attachments"]
    if custom.get("state") is not None:
        sent["state"] = custom["state"]
    return sent


def make_title(text: str, limit: int = 60) -> str:
    """First line of the first question, shortened: what `history list` shows."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def content_text(content: Any) -> str:
    """Text of a message's content: a string as is, the text parts of a list joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def _content(value: Any) -> Content:
    # Missing or null is an empty text; anything else stays exactly as it was read.
    return "" if value is None else value  # type: ignore[no-any-return]
