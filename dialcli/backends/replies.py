"""Turning DIAL's replies into our values and messages, shared by both backends.

Both backends must show a user the same line for the same server reply, so the
wording lives here once.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from dialcli.backends.base import Delta, Reply
from dialcli.errors import DialError, NetworkError, NotFoundError, ServerError, error_for_status

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


def delta_from_chunk(chunk: dict[str, Any]) -> Delta | None:
    """One ``chat.completion.chunk`` as a Delta; None when it carries nothing for us."""
    choices = chunk.get("choices") or ()
    text = ""
    custom = None
    finish = None
    if choices:
        choice = choices[0]
        delta = choice.get("delta") or {}
        text = delta.get("content") or ""
        custom = delta.get("custom_content")
        finish = choice.get("finish_reason")
    usage = chunk.get("usage")
    if not (text or custom or finish or usage):
        return None
    return Delta(text=text, custom_content=custom, finish_reason=finish, usage=usage)


def reply_from_completion(data: dict[str, Any], model: str) -> Reply:
    """A non-streaming ``chat.completion`` body as a Reply."""
    if data.get("error") is not None:
        raise stream_error(data["error"])
    choices = data.get("choices") or []
    if not choices:
        raise ServerError("the server's reply has no choices")
    message = choices[0].get("message") or {}
    return Reply(
        model=model,
        content=message.get("content") or "",
        finish_reason=choices[0].get("finish_reason"),
        usage=data.get("usage"),
        custom_content=message.get("custom_content"),
    )


def tls_error(url: str, reason: str) -> NetworkError:
    """A certificate or TLS failure: not retried, and the fix is named."""
    return NetworkError(
        f"TLS failure talking to {url}: {reason}; "
        "to trust a private CA set SSL_CERT_FILE to its certificate"
    )
