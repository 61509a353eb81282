"""The progress line on stderr: done/total, failures, rate and ETA (terminals only)."""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """Redrawn in place with a carriage return; ``finish`` leaves the last one."""

    def __init__(self, stream: TextIO, total: int | None = None) -> None:
        self._stream = stream
        self.total = total
        self.done = 0
        self.failed = 0
        self._started = time.monotonic()
        self._shown = False

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self._started, 1e-6)
        rate = self.done / elapsed
        total = "?" if self.total is None else str(self.total)
        parts = [f"{self.done}/{total} done", f"{self.failed} failed", f"{rate:.1f}/s"]
        if self.total is not None and rate > 0 and self.done < self.total:
            parts.append(f"ETA {_duration((self.total - self.done) / rate)}")
        return "dial: " + ", ".join(parts)

    def draw(self) -> None:
        self._stream.write("\r\x1b[K" + self.line())
        self._stream.flush()
        self._shown = True

    def finish(self) -> None:
        """The last state stays on screen as the batch's summary."""
        self.draw()
        self._stream.write("\n")
        self._stream.flush()


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
