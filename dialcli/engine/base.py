"""The async backend contract: one attempt per call, the same errors as the sync side."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Any

from dialcli.backends.base import ChatRequest, Delta, Reply, take_extras
from dialcli.errors import DialError


class AsyncBackend(ABC):
    """Talks to DIAL from coroutines. Raises only ``DialError`` subclasses.

    Unlike the sync backends, a call makes exactly one attempt: retrying belongs to the
    ``Runner``, which paces every task's retries together.
    """

    name: str = ""

    @abstractmethod
    def astream(self, request: ChatRequest) -> AsyncIterator[Delta]:
        """Yield text deltas as they arrive, then one with finish reason and usage."""

    @abstractmethod
    async def acomplete(self, request: ChatRequest) -> Reply:
        """One non-streaming request."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


async def collect(
    backend: AsyncBackend,
    request: ChatRequest,
    *,
    stream: bool = True,
    on_text: Callable[[str], None] | None = None,
) -> Reply:
    """The whole reply to ``request``; ``on_text`` sees the text as it streams in.

    A failure after text arrived says the answer is incomplete, as on the sync path.
    """
    started = time.monotonic()
    first: float | None = None
    if not stream:
        reply = await backend.acomplete(request)
        if on_text is not None and reply.content:
            on_text(reply.content)
        return _stamped(reply, started, None)
    reply = Reply(model=request.model)
    parts: list[str] = []
    custom: dict[str, Any] = {}
    try:
        async for delta in backend.astream(request):
            first = first if first is not None else time.monotonic()
            if delta.text:
                parts.append(delta.text)
                if on_text is not None:
                    on_text(delta.text)
            take_extras(reply, custom, delta)
    except DialError as err:
        if parts:
            err.message = f"answer incomplete: {err.message}"
            err.args = (err.message,)
        raise
    reply.content = "".join(parts)
    reply.custom_content = custom or None
    return _stamped(reply, started, first)


def _stamped(reply: Reply, started: float, first: float | None) -> Reply:
    """``latency_ms`` as the sync path records it: to the first piece, and to the end."""
    now = time.monotonic()
    reply.latency_ms = {
        "first_byte": round(((first or now) - started) * 1000),
        "total": round((now - started) * 1000),
    }
    return reply
