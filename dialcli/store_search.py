"""Full-text search of conversation files: a fast check of raw bytes, then the match.

A file is read whole and checked as bytes first (``matcher``); only one that may match
is parsed, and the first match (system prompt, then messages in order) gives the
snippet. See docs/architecture.md for why this, and not the index, does the work.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from dialcli.conversation import content_text

SNIPPET_WIDTH = 80


def read_bytes(path: str) -> bytes | None:
    """The whole file in one read of its size (plain os calls: search makes 100,000)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, os.fstat(fd).st_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def matcher(text: str) -> tuple[re.Pattern[str], Callable[[bytes], bool]]:
    """The pattern that decides a match, and a fast check of a file's raw bytes.

    An ASCII query matches ASCII letters in any case (re.ASCII, so the Kelvin sign is
    not a "k"), which is exactly what ``bytes.lower()`` does: the byte check is then
    exact for text stored raw. orjson writes non-ASCII as raw UTF-8, so only text that
    JSON must escape (quote, backslash, control characters) defeats it, and "/" which
    some writers escape. A non-ASCII query decodes each file (and parses any with
    \\u escapes, as Python's json writes by default).
    """
    if text.isascii():
        pattern = re.compile(re.escape(text), re.IGNORECASE | re.ASCII)
        if any(c in text for c in '"\\') or any(ord(c) < 0x20 for c in text):
            return pattern, lambda data: True  # escaped in the file: parse every file
        contains = contains_any_case(text.lower().encode())
        if "/" in text:
            return pattern, lambda data: contains(data) or b"\\/" in data
        return pattern, contains
    pattern = re.compile(re.escape(text), re.IGNORECASE)

    def check(data: bytes) -> bool:
        return b"\\u" in data or bool(pattern.search(data.decode("utf-8", "replace")))

    return pattern, check


# English letters, most frequent first. A query holding a rare one is found by looking
# for that letter in both cases (find is memchr-fast) and comparing only where it
# occurs, instead of lowering every file: most of a full-text search's time at 100,000.
_LETTER_RANK = "etaoinsrhldcumfpgwybvkxjqz"
_RARE_FROM = _LETTER_RANK.index("g")


def contains_any_case(needle: bytes) -> Callable[[bytes], bool]:
    """``needle`` (lowercase ASCII) in the bytes, ASCII letters in any case: exactly
    ``needle in data.lower()``, faster when the needle holds a rare letter."""
    letters = [(i, chr(c)) for i, c in enumerate(needle) if chr(c).isalpha()]
    if not letters:
        return lambda data: needle in data
    at, letter = max(letters, key=lambda pair: _LETTER_RANK.index(pair[1]))
    if _LETTER_RANK.index(letter) < _RARE_FROM:
        return lambda data: needle in data.lower()
    size = len(needle)
    anchors = (letter.encode(), letter.upper().encode())

    def check(data: bytes) -> bool:
        for anchor in anchors:
            pos = data.find(anchor, at)
            while pos >= 0:
                if data[pos - at : pos - at + size].lower() == needle:
                    return True
                pos = data.find(anchor, pos + 1)
        return False

    return check


def first_match(doc: dict[str, Any], pattern: re.Pattern[str]) -> tuple[str, int | None] | None:
    """Snippet and place of the first match: system prompt first, then messages in order."""
    system = doc.get("system")
    texts: list[tuple[str, int | None]] = [(system, None)] if isinstance(system, str) else []
    # content_text as Message.text, so search sees what `history show` shows.
    texts += [(content_text(m.get("content")), i) for i, m in enumerate(doc.get("messages", []))]
    for text, where in texts:
        found = pattern.search(text)
        if found:
            return _snippet(text, found.start(), found.end()), where
    return None


def _snippet(text: str, start: int, end: int, width: int = SNIPPET_WIDTH) -> str:
    """About ``width`` characters around a match, on one line, with … where cut."""
    lead = max(0, (width - (end - start)) // 3)
    a = max(0, start - lead)
    b = min(len(text), max(a + width, end))
    a = max(0, min(a, b - width))
    piece = " ".join(text[a:b].split())
    return ("…" if a > 0 else "") + piece + ("…" if b < len(text) else "")
