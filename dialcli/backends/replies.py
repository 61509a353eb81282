"""Turning DIAL's replies into our values and messages, shared by both backends.

Both backends must show a user the same line for the same server reply, so the
wording lives here once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from dialcli.backends.base import Delta, Reply
from dialcli.errors import (
    DialError,
    IncompleteAnswerError,
    NetworkError,
    NotFoundError,
    ServerError,
    error_for_status,
)

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_MAX_SHOWN = 200


def one_line(text: str, limit: int = _MAX_SHOWN) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_message_from_body(body: bytes, content_type: str) -> str | None:
    """The server's own message from a DIAL error body, FastAPI detail, or HTML title."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return one_line(str(error["message"]))
        if isinstance(error, str):
            return one_line(error)
        if data.get("detail"):
            return one_line(str(data["detail"]))
        if data.get("message"):
            return one_line(str(data["message"]))
    if "html" in content_type or body.lstrip()[:1] == b"<":
        match = _TITLE.search(body)
        title = match.group(1).decode("utf-8", "replace") if match else ""
        return f"unexpected HTML page from the server{': ' + one_line(title) if title else ''}"
    text = body.decode("utf-8", "replace").strip()
    return one_line(text) if text else None


def http_error(
    status: int,
    server_message: str | None,
    *,
    model: str | None = None,
    retry_after: float | None = None,
    path: str = "",
) -> DialError:
    """The error for an HTTP status, worded the same for both backends.

    ``path``: the request's path, to spot a DIAL_URL that ends in /openai (the path
    then has /openai twice, and every deployment looks unknown).
    """
    message = server_message or "no details"
    if status == 404 and "/openai/openai/" in path:
        return NotFoundError(
            f"not found (HTTP 404) at {path}: the DIAL URL must be DIAL's base URL, "
            "without /openai at the end (check DIAL_URL or url in config.toml)",
            status=404,
        )
    if status == 404 and model is not None:
        # Core answers an unknown deployment with a short plain text or an empty body.
        said = f": {server_message}" if server_message else ""
        return NotFoundError(
            f"deployment {model!r} not found (HTTP 404{said}); "
            "run 'dial models' to see the deployments you can use",
            status=404,
        )
    return error_for_status(status, f"{message} (HTTP {status})", retry_after=retry_after)


def stream_error(error: Any) -> ServerError:
    """An ``error`` object that arrived inside an event stream."""
    if isinstance(error, dict):
        message = str(error.get("message") or error.get("display_message") or "unknown error")
    else:
        message = str(error)
    return ServerError(f"server error during the answer: {one_line(message)}")


def deltas_from_reads(reads: Iterable[list[Any]]) -> Iterator[Delta]:
    """The one parser of ``chat.completion.chunk`` streams: deltas as they arrive.

    Each item of ``reads`` is what one network read brought: event-stream payloads
    (``bytes``) or chunks already decoded (``dict``). ``[DONE]`` ends the stream; so
    does the end of ``reads``, which without a finish reason means the answer was cut
    short. (The async engine feeds a ``ChunkParser`` read by read the same way.)
    """
    parser = ChunkParser()
    for read in reads:
        yield from parser.feed(read)
        if parser.done:
            return
    parser.end()


