"""Sending one request through the shared Pacer, with the project's retry policy.

The retry policy (``backends/retry.py``) applies to each request, with one twist for
429: while the pacer can still slow down, a 429 is the batch's signal to send less,
not the request's failure, so it costs the request no retry; at one request in flight
it counts like any other retryable error. A cap on such free retries keeps a
deployment that refuses everything from looping forever.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from dialcli.backends.base import ChatRequest, Reply
from dialcli.backends.retry import RetryPolicy, is_retryable
from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.engine.base import AsyncBackend, collect
from dialcli.engine.pacing import Pacer
from dialcli.errors import DialError, RateLimitError

FREE_RETRIES = 20


@dataclass
class Outcome:
    """A request's reply, or the error it ended with; the last attempt's latency."""

    reply: Reply | None
    error: DialError | None
    latency_ms: int
    attempts: int


class Runner:
    def __init__(
        self,
        backend: AsyncBackend,
        pacer: Pacer,
        policy: RetryPolicy,
        *,
        stream: bool = True,
        log: DebugLog = NO_LOG,
    ) -> None:
        self.backend = backend
        self.pacer = pacer
        self.policy = policy
        self.stream = stream
        self._log = log

    async def run(
        self, request: ChatRequest, on_text: Callable[[str], None] | None = None
    ) -> Outcome:
        """Send ``request`` until it is answered, fails for good, or retries run out."""
        retries = 0
        free = 0
        attempts = 0
        while True:
            ticket = await self.pacer.acquire()
            attempts += 1
            started = time.perf_counter()
            try:
                reply = await collect(self.backend, request, stream=self.stream, on_text=on_text)
            except DialError as err:
                latency = _ms(started)
                if isinstance(err, RateLimitError):
                    await self.pacer.throttle(ticket, err.retry_after)
                    if ticket.allowance > 1 and free < FREE_RETRIES:
                        free += 1
                        self._log(f"429 at {ticket.allowance} in flight; sending again")
                        continue
                else:
                    await self.pacer.release(ticket, ok=False)
                if retries >= self.policy.retries or not is_retryable(err):
                    return Outcome(None, err, latency, attempts)
                if isinstance(err, RateLimitError) and err.retry_after is not None:
                    wait = 0.0  # the pacer holds every start until Retry-After passed
                else:
                    wait = self.policy.delay(retries, err.retry_after)
                retries += 1
                self._log(f"retry {retries}/{self.policy.retries} in {wait:.2f} s after: {err}")
                await asyncio.sleep(wait)
                continue
            except BaseException:
                await self.pacer.release(ticket, ok=False)
                raise
            await self.pacer.release(ticket, ok=True)
            return Outcome(reply, None, _ms(started), attempts)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
