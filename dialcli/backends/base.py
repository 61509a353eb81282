"""The backend contract both implementations honour, and the values they exchange."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

# What DIAL Core leaves unescaped in a path segment (UrlUtil.encodePath: Guava's
# urlPathSegmentEscaper): unreserved characters, sub-delims, ':' and '@'.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    custom_fields: dict[str, Any] | None = None

    def body(self, *, stream: bool) -> dict[str, Any]:
        """The JSON body of a chat completion request."""
        body: dict[str, Any] = {"messages": self.messages, "stream": stream}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.custom_fields:
            body["custom_fields"] = self.custom_fields
        return body


@dataclass(frozen=True)
class Delta:
    """One piece of a streamed answer. The last one carries finish_reason and usage."""

    text: str = ""
    custom_content: dict[str, Any] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None


@dataclass
class Reply:
    """A whole answer (from ``complete``, or assembled from a stream)."""

    model: str
    content: str = ""
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    custom_content: dict[str, Any] | None = None


@dataclass(frozen=True)
class ModelInfo:
    id: str
    display_name: str = ""
    owner: str = ""
    kind: str = "model"
    capabilities: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        """From DIAL's ModelData / deployment object; missing fields stay empty."""
        from dialcli.localized import localized

        caps = data.get("capabilities") or data.get("features") or {}
        return cls(
            id=str(data.get("id", "")),
            # Core's display_name is a LocalizedValue: a string or {locale: text}.
            display_name=localized(data.get("display_name")) or str(data.get("model") or ""),
            owner=str(data.get("owner") or ""),
            kind=str(data.get("object") or "model"),
            capabilities=caps if isinstance(caps, dict) else {},
            raw=data,
        )


class Backend(ABC):
    """Talks to DIAL. Raises only ``DialError`` subclasses."""

    name: str = ""

    @abstractmethod
    def stream(self, request: ChatRequest) -> Iterator[Delta]:
        """Yield text deltas as they arrive, then one with finish reason and usage."""

    @abstractmethod
    def complete(self, request: ChatRequest) -> Reply:
        """One non-streaming request."""

    @abstractmethod
    def list_models(self) -> list[ModelInfo]:
        """The deployments the key can use."""

    @abstractmethod
    def list_applications(self) -> list[ModelInfo]:
        """The applications the key can use (``/openai/applications``)."""

    @abstractmethod
    def deployment(self, deployment_id: str) -> dict[str, Any]:
        """One deployment's details (``/openai/deployments/{id}``)."""

    @abstractmethod
    def configuration_schema(self, deployment_id: str) -> dict[str, Any] | None:
        """The JSON schema of a deployment's configuration, or None if it has none."""

    @abstractmethod
    def bucket(self) -> str:
        """The user's bucket in DIAL file storage."""

    @abstractmethod
    def upload_file(self, path: str, data: bytes, content_type: str) -> str:
        """Store ``data`` at ``path`` (``{bucket}/…``); return its DIAL url (``files/…``)."""

    @abstractmethod
    def download_file(self, url: str) -> bytes:
        """The bytes of a file stored in DIAL (``files/{bucket}/{path}``)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def files_url(path: str) -> str:
    """The DIAL url of ``{bucket}/{path}`` in file storage, each segment percent-encoded:
    Core parses every segment of an attachment url as a URI (400 for ``My Report #1``)."""
    return "files/" + quote(path, safe="/" + _SEGMENT_SAFE)


def encoded_url(url: str) -> str:
    """A DIAL url from a server made safe to request: what is already escaped stays,
    spaces, '#', '?' and the like are escaped (a raw '#' would cut the path short)."""
    return quote(url, safe="/%" + _SEGMENT_SAFE)


def merge_custom_content(into: dict[str, Any], delta: dict[str, Any]) -> None:
    """Merge a streamed ``custom_content`` delta the way DIAL Chat does.

    Stages and attachments arrive as partial updates keyed by ``index``: name first,
    content appended, status later. ``state`` replaces.
    """
    for key, value in delta.items():
        if key in ("stages", "attachments") and isinstance(value, list):
            items: list[dict[str, Any]] = into.setdefault(key, [])
            for part in value:
                index = part.get("index", len(items))
                while len(items) <= index:
                    items.append({"index": len(items)})
                target = items[index]
                for field_name, field_value in part.items():
                    if field_name == "content" and isinstance(field_value, str):
                        target["content"] = target.get("content", "") + field_value
                    elif field_value is not None or field_name not in target:
                        target[field_name] = field_value
        else:
            into[key] = value
