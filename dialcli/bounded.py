"""Reading files the user names, never more than a limit.

``st_size`` cannot be trusted for this: ``/dev/zero``, pipes and FIFOs report 0 and
never end. Reading at most ``limit + 1`` bytes tells "too large" apart without ever
holding more.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def read_at_most(path: Path, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``path``: more than ``limit`` means too large."""
    with open(path, "rb") as f:
        return f.read(limit + 1)


def read_stream_at_most(stream: BinaryIO, limit: int) -> bytes:
    """As read_at_most, for an open stream (stdin)."""
    return stream.read(limit + 1)


def lines_at_most(stream: BinaryIO, limit: int) -> Iterator[bytes]:
    """The lines of ``stream``, each read with at most ``limit + 1`` bytes. A longer line
    is given as those bytes, and is the last: an input with no line ends (``/dev/zero``)
    cannot be split into items, and reading on would never end."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        yield line
        if len(line) > limit:
            return


def mib(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB"
