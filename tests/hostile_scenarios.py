"""Fault-server scenarios for issue 14: one per defect a hostile server could trigger.

Registered in ``faultserver.HOSTILE`` and served like the other scenarios (the scenario
is the deployment id); each handler also gets the request, so it can echo what the
client sent (a key, a header) as a hostile server would.
"""

from __future__ import annotations

import base64
import gzip
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from faultserver import HELLO, USAGE, _error, answer_events, chunk, event

if TYPE_CHECKING:
    from faultserver import FaultServer, Recorded

ESC = "\x1b"
# Retitles the terminal, clears the screen, and moves the cursor home.
EVIL = f"{ESC}]0;pwned{chr(7)}{ESC}[2J{ESC}[H"
BIG_EVENT = 17 * 1024 * 1024  # past the 16 MiB cap on one event


def _words(*words: str) -> list[bytes]:
    return answer_events(list(words), finish=False, done=False)


def echo_key(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    """401 whose message repeats the key and the Authorization header it was sent."""
    sent = request.headers.get("api-key") or request.headers.get("authorization", "")
    message = f"key {sent} is not valid"
    server._send_json(conn, 401, _error(message, "invalid_request_error", 401))


def echo_key_stream(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    """An error event in the middle of a stream that repeats the key."""
    sent = request.headers.get("api-key") or request.headers.get("authorization", "")
    error = {"error": {"message": f"quota for {sent} exceeded", "type": "runtime_error"}}
    server._stream(conn, [*_words("Hello"), event(error), event("[DONE]")])


def escape_error(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    message = f"bad request{EVIL}\nsecond line\r\nthird"
    server._send_json(conn, 400, _error(message, "invalid_request_error", 400))


def escape_custom(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    """Stage names and an attachment title carrying escape sequences."""
    stage = {"index": 0, "name": f"Search{EVIL}", "status": None}
    done = {"index": 0, "status": "completed"}
    attachment = {"index": 0, "type": "text/plain", "title": f"x{EVIL}.txt", "url": "https://e/x"}
    events = [
        event(chunk({"role": "assistant"})),
        event(chunk({"custom_content": {"stages": [stage]}})),
        event(chunk({"content": "Hello"})),
        event(chunk({"custom_content": {"stages": [done], "attachments": [attachment]}})),
        event(chunk({}, finish="stop", usage=USAGE)),
        event("[DONE]"),
    ]
    server._stream(conn, events)


def _attachment_answer(title: Any) -> list[bytes]:
    data = base64.b64encode(b"attached bytes").decode()
    attachment = {"index": 0, "type": "text/plain", "title": title, "data": data}
    return [
        *_words("Hello"),
        event(chunk({"custom_content": {"attachments": [attachment]}})),
        event(chunk({}, finish="stop", usage=USAGE)),
        event("[DONE]"),
    ]


def long_title(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    server._stream(conn, _attachment_answer("é" * 300 + ".txt"))


def title_not_string(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    server._stream(conn, _attachment_answer({"not": "a string"}))


def huge_event(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    """One event larger than the cap, sent in 64 KiB pieces with no line end."""
    server._start_sse(conn)
    for item in _words("Hello"):
        server._send_chunk(conn, item)
    server._send_chunk(conn, b'data: {"choices":[{"delta":{"content":"')
    piece = b"x" * 65536
    try:
        for _ in range(BIG_EVENT // len(piece)):
            server._send_chunk(conn, piece)
        server._send_chunk(conn, b'"}}]}\n\n')
        conn.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the client gave up at the cap, as it should


def reset_before_reply(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    """The request is read, then the connection is reset (RST) with no reply at all."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def done_without_finish(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    server._stream(conn, [*_words(*HELLO), event("[DONE]")])


def only_empty_choices(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    empty = {"id": "x", "object": "chat.completion.chunk", "created": 1, "choices": []}
    server._stream(conn, [event(empty), event(empty), event("[DONE]")])


def retry_after_nan(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    body = _error("busy (fault server)", "runtime_error", 503)
    server._send_json(conn, 503, body, {"retry-after": "nan"})


def _bad_chunk(delta: Any = None, **fields: Any) -> Callable[..., None]:
    def handler(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
        bad = chunk(delta if delta is not None else {})
        bad.update(fields)
        server._stream(conn, [*_words("Hello"), event(bad), event("[DONE]")])

    return handler


def _gzipped(events: list[bytes]) -> Callable[..., None]:
    """The events gzip-compressed as one body, sent in small chunked pieces."""

    def handler(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
        body = gzip.compress(b"".join(events))
        headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
        conn.sendall(server._head(200, {**headers, "transfer-encoding": "chunked"}))
        for start in range(0, len(body), 512):
            server._send_chunk(conn, body[start : start + 512])
        conn.sendall(b"0\r\n\r\n")

    return handler


_HUGE_EVENT = b'data: {"choices":[{"delta":{"content":"' + b"x" * BIG_EVENT + b'"}}]}\n\n'


def bad_gzip(server: FaultServer, conn: socket.socket, request: Recorded) -> None:
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
    payload = b"\x1f\x8b\x08\x00garbage that is not deflate data at all"
    headers["content-length"] = str(len(payload))
    conn.sendall(server._head(200, headers) + payload)


def evil_listing(server: FaultServer, conn: socket.socket) -> None:
    data = [{"id": f"gpt{EVIL}", "display_name": f"GPT{EVIL}", "object": "model", "owner": "x"}]
    server._send_json(conn, 200, {"object": "list", "data": data})


HOSTILE: dict[str, Callable[..., None]] = {
    "echo-key": echo_key,
    "echo-key-stream": echo_key_stream,
    "escape-error": escape_error,
    "escape-custom": escape_custom,
    "long-title": long_title,
    "title-not-string": title_not_string,
    "huge-event": huge_event,
    "reset-before-reply": reset_before_reply,
    "done-without-finish": done_without_finish,
    "only-empty-choices": only_empty_choices,
    "retry-after-nan": retry_after_nan,
    "content-not-string": _bad_chunk({"content": 42}),
    "choice-not-object": _bad_chunk(choices=["abc"]),
    "custom-content-string": _bad_chunk({"custom_content": "str"}),
    "attachments-string": _bad_chunk({"custom_content": {"attachments": "nope"}}),
    "stage-index-huge": _bad_chunk({"custom_content": {"stages": [{"index": 10**12}]}}),
    "bad-gzip": bad_gzip,
    "gzip-huge-event": _gzipped([*_words("Hello"), _HUGE_EVENT, event("[DONE]")]),
    "gzip-done-without-finish": _gzipped([*_words(*HELLO), event("[DONE]")]),
    "gzip-ok": _gzipped(answer_events(HELLO)),
}