class ChunkParser:
    """Deltas from a stream's reads, fed one read at a time (sync or async callers).

    The text of plain-text chunks in one read is joined into one Delta, so the writer
    makes one write and flush per read, not one per token.
    """

    def __init__(self) -> None:
        self.finished = False  # a finish_reason arrived
        self.done = False  # [DONE] arrived: nothing more is read
        self.answered = False  # any text, custom content or finish reason so far

    # One loop on purpose: it runs per chunk, and a helper call per chunk costs throughput.
    def feed(self, read: list[Any]) -> Iterator[Delta]:
        """The deltas in one read, as they come; an error chunk raises after the text
        before it was yielded."""
        texts: list[str] = []
        loads = orjson.loads
        for item in read:
            if item == b"[DONE]":
                self._last(texts)
                break
            chunk = item
            if type(item) is bytes:
                try:
                    chunk = loads(item)
                except orjson.JSONDecodeError:
                    chunk = None
            text = _text_only(chunk) if type(chunk) is dict else None
            if text is not None:  # the common case, read without building a Delta
                if text:
                    texts.append(text)
                    self.answered = True
                continue
            if texts:  # what came before this chunk is written first
                yield Delta(text="".join(texts))
                texts = []
            if not isinstance(chunk, dict):
                shown = item.decode("utf-8", "replace") if type(item) is bytes else repr(item)
                raise ServerError(f"malformed chunk in the event stream: {shown[:80]!r}")
            if chunk.get("error") is not None:
                raise stream_error(chunk["error"])
            delta = delta_from_chunk(chunk)
            if delta is not None:
                self.finished = self.finished or delta.finish_reason is not None
                self.answered = True
                yield delta
        if texts:
            yield Delta(text="".join(texts))

    def _last(self, texts: list[str]) -> None:
        """[DONE]: after an answer it ends it, finish reason or not; after nothing at all
        (only role chunks, or ``choices: []``) there is no answer to keep."""
        if not (texts or self.answered):
            raise ServerError("the server's answer was empty")
        self.done = True

    def end(self) -> None:
        """The reads ran out: without [DONE] or a finish reason, the answer was cut."""
        # A stream may end quietly at EOF, [DONE] or not: only a finish_reason tells a
        # whole answer from a cut one.
        if not (self.done or self.finished):
            raise IncompleteAnswerError("the stream ended before the answer was finished")


def _text_only(chunk: dict[str, Any]) -> str | None:
    """The text of a chunk that carries only text (or nothing), else None.

    Whatever else a chunk may carry (finish reason, usage, custom content, an error)
    goes through delta_from_chunk.
    """
    if "error" in chunk or chunk.get("usage") is not None or chunk.get("statistics") is not None:
        return None
    choices = chunk.get("choices")
    if type(choices) is not list or not choices:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") is not None:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or delta.get("custom_content") is not None:
        return None
    if delta.get("refusal") is not None:
        return None
    text = delta.get("content")
    if text is None:
        return ""
    return text if type(text) is str else None


def delta_from_chunk(chunk: dict[str, Any]) -> Delta | None:
    """One ``chat.completion.chunk`` as a Delta; None when it carries nothing for us.

    A field of the wrong type (``content: 42``, ``choices: ["abc"]``) makes the chunk
    malformed: the answer ends with that error, never with a crash or a guess.
    """
    choices = _field(chunk, "choices", list, "choices") or ()
    text = ""
    custom = None
    finish = None
    refusal = None
    if choices:
        choice = choices[0]
        if not isinstance(choice, dict):
            raise malformed("'choices[0]' is not an object")
        delta = _field(choice, "delta", dict, "choices[0].delta") or {}
        text = _field(delta, "content", str, "delta.content") or ""
        custom = checked_custom_content(delta.get("custom_content"), "delta.custom_content")
        finish = _field(choice, "finish_reason", str, "finish_reason")
        refusal = delta.get("refusal") if isinstance(delta.get("refusal"), str) else None
    usage = _field(chunk, "usage", dict, "usage")
    statistics = chunk.get("statistics")
    if not (text or custom or finish or usage or refusal or statistics):
        return None
    model = chunk.get("model")
    # The completion's id (DIAL Chat keeps it as the answer's responseId) rides along
    # with the chunks that are not plain text: the finish chunk always is not.
    response_id = chunk.get("id") if isinstance(chunk.get("id"), str) else None
    return Delta(
        text=text,
        custom_content=custom,
        finish_reason=finish,
        usage=usage,
        model=model if isinstance(model, str) and model else None,
        statistics=statistics if isinstance(statistics, dict) else None,
        refusal=refusal,
        response_id=response_id,
    )


# More stages or attachments than any answer has: an index past it is hostile (the merge
# would fill the gap with that many empty entries).
MAX_PARTS = 1000
_KINDS: dict[type, str] = {dict: "an object", list: "a list", str: "a string"}
_TEXT_FIELDS = {
    "stages": ("name", "content"),
    "attachments": ("type", "title", "data", "url", "reference_type", "reference_url"),
}


def malformed(what: str, kind: str = "chunk in the event stream") -> ServerError:
    return ServerError(f"malformed {kind}: {what}")


