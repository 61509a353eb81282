"""A pure Server-Sent Events decoder: byte chunks in, events out.

Follows the WHATWG "event stream interpretation" rules: LF, CR and CRLF line ends,
multi-line ``data``, comments, ``id`` and ``retry``, one leading BOM, and chunk
boundaries anywhere (inside a line ending or a UTF-8 character). No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Event:
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Bytes in, events out; keeps the partial line between feeds."""

    __slots__ = ("_buffer", "_data", "_event", "_last_id", "_retry", "_started", "_trailing_cr")

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False
        # A chunk ending in CR may be the first half of CRLF: the LF that follows
        # must not end a second (empty) line, which would dispatch early.
        self._trailing_cr = False
        self._data: list[str] = []
        self._event = ""
        self._last_id: str | None = None  # per spec, not reset between events
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """Decode one chunk; return the events it completed."""
        if not chunk:
            return []
        if self._trailing_cr:
            self._trailing_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if not self._started:
            self._buffer += chunk
            if len(self._buffer) < 3 and _BOM.startswith(self._buffer):
                return []
            self._started = True
            chunk = self._buffer[3:] if self._buffer.startswith(_BOM) else self._buffer
            self._buffer = b""
        events: list[Event] = []
        if b"\r" not in chunk:
            # Fast path (DIAL sends LF only): split once, keep the unfinished tail.
            lines = chunk.split(b"\n")
            if self._buffer:
                lines[0] = self._buffer + lines[0]
            self._buffer = lines.pop()
        else:
            data = self._buffer + chunk
            self._trailing_cr = data.endswith(b"\r")
            # Split before decoding so only CR and LF count as line ends, never U+2028.
            lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            self._buffer = lines.pop()
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, raw: bytes) -> Event | None:
        if not raw:
            return self._dispatch()
        if raw[:1] == b":":
            return None
        name, sep, value = raw.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        if not self._data:
            self._event = ""
            return None
        event = Event(
            data="\n".join(self._data),
            event=self._event or "message",
            id=self._last_id,
            retry=self._retry,
        )
        self._data = []
        self._event = ""
        return event


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Events from a stream of byte chunks; an unterminated last event is dropped."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
