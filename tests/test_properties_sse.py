"""Property tests (Hypothesis) for the SSE decoder: any bytes, any chunking, bounded memory.

A straightforward reference reading of the WHATWG rules decides what the events are;
the decoder must agree with it however the bytes are cut, and must never hold more
than its cap of one event.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialcli.sse import Event, EventTooLarge, SSEDecoder

# Fast enough for the CI budget: a few hundred examples, no per-example deadline (the
# machine is shared, and a slow example is not a failure).
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PIECES = [
    b"data:",
    b"data: ",
    b"event: x",
    b"id: 7",
    b"id: a\x00",
    b"retry: 15",
    b":",
    b" ",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xff",
    "é世🎉".encode(),
    b"[DONE]",
    b'{"choices":[]}',
    b"x",
]
streams = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join),
    st.binary(max_size=300),
)


def reference(data: bytes) -> list[Event]:
    """The spec's algorithm on the whole input at once (no chunking at all)."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    lines.pop()  # an unterminated last line is never processed
    out: list[Event] = []
    buf: list[bytes] = []
    kind, last_id, retry = "", None, None
    for line in lines:
        if not line:
            if buf:
                text = b"\n".join(buf).decode("utf-8", "replace")
                out.append(Event(text, kind or "message", last_id, retry))
            buf, kind = [], ""
            continue
        if line.startswith(b":"):
            continue
        name, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            buf.append(value)
        elif name == b"event":
            kind = value.decode("utf-8", "replace")
        elif name == b"id" and b"\0" not in value:
            last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            retry = int(value)
    return out


def cut(data: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p % (len(data) + 1) for p in points})
    edges = [0, *marks, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@FAST
@given(data=streams, points=st.lists(st.integers(min_value=0), max_size=12))
def test_any_bytes_in_any_chunking_give_the_reference_events(data, points):
    decoder = SSEDecoder()
    got = [e for piece in cut(data, points) for e in decoder.feed(piece)]
    assert got == reference(data)


@FAST
@given(data=streams, points=st.lists(st.integers(min_value=0), max_size=12))
def test_feed_data_gives_the_same_payloads_as_feed(data, points):
    whole, parts = SSEDecoder(), SSEDecoder()
    expected = [e.data for e in whole.feed(data)]
    got = [p for piece in cut(data, points) for p in parts.feed_data(piece)]
    assert [p.decode("utf-8", "replace") for p in got] == expected


@FAST
@given(
    data=st.lists(st.sampled_from([*PIECES, b"y" * 50]), max_size=60).map(b"".join),
    points=st.lists(st.integers(min_value=0), max_size=20),
)
def test_memory_never_grows_past_the_cap(data, points):
    limit = 64
    decoder = SSEDecoder(max_event_bytes=limit)
    try:
        for piece in cut(data, points):
            decoder.feed(piece)
            # What is held between feeds: one unfinished line and one event's data lines.
            assert decoder._pending_size <= limit
            assert decoder._data_size <= limit
    except EventTooLarge as err:
        assert "larger than" in str(err)


def test_one_long_line_past_the_cap_ends_with_event_too_large():
    decoder = SSEDecoder(max_event_bytes=1024 * 1024)
    decoder.feed(b"data: ")
    with pytest.raises(EventTooLarge, match="larger than 1 MiB"):
        for _ in range(300):
            decoder.feed(b"x" * 4096)


def test_many_data_lines_past_the_cap_end_with_event_too_large():
    decoder = SSEDecoder(max_event_bytes=1024 * 1024)
    with pytest.raises(EventTooLarge):
        for _ in range(300):
            decoder.feed(b"data: " + b"x" * 4096 + b"\n")


def test_a_long_line_is_joined_once_when_its_end_arrives():
    # 64 MiB in 1 MiB pieces under the default 16 MiB cap would raise; this checks the
    # pieces are kept apart (no re-copy per feed) until the line end comes.
    decoder = SSEDecoder(max_event_bytes=8 * 1024 * 1024)
    piece = b"x" * (1024 * 1024)
    decoder.feed(b"data: ")
    for _ in range(6):
        assert decoder.feed(piece) == []
    assert len(decoder._pending) == 7
    assert decoder.feed_data(b"\n\n") == [b"x" * (6 * 1024 * 1024)]
