"""The one retry policy both backends share.

Retried: connection failures and 408, 429, 500, 502, 503, 504, and only before the
first byte of an answer arrived; a started stream is never replayed.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import NamedTuple, TypeVar

from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.errors import DialError, NetworkError

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ConnectFailed(NetworkError):
    """Nothing reached the server, or nothing came back before the connection closed."""


class RetryPolicy(NamedTuple):
    retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A server asking us to wait longer than this is not worth waiting for in a CLI.
    max_retry_after: float = 30.0
    # How a wait is spent; tests inject a recorder instead of sleeping through it.
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, or the server's Retry-After (capped)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))


def is_retryable(err: DialError) -> bool:
    return isinstance(err, ConnectFailed) or err.status in RETRYABLE_STATUSES


def parse_retry_after(headers: dict[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return _seconds(float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return _seconds(float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _seconds(value: float) -> float:
    # float() takes "nan" and "inf": a wait that sleep() refuses or never ends.
    if not math.isfinite(value) or value < 0:
        raise ValueError(value)
    return value


def with_retries(
    attempt_fn: Callable[[], T],
    policy: RetryPolicy,
    log: DebugLog = NO_LOG,
) -> T:
    """Call ``attempt_fn`` until it succeeds, fails for good, or retries run out."""
    attempt = 0
    while True:
        try:
            return attempt_fn()
        except DialError as err:
            if attempt >= policy.retries or not is_retryable(err):
                raise
            wait = policy.delay(attempt, getattr(err, "retry_after", None))
            attempt += 1
            log(f"retry {attempt}/{policy.retries} in {wait:.2f} s after: {err}")
            policy.sleep(wait)
