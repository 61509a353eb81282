"""The pure SSE decoder against the WHATWG event-stream rules."""

from __future__ import annotations

import pytest

from dialcli.sse import Event, SSEDecoder, iter_events


def events(*chunks: bytes) -> list[Event]:
    return list(iter_events(chunks))


def every_split(data: bytes) -> list[list[bytes]]:
    """The data cut at each possible position, plus one byte per chunk."""
    cuts = [[data[:i], data[i:]] for i in range(1, len(data))]
    return [*cuts, [bytes([b]) for b in data]]


def test_lf_crlf_and_cr_line_ends_all_end_lines():
    expected = [Event("a"), Event("b")]
    assert events(b"data: a\n\ndata: b\n\n") == expected
    assert events(b"data: a\r\n\r\ndata: b\r\n\r\n") == expected
    assert events(b"data: a\r\rdata: b\r\r") == expected


def test_multi_line_data_is_joined_with_newlines():
    assert events(b"data: one\ndata: two\ndata:\n\n") == [Event("one\ntwo\n")]


def test_comments_are_ignored():
    assert events(b": keep-alive\n\n:another\ndata: x\n\n") == [Event("x")]


def test_event_id_and_retry_fields_are_reported():
    out = events(b"event: update\nid: 42\nretry: 1500\ndata: x\n\n")
    assert out == [Event("x", event="update", id="42", retry=1500)]


def test_last_event_id_persists_and_event_type_resets():
    out = events(b"event: a\nid: 7\ndata: 1\n\ndata: 2\n\n")
    assert out == [Event("1", event="a", id="7"), Event("2", event="message", id="7")]


def test_invalid_retry_and_id_with_nul_are_ignored():
    assert events(b"retry: 1s\nid: a\x00b\ndata: x\n\n") == [Event("x")]


def test_only_one_space_after_the_colon_is_stripped():
    assert events(b"data:  two spaces\n\ndata:none\n\n") == [Event(" two spaces"), Event("none")]


def test_field_without_colon_is_a_field_with_empty_value():
    assert events(b"data\ndata\n\n") == [Event("\n")]


def test_a_leading_bom_is_skipped_even_when_split():
    assert events(b"\xef\xbb\xbfdata: x\n\n") == [Event("x")]
    assert events(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [Event("x")]


def test_only_the_first_bom_is_skipped():
    assert events(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n") == []


def test_unterminated_last_event_is_not_dispatched():
    assert events(b"data: a\n\ndata: b") == [Event("a")]
    assert events(b"data: a\n\ndata: b\n") == [Event("a")]


def test_blank_lines_without_data_dispatch_nothing():
    assert events(b"\n\n\nevent: x\n\n") == []


STREAM = (
    'data: {"choices":[{"delta":{"content":"héllo 世界 🎉"}}]}\r\n'
    "\r\n"
    ": comment\r"
    "data: line1\n"
    "data: line2\r\n"
    "\n"
    "data: [DONE]\n\n"
).encode()


@pytest.mark.parametrize("chunks", every_split(STREAM))
def test_chunk_boundaries_anywhere_give_the_same_events(chunks: list[bytes]):
    assert events(*chunks) == events(STREAM)
    assert [e.data for e in events(STREAM)] == [
        '{"choices":[{"delta":{"content":"héllo 世界 🎉"}}]}',
        "line1\nline2",
        "[DONE]",
    ]


def test_crlf_split_between_cr_and_lf_is_one_line_end():
    assert events(b"data: a\r", b"\n", b"\r", b"\n") == [Event("a")]
    assert events(b"data: a\r", b"\ndata: b\r\n\r\n") == [Event("a\nb")]


def test_invalid_utf8_is_replaced_not_fatal():
    assert events(b"data: \xff\n\n") == [Event("\ufffd")]


def test_decoder_feed_returns_events_as_they_complete():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\ndata: b\n\n") == [Event("a"), Event("b")]
