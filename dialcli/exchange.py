"""One question and its answer: stream the reply to a writer and assemble it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dialcli.backends.base import Backend, ChatRequest, Delta, Reply, merge_custom_content
from dialcli.errors import DialError
from dialcli.output import AnswerWriter, PipeClosed

# What stops an answer early on the user's side: Ctrl-C, SIGTERM, or the reader of
# stdout going away. What arrived is kept (marked interrupted) in each case.
STOPS = (KeyboardInterrupt, PipeClosed)


class AnswerInterrupted(Exception):
    """Ctrl-C or SIGTERM arrived while the answer streamed; ``partial`` holds what came."""

    def __init__(self, partial: Reply, cause: BaseException) -> None:
        super().__init__("interrupted")
        self.partial = partial
        self.cause = cause


class Terminated(BaseException):
    """Raised from the SIGTERM handler so cleanup runs as for Ctrl-C (exit 143)."""


def run_turn(
    backend: Backend,
    request: ChatRequest,
    writer: AnswerWriter | None,
    *,
    stream: bool = True,
    on_delta: Callable[[Delta], None] | None = None,
) -> Reply:
    """Send ``request``; write text as it arrives; return the whole reply.

    A failure after text arrived says the answer is incomplete; what arrived stays
    written. Interrupts become ``AnswerInterrupted`` carrying the partial reply.
    """
    reply = Reply(model=request.model)
    if not stream:
        try:
            reply = backend.complete(request)
        except (*STOPS, Terminated) as err:
            raise AnswerInterrupted(reply, err) from None
        if writer is not None:
            try:
                writer.write(reply.content)
            except PipeClosed as err:
                raise AnswerInterrupted(reply, err) from None
        return reply
    parts: list[str] = []
    custom: dict[str, Any] = {}
    try:
        for delta in backend.stream(request):
            if delta.text:
                parts.append(delta.text)
                if writer is not None:
                    writer.write(delta.text)
            if delta.custom_content:
                merge_custom_content(custom, delta.custom_content)
            if delta.finish_reason:
                reply.finish_reason = delta.finish_reason
            if delta.usage:
                reply.usage = delta.usage
            if on_delta is not None:
                on_delta(delta)
    except (*STOPS, Terminated) as err:
        reply.content = "".join(parts)
        reply.custom_content = custom or None
        raise AnswerInterrupted(reply, err) from None
    except DialError as err:
        if parts:
            err.message = f"answer incomplete: {err.message}"
        raise
    reply.content = "".join(parts)
    reply.custom_content = custom or None
    return reply
