"""Verbose request/response logging to stderr, with secrets redacted."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from dialcli.errors import add_secret, add_url_secrets, redact, scrub
from dialcli.sanitize import one_line

if TYPE_CHECKING:
    import httpx

MAX_BODY_SHOWN = 64 * 1024  # an uploaded file is not worth a terminal's scrollback
SECRET_HEADERS = frozenset({"api-key", "authorization", "proxy-authorization", "cookie"})


def add_request_secrets(url: str, secrets: Iterable[str]) -> None:
    """Register what a client about to make requests holds: its key or token (also
    when its settings were built in code, not read) and the credentials in its URL."""
    add_url_secrets(url)
    for secret in secrets:
        add_secret(secret)


class DebugLog:
    """Writes ``dial: debug`` lines to stderr when enabled; a no-op otherwise."""

    def __init__(self, stream: TextIO | None, secrets: Iterable[str] = ()) -> None:
        self.enabled = stream is not None
        self._stream = stream
        # Scrubbing a 1-3 character "key" would mangle every line; real keys are long.
        self._secrets = [s for s in secrets if len(s) >= 6]
        self._t0 = time.perf_counter()

    def start_clock(self) -> None:
        """Mark the moment a request was sent; later lines show ms since then."""
        self._t0 = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def __call__(self, message: str, *, timed: bool = False) -> None:
        if self._stream is None:
            return
        for secret in self._secrets:
            # Belt and braces: a key echoed by a server in a body must not leak either.
            message = message.replace(secret, redact(secret))
        prefix = f"[{self.elapsed_ms():8.1f} ms] " if timed else ""
        # Bodies and headers come from the server: one line each, no escape sequences.
        self._stream.write(f"dial: debug: {prefix}{one_line(scrub(message))}\n")
        self._stream.flush()

    def headers(self, direction: str, headers: Iterable[tuple[str, str]]) -> None:
        if self._stream is None:
            return
        for name, value in headers:
            shown = redact(value) if name.lower() in SECRET_HEADERS else value
            self(f"{direction} {name}: {shown}")

    def response(self, response: httpx.Response) -> None:
        """The status line and headers of a response, as they arrived."""
        if self._stream is None:
            return
        self(f"< HTTP {response.status_code} {response.reason_phrase}", timed=True)
        self.headers("<", response.headers.multi_items())

    def request(self, request: httpx.Request) -> None:
        """The request line, its headers and its body (a large upload only in part)."""
        if self._stream is None:
            return
        self(f"> {request.method} {request.url}")
        self.headers(">", request.headers.multi_items())
        parts = multipart_parts(request)
        if parts is not None:
            # An upload is streamed, so its bytes were never read (request.content would
            # raise RequestNotRead) and are not worth showing: its parts are.
            for line in parts:
                self(f"> {line}")
            self.start_clock()
            return
        body = request.content
        shown = body[:MAX_BODY_SHOWN].decode("utf-8", "replace")
        more = f" … ({len(body)} bytes in all)" if len(body) > MAX_BODY_SHOWN else ""
        self(f"> {shown}{more}")
        self.start_clock()


def multipart_parts(request: httpx.Request) -> list[str] | None:
    """One line per part of a multipart/form-data body (name, file name, type, size),
    or None when the body is not multipart."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    fields = getattr(request.stream, "fields", None)
    if not isinstance(fields, list):
        return ["multipart body (parts not shown)"]
    lines = []
    for field in fields:
        header_size = len(field.render_headers())
        total = field.get_length()
        size = f"{total - header_size} bytes" if total is not None else "size unknown"
        filename = getattr(field, "filename", None)
        kind = (getattr(field, "headers", None) or {}).get("Content-Type", "")
        described = ", ".join(x for x in (repr(filename) if filename else "", kind, size) if x)
        lines.append(f"part {field.name!r}: {described}")
    return lines


NO_LOG = DebugLog(None)
