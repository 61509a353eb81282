"""The backend contract both implementations honour, and the values they exchange."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote

from dialcli.errors import DialError, NotFoundError, ServerError, UsageError

if TYPE_CHECKING:
    from dialcli.backends.model_info import ModelInfo


def quote_deployment(deployment_id: str) -> str:
    """A deployment id as a URL path: each segment quoted, never a '.' or '..' one.

    An id may contain '/' (applications/public/gpt-4o), but a dot segment would be
    resolved by the client or the server and take the request out of
    /openai/deployments/ (``-m ../../v1/bucket``, or a model in a conversation file).
    """
    segments = deployment_id.split("/")
    if any(s in (".", "..") for s in segments):
        raise UsageError(
            f"invalid deployment name {deployment_id!r}: '.' and '..' path segments are not allowed"
        )
    return quote(deployment_id, safe="/")


# What DIAL Core leaves unescaped in a path segment (UrlUtil.encodePath: Guava's
# urlPathSegmentEscaper): unreserved characters, sub-delims, ':' and '@'.
_SEGMENT_SAFE = "!$&'()*+,;=:@"


class ChatRequest(NamedTuple):
    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    custom_fields: dict[str, Any] | None = None
    # DIAL: the deployment may leave out old messages to fit; the answer's
    # statistics.discarded_messages names them.
    max_prompt_tokens: int | None = None
    # Sent as X-CONVERSATION-ID, as DIAL Chat does (Core logs it with the request).
    conversation_id: str | None = None

    def headers(self) -> dict[str, str]:
        """Extra request headers of a chat completion."""
        return {"X-CONVERSATION-ID": self.conversation_id} if self.conversation_id else {}

    def body(self, *, stream: bool) -> dict[str, Any]:
        """The JSON body of a chat completion request."""
        body: dict[str, Any] = {"messages": self.messages, "stream": stream}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        if self.custom_fields:
            body["custom_fields"] = self.custom_fields
        if self.max_prompt_tokens is not None:
            body["max_prompt_tokens"] = self.max_prompt_tokens
        return body


class Delta(NamedTuple):
    """One piece of a streamed answer. The last one carries finish_reason and usage."""

    text: str = ""
    custom_content: dict[str, Any] | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None  # the model as the server names it (may not be the deployment)
    statistics: dict[str, Any] | None = None  # usage_per_model, discarded_messages
    refusal: str | None = None  # OpenAI's delta.refusal: why the model would not answer
    response_id: str | None = None  # the completion's id


@dataclass
class Reply:
    """A whole answer (from ``complete``, or assembled from a stream)."""

    model: str
    content: str = ""
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    custom_content: dict[str, Any] | None = None
    response_model: str | None = None  # the chunk's or completion's ``model``
    statistics: dict[str, Any] | None = None
    latency_ms: dict[str, int] | None = None  # {"first_byte", "total"}, set by turn.py
    # What was sent (the request's messages), for character prices and dropped turns.
    sent: list[dict[str, Any]] | None = field(default=None, repr=False)
    refusal: str | None = None
    response_id: str | None = None  # the completion's id, saved as responseId


@dataclass
class OpenStream:
    """A streaming response whose headers are in and whose body is not yet read.

    ``reads`` yields, per network read (or per chunk, where the library hands chunks
    over one by one), the event-stream data that arrived: ``bytes`` payloads as sent,
    or chunks the library already decoded (``dict``). Transport failures come out of
    it as ``DialError``.
    """

    content_type: str | None  # None: the library did not let us see the response
    body: Callable[[], bytes]  # the (size-limited) body, for an error message
    reads: Iterator[list[Any]]
    close: Callable[[], None]


class Backend(ABC):
    """Talks to DIAL. Raises only ``DialError`` subclasses.

    The endpoint logic (what to request, what a reply must look like, how a stream
    is checked and parsed) lives here once; a backend supplies the primitives that
    move bytes: ``_get_json``, ``_post_json``, ``_open_stream``, and file storage.
    """

    # -- primitives each backend supplies (retried where the retry policy says) ----

    @abstractmethod
    def _get_json(self, path: str, *, model: str | None = None) -> Any:
        """GET ``{url}/{path}``; the JSON body as the server wrote it.

        ``model`` names the deployment the path is about, for the 404 message.
        """

    @abstractmethod
    def _post_json(self, request: ChatRequest) -> Any:
        """A non-streaming chat completion; the JSON body as the server wrote it."""

    @abstractmethod
    def _open_stream(self, request: ChatRequest) -> OpenStream:
        """A streaming chat completion, opened: a 2xx response with its body unread."""

    @abstractmethod
    def _send_json(self, path: str, body: Any, *, model: str | None = None) -> Any:
        """POST the JSON ``body`` to ``{url}/{path}``; the JSON reply as the server wrote it."""

    @abstractmethod
    def bucket(self) -> str:
        """The user's bucket in DIAL file storage."""

    @abstractmethod
    def upload_file(self, path: str, data: bytes, content_type: str) -> str:
        """Store ``data`` at ``path`` (``{bucket}/…``); return its DIAL url (``files/…``)."""

    @abstractmethod
    def download_file(self, url: str) -> bytes:
        """The bytes of a file stored in DIAL (``files/{bucket}/{path}``)."""

    # -- the contract, written once ------------------------------------------------

    def stream(self, request: ChatRequest) -> Iterator[Delta]:
        """Yield text deltas as they arrive, then one with finish reason and usage."""
        # replies imports this module's values: imported here, not at the top.
        from dialcli.backends.replies import deltas_from_reads, not_an_event_stream

        opened = self._open_stream(request)
        try:
            content_type = opened.content_type
            if content_type is not None and not content_type.startswith("text/event-stream"):
                raise not_an_event_stream(content_type, opened.body())
            yield from deltas_from_reads(opened.reads)
        finally:
            opened.close()

    def complete(self, request: ChatRequest) -> Reply:
        """One non-streaming request."""
        from dialcli.backends.replies import reply_from_completion

        data = self._post_json(request)
        if not isinstance(data, dict):
            raise ServerError("unexpected reply from the server: not a JSON object")
        return reply_from_completion(data, request.model)

    def list_models(self) -> list[ModelInfo]:
        """The deployments the key can use (``/openai/models``)."""
        from dialcli.backends.model_info import ModelInfo

        return [ModelInfo.from_dict(item) for item in self._list("openai/models")]

    def list_applications(self) -> list[ModelInfo]:
        """The applications the key can use (``/openai/applications``)."""
        from dialcli.backends.model_info import ModelInfo

        return [ModelInfo.from_dict(item) for item in self._list("openai/applications")]

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        """One deployment's details (``/openai/deployments/{id}``)."""
        quoted = quote_deployment(deployment_id)
        try:
            data = self._get_json(f"openai/deployments/{quoted}", model=deployment_id)
        except NotFoundError:
            # DIAL Core lists applications apart from model deployments.
            data = self._get_json(f"openai/applications/{quoted}", model=deployment_id)
        return data if isinstance(data, dict) else {}

    def configuration_schema(self, deployment_id: str) -> dict[str, Any] | None:
        """The JSON schema of a deployment's configuration, or None if it has none.

        Core answers 200 with an empty body for a deployment without a configuration
        endpoint (DeploymentFeatureController, requireEndpoint=false): no schema.
        """
        from dialcli.backends.replies import EmptyReply

        try:
            data = self._get_json(f"v1/deployments/{quote_deployment(deployment_id)}/configuration")
        except EmptyReply:
            return None
        except DialError as err:
            if err.status in (404, 405, 501):
                return None  # the deployment offers no configuration
            raise
        return data if isinstance(data, dict) else None

    def _list(self, path: str) -> list[dict[str, Any]]:
        data = self._get_json(path)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ServerError(f"unexpected reply from /{path}: no 'data' list")
        return [item for item in items if isinstance(item, dict)]

    def deployment_limits(self, deployment_id: str) -> dict[str, Any]:
        """``GET /v1/deployments/{id}/limits``: the key's ``LimitStats`` for it."""
        path = f"v1/deployments/{quote(deployment_id, safe='/')}/limits"
        data = self._get_json(path, model=deployment_id)
        if not isinstance(data, dict):
            raise ServerError(f"unexpected reply from /{path}: not a JSON object")
        return data

    def tokenize(self, deployment_id: str, inputs: list[dict[str, Any]]) -> list[Any]:
        """``POST /v1/deployments/{id}/tokenize``: one output per input, as sent back."""
        path = f"v1/deployments/{quote(deployment_id, safe='/')}/tokenize"
        data = self._send_json(path, {"inputs": inputs}, model=deployment_id)
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
                index = part.get("index")
                if index is None:
                    index = len(items)
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


def take_extras(reply: Reply, custom: dict[str, Any], delta: Delta) -> None:
    """What a delta carries beside text, into the reply being assembled (the sync turn and
    the async engine alike): custom content (merged into ``custom``), finish reason,
    usage, the model that answered, statistics (merged), refusal (appended), response id."""
    if delta.custom_content:
        merge_custom_content(custom, delta.custom_content)
    if delta.finish_reason:
        reply.finish_reason = delta.finish_reason
    if delta.usage:
        reply.usage = delta.usage
    if delta.model:
        reply.response_model = delta.model
    if delta.statistics:
        reply.statistics = {**(reply.statistics or {}), **delta.statistics}
    if delta.refusal:
        reply.refusal = (reply.refusal or "") + delta.refusal
    if delta.response_id:
        reply.response_id = delta.response_id
