"""aidial-client, openai and httpx exceptions as our errors, worded exactly like raw's.

aidial-client flattens what went wrong into a ``DialException`` whose ``message`` is
openai's wrapper text ("Error code: 429 - {'error': {...}}") and whose status is 500
for anything that is not an HTTP status (an error event mid-stream, a refused
connection). The original exceptions are still chained underneath (``__cause__`` /
``__context__``), with the httpx response and the event's error object, so we walk
the chain and describe the failure from those, as the raw backend would.

Imported only by ``dialcli.backends.sdk``: it loads openai.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import orjson
import pydantic

from dialcli.backends.replies import (
    error_message_from_body,
    http_error,
    not_json,
    one_line,
    stream_error,
    tls_error,
)
from dialcli.backends.retry import ConnectFailed, parse_retry_after

# The raw backend's wording for transport failures; shared so both print the same line.
from dialcli.backends.transport import (
    BEFORE_REPLY,
    HandshakeTimeout,
    decoding_error,
    is_tls_failure,
    read_limited,
    reason,
    timeout_error,
)
from dialcli.config import Settings
from dialcli.errors import DialError, NetworkError, ServerError

_OUR_CODE = str(Path(__file__).resolve().parents[1])  # the dialcli package

# openai's APIStatusError text: f"Error code: {status} - {body}", body being the parsed
# JSON printed with repr() (single quotes, True/None), or the plain text.
_WRAPPER = re.compile(r"^Error code: (\d{3})(?: - (.*))?$", re.DOTALL)


def strip_wrapper(message: str) -> tuple[int | None, str | None]:
    """openai's "Error code: 429 - {'error': {...}}" as (429, the server's own message)."""
    match = _WRAPPER.match(message.strip())
    if match is None:
        return None, one_line(message) if message.strip() else None
    status, rest = int(match.group(1)), match.group(2)
    if not rest:
        return status, None
    try:
        body = ast.literal_eval(rest)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return status, error_message_from_body(rest.encode(), "")
    try:
        encoded = orjson.dumps(body)
    except TypeError:
        return status, one_line(rest)
    return status, error_message_from_body(encoded, "application/json")


def response_error(response: httpx.Response, model: str | None) -> DialError:
    """An HTTP error status, from the response itself: body, status and Retry-After."""
    try:
        body = response.content
    except httpx.ResponseNotRead:
        body = read_limited(response)
    return http_error(
        response.status_code,
        error_message_from_body(body, response.headers.get("content-type", "")),
        model=model,
        retry_after=parse_retry_after(dict(response.headers)),
        path=response.request.url.path,
    )


def not_json_error(response: httpx.Response) -> ServerError:
    """A 2xx reply that should have been JSON, worded like raw's ``_read_json``."""
    try:
        body = response.content
    except httpx.ResponseNotRead:
        body = read_limited(response)
    return not_json(body, response.headers.get("content-type", ""))


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    link: BaseException | None = err
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


# A flat dispatch over the library's exception types, first match wins: one
# branch each reads better than helpers that would each re-walk the chain.
def map_error(  # noqa: C901
    err: BaseException, settings: Settings, *, model: str | None, started: bool
) -> DialError:
    """The DialError for anything the library raised.

    ``started``: response headers had arrived (or the stream was being read), so a
    broken connection is "connection dropped", not "cannot reach", and is not retried.
    """
    if isinstance(err, DialError):
        return err
    for link in _chain(err):
        if isinstance(link, DialError):  # ours, raised under the library (a stream check)
            return link
    for link in _chain(err):
        # The library's failure modes are not enumerable (openai, httpx, pydantic, its
        # own catch-alls, and its own bugs on odd server data: `42` as a chunk), so
        # whatever it raises is described as the server's doing. But it also wraps
        # what our own code raised (an event hook): that is a bug, re-raised as one.
        # Raised in transport.py for the server's doing: its silence at the handshake,
        # a body that does not decode.
        expected = DialError | HandshakeTimeout | httpx.DecodingError
        if not isinstance(link, expected) and _raised_in_our_code(link):
            raise link
    for link in _chain(err):
        if isinstance(link, httpx.TimeoutException):
            return timeout_error(link, settings)
        if isinstance(link, httpx.TransportError):
            if started:
                return NetworkError(f"connection dropped: {reason(link)}")
            if isinstance(link, BEFORE_REPLY):
                if is_tls_failure(link):
                    return tls_error(settings.url, link)
                return ConnectFailed(f"cannot reach DIAL at {settings.url}: {reason(link)}")
            return NetworkError(f"network error: {reason(link)}")
        if isinstance(link, httpx.DecodingError):
            return decoding_error(link)
        if isinstance(link, openai.APIStatusError | httpx.HTTPStatusError):
            return response_error(link.response, model)
        if isinstance(link, openai.APIResponseValidationError):
            return not_json_error(link.response)
        if isinstance(link, openai.APIError) and link.body is not None:
            # openai keeps the error object of a `data: {"error": ...}` event as body.
            return stream_error(link.body)
        if isinstance(link, pydantic.ValidationError):
            return _rejected(link)
        if isinstance(link, json.JSONDecodeError):
            # openai's SSE decoder parses each event with json.loads; ``doc`` is the data.
            return ServerError(f"malformed chunk in the event stream: {link.doc[:80]!r}")
    return _fallback(err, model)


def _raised_in_our_code(err: BaseException) -> bool:
    """Whether the innermost frame that raised ``err`` is dialcli's."""
    tb = err.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename.startswith(_OUR_CODE)


def _rejected(err: pydantic.ValidationError) -> ServerError:
    """aidial-client validates what openai parsed; raw takes any chunk with ``choices``."""
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in err.errors()[:3]
    )
    what = "chunk in the event stream" if err.title == "ChatCompletionChunk" else "reply"
    return ServerError(f"malformed {what} (rejected by aidial-client: {one_line(problems)})")


def _fallback(err: BaseException, model: str | None) -> DialError:
    """Nothing underneath explains it: use what the library's own exception says."""
    status = getattr(err, "status_code", None)
    message = getattr(err, "message", None)
    if isinstance(message, str) and isinstance(status, int):
        wrapped_status, text = strip_wrapper(message)
        return http_error(wrapped_status or status, text, model=model)
    # e.g. pydantic rejecting a chunk that raw would have taken as it is.
    return ServerError(
        f"unexpected reply from the server: {one_line(str(err) or type(err).__name__)}"
    )
