"""Reading files the user names, never more than a limit.

``st_size`` cannot be trusted for this: ``/dev/zero``, pipes and FIFOs report 0 and
never end. Reading at most ``limit + 1`` bytes tells "too large" apart without ever
holding more.
"""

from __future__ import annotations

from pathlib import Path


def read_at_most(path: Path, limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of ``path``: more than ``limit`` means too large."""
    with open(path, "rb") as f:
        return f.read(limit + 1)


def mib(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB"