def _field(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    """``data[key]`` if absent, null or of type ``kind``; else the chunk is malformed."""
    value = data.get(key)
    if value is not None and not isinstance(value, kind):
        raise malformed(f"'{where}' is not {_KINDS[kind]}")
    return value


def checked_custom_content(custom: Any, where: str) -> dict[str, Any] | None:
    """``custom_content`` as DIAL sends it: an object whose stages and attachments are
    lists of objects with a sane ``index``; else the chunk is malformed."""
    if custom is None:
        return None
    if not isinstance(custom, dict):
        raise malformed(f"'{where}' is not an object")
    _field(custom, "state", dict, "custom_content.state")
    for key in ("stages", "attachments"):
        parts = custom.get(key)
        if parts is None:
            continue
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise malformed(f"'custom_content.{key}' is not a list of objects")
        for i, part in enumerate(parts):
            index = part.get("index")
            if index is not None and (type(index) is not int or not 0 <= index < MAX_PARTS):
                raise malformed(f"'custom_content.{key}' has an index out of range")
            # The text fields aidial-client's models type as strings (so both backends
            # refuse the same chunks); a stage's status is one of two words.
            for name in _TEXT_FIELDS[key]:
                _field(part, name, str, f"{key}[{i}].{name}")
            if key == "stages" and part.get("status") not in (None, "completed", "failed"):
                raise malformed(f"'stages[{i}].status' is not 'completed' or 'failed'")
    return custom


def not_an_event_stream(content_type: str, body: bytes) -> ServerError:
    """A 2xx answer to a streaming request that is not ``text/event-stream``."""
    shown = error_message_from_body(body, content_type) or "empty body"
    return ServerError(
        f"expected an event stream, got {content_type or 'no content type'}: {shown}"
    )


class EmptyReply(ServerError):
    """A 2xx reply with no body where JSON was expected (Core's answer for a
    deployment without a configuration endpoint, for instance)."""


def not_json(body: bytes, content_type: str) -> ServerError:
    """A 2xx reply that should have been JSON."""
    if not body.strip():
        return EmptyReply("expected JSON from the server, got empty body")
    shown = error_message_from_body(body, content_type) or "empty body"
    return ServerError(f"expected JSON from the server, got {shown}")


def reply_from_completion(data: dict[str, Any], model: str) -> Reply:
    """A non-streaming ``chat.completion`` body as a Reply."""
    if data.get("error") is not None:
        raise stream_error(data["error"])
    choices = data.get("choices") or []
    if not choices:
        raise ServerError("the server's reply has no choices")
    try:
        if not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise malformed("'choices[0]' is not an object")
        message = _field(choices[0], "message", dict, "choices[0].message") or {}
        refusal = message.get("refusal")
        return Reply(
            model=model,
            content=_field(message, "content", str, "message.content") or "",
            finish_reason=_field(choices[0], "finish_reason", str, "finish_reason"),
            usage=_field(data, "usage", dict, "usage"),
            custom_content=checked_custom_content(
                message.get("custom_content"), "message.custom_content"
            ),
            response_model=data.get("model") if isinstance(data.get("model"), str) else None,
            statistics=data.get("statistics") if isinstance(data.get("statistics"), dict) else None,
            refusal=refusal if isinstance(refusal, str) else None,
            response_id=data.get("id") if isinstance(data.get("id"), str) else None,
        )
    except ServerError as err:
        raise ServerError(err.message.replace("chunk in the event stream", "reply")) from None


def tls_error(url: str, err: BaseException) -> NetworkError:
    """A certificate or TLS failure: not retried, and the fix is named."""
    from dialcli.backends.transport import handshake_timeout_in, reason

    stalled = handshake_timeout_in(err)
    if stalled is not None:
        plain = "http://" + url.split("://", 1)[-1]
        return NetworkError(
            f"TLS failure talking to {url}: {stalled.args[0]}; "
            f"if the server speaks plain HTTP, use {plain}"
        )
    return NetworkError(
        f"TLS failure talking to {url}: {reason(err)}; "
        "to trust a private CA set SSL_CERT_FILE to its certificate"
    )
