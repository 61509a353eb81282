"""A pure Server-Sent Events decoder: byte chunks in, events out.

Follows the WHATWG "event stream interpretation" rules: LF, CR and CRLF line ends,
multi-line ``data``, comments, ``id`` and ``retry``, one leading BOM, and chunk
boundaries anywhere (inside a line ending or a UTF-8 character). No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

_BOM = b"\xef\xbb\xbf"


class Event(NamedTuple):
    data: str
    event: str = "message"
    id: str | None = None
    retry: int | None = None


class EventTooLarge(ValueError):
    """One event (or one line) grew past the decoder's cap; the stream cannot go on."""


# No DIAL chunk comes near this; a server that sends more in one event is broken or
# hostile, and buffering it would only exhaust memory.
MAX_EVENT_BYTES = 16 * 1024 * 1024


class SSEDecoder:
    """Bytes in, events out; keeps the partial line between feeds.

    Each byte is looked at and copied a bounded number of times: the pieces of an
    unfinished line are kept in a list and joined once, when its line end arrives, so a
    100 MB line costs what its length costs. An event (or a line) larger than
    ``max_event_bytes`` raises EventTooLarge.
    """

    __slots__ = (
        "_data",
        "_data_size",
        "_event",
        "_head",
        "_last_id",
        "_limit",
        "_pending",
        "_pending_size",
        "_retry",
        "_started",
        "_trailing_cr",
    )

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._limit = max_event_bytes
        self._head = b""  # the first bytes, until we know whether they are a BOM
        self._started = False
        self._pending: list[bytes] = []  # pieces of the unfinished line
        self._pending_size = 0
        # A chunk ending in CR may be the first half of CRLF: the LF that follows
        # must not end a second (empty) line, which would dispatch early.
        self._trailing_cr = False
        # Raw bytes per data line, decoded once per event: LF is ASCII, so decoding the
        # joined lines gives the same text (and U+FFFD) as decoding each line.
        self._data: list[bytes] = []
        self._data_size = 0
        self._event = ""
        self._last_id: str | None = None  # per spec, not reset between events
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[Event]:
        """Decode one chunk; return the events it completed."""
        return self._feed(chunk, self._make_event)

    def feed_data(self, chunk: bytes) -> list[bytes]:
        """Like ``feed``, but only each event's data, as UTF-8 bytes (a JSON parser's
        input); for readers that, like DIAL's, use neither event names nor ids."""
        return self._feed(chunk, None)

    def _feed(self, chunk: bytes, make: Callable[[bytes], Any] | None) -> list[Any]:
        lines = self._lines(chunk)
        if not lines:
            return []
        events: list[Any] = []
        data = self._data
        for line in lines:
            # The two lines DIAL sends, inline (the hot loop); the rest in _line.
            if line[:5] == b"data:":
                value = line[6:] if line[5:6] == b" " else line[5:]
                self._data_size += len(value) + 1
                if self._data_size > self._limit:
                    raise EventTooLarge(self._too_large())
                data.append(value)
            elif line:
                self._line(line)
            elif data:
                payload = data[0] if len(data) == 1 else b"\n".join(data)
                events.append(payload if make is None else make(payload))
                self._data = data = []
                self._data_size = 0
                self._event = ""
            else:
                self._event = ""
        return events

    def _lines(self, chunk: bytes) -> list[bytes]:
        """The complete lines in ``chunk`` (with the kept partial line in front)."""
        if not chunk:
            return []
        if self._trailing_cr:
            self._trailing_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if not self._started:
            self._head += chunk
            if len(self._head) < 3 and _BOM.startswith(self._head):
                return []
            self._started = True
            chunk = self._head[3:] if self._head.startswith(_BOM) else self._head
            self._head = b""
        end = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
        if end < 0:  # no line end: keep the piece, join it when the line is complete
            if chunk:
                self._pending.append(chunk)
                self._pending_size += len(chunk)
                if self._pending_size > self._limit:
                    raise EventTooLarge(self._too_large())
            return []
        done, rest = chunk[: end + 1], chunk[end + 1 :]
        if self._pending:
            self._pending.append(done)
            done = b"".join(self._pending)
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        if self._pending_size > self._limit:
            raise EventTooLarge(self._too_large())
        if b"\r" in done:
            self._trailing_cr = not rest and done.endswith(b"\r")
            # Split before decoding so only CR and LF count as line ends, never U+2028.
            done = done.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = done.split(b"\n")
        lines.pop()  # empty: ``done`` ends with its line end
        return lines

    def _too_large(self) -> str:
        return f"an event in the stream is larger than {self._limit // (1024 * 1024)} MiB"

    def _line(self, raw: bytes) -> None:
        """A non-empty line other than ``data: …`` (those are handled inline)."""
        if raw[:1] == b":":
            return
        name, sep, value = raw.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data_size += len(value) + 1
            if self._data_size > self._limit:
                raise EventTooLarge(self._too_large())
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)

    def _make_event(self, data: bytes) -> Event:
        return Event(
            data=data.decode("utf-8", "replace"),
            event=self._event or "message",
            id=self._last_id,
            retry=self._retry,
        )


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Events from a stream of byte chunks; an unterminated last event is dropped."""
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
