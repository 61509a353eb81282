"""One pacing controller shared by every task: how many in flight, and when to send.

- Never more than ``jobs`` requests in flight (``-j``).
- ``--rpm N``: request starts are spaced 60/N seconds apart (retries count too).
- A 429 slows the whole batch, not only the request that got it: ``Retry-After`` holds
  every start until it has passed, and the number allowed in flight is halved
  (once per round: the 429s of requests sent before the cut do not cut again).
- Each answer that comes back raises the allowance by 1/allowance, so full speed
  returns after about one round of answers per step (additive increase).

The shape is TCP's congestion control (AIMD), applied to requests instead of bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass


class PacerClosed(Exception):
    """The pacer was closed: nothing more is sent (Ctrl-C, or an error that ends all)."""


@dataclass
class Ticket:
    """One request's permission to be in flight."""

    started: float
    allowance: int  # how many the pacer allowed when this one started


class Pacer:
    def __init__(
        self,
        jobs: int,
        rpm: float | None = None,
        *,
        max_wait: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs = max(1, jobs)
        self.allowance = float(self.jobs)
        self.in_flight = 0
        self.peak = 0  # the most ever in flight at once
        self.throttled = 0  # 429s seen
        self._interval = 60.0 / rpm if rpm else 0.0
        self._next_start = 0.0
        self._hold_until = 0.0  # no start before this (Retry-After)
        self._last_cut = -1.0
        self._max_wait = max_wait
        self._clock = clock
        self._changed = asyncio.Condition()
        self.closed = False

    def _limit(self) -> int:
        return max(1, int(self.allowance))

    async def acquire(self) -> Ticket:
        """Wait for a free slot and for the time to send; count the request in flight."""
        async with self._changed:
            while True:
                if self.closed:
                    raise PacerClosed
                now = self._clock()
                if self.in_flight >= self._limit():
                    await self._changed.wait()
                    continue
                wait = max(self._hold_until, self._next_start) - now
                if wait <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self._interval:
                self._next_start = max(now, self._next_start) + self._interval
            return Ticket(started=now, allowance=self._limit())

    def close(self) -> None:
        """Send nothing more: every waiting and later ``acquire`` raises ``PacerClosed``."""
        self.closed = True
        asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def release(self, ticket: Ticket, *, ok: bool) -> None:
        """The request is over; an answer (``ok``) lets the pace rise again."""
        async with self._changed:
            self.in_flight -= 1
            if ok and self.allowance < self.jobs:
                self.allowance = min(float(self.jobs), self.allowance + 1 / self.allowance)
            self._changed.notify_all()

    async def throttle(self, ticket: Ticket, retry_after: float | None) -> None:
        """A 429: hold every start for ``retry_after``, and halve the allowance once."""
        async with self._changed:
            self.in_flight -= 1
            self.throttled += 1
            now = self._clock()
            if retry_after is not None:
                wait = min(max(retry_after, 0.0), self._max_wait)
                self._hold_until = max(self._hold_until, now + wait)
            if ticket.started > self._last_cut:
                self.allowance = max(1.0, self.allowance / 2)
                self._last_cut = now
            self._changed.notify_all()
