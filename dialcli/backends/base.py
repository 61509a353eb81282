"""The backend contract both implementations honour, and the values they exchange."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from dialcli.errors import ServerError


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
        caps = data.get("capabilities") or data.get("features") or {}
        return cls(
            id=str(data.get("id", "")),
            display_name=str(data.get("display_name") or data.get("model") or ""),
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

    # -- DIAL's deployment features and limits (issue 17), once for both backends ------

    @abstractmethod
    def _get_json(self, path: str, model: str | None = None) -> Any:
        """GET ``{url}/{path}``; the JSON as the server wrote it (errors mapped)."""

    @abstractmethod
    def _post_json(self, path: str, body: Any, model: str | None = None) -> Any:
        """POST a JSON body to ``{url}/{path}``; the JSON reply (errors mapped)."""

    def deployment_limits(self, deployment_id: str) -> dict[str, Any]:
        """``GET /v1/deployments/{id}/limits``: the key's ``LimitStats`` for it."""
        path = f"v1/deployments/{quote(deployment_id, safe='/')}/limits"
        data = self._get_json(path, deployment_id)
        if not isinstance(data, dict):
            raise ServerError(f"unexpected reply from /{path}: not a JSON object")
        return data

    def tokenize(self, deployment_id: str, inputs: list[dict[str, Any]]) -> list[Any]:
        """``POST /v1/deployments/{id}/tokenize``: one output per input, as sent back."""
        path = f"v1/deployments/{quote(deployment_id, safe='/')}/tokenize"
        data = self._post_json(path, {"inputs": inputs}, deployment_id)
        outputs = data.get("outputs") if isinstance(data, dict) else None
        if not isinstance(outputs, list):
            raise ServerError(f"unexpected reply from /{path}: no 'outputs' list")
        return outputs

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
