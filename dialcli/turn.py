"""One turn of a conversation, shared by ``ask`` and ``chat``: its options, the session
it belongs to, and running one question to its recorded answer.

Neither ``cli/`` nor ``chat/`` repeats any of this; ``chat/`` imports it, never ``cli/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from dialcli.backends.base import Backend, ChatRequest, Delta, Reply, take_extras
from dialcli.errors import DialError, PipeClosed, Stopped, Terminated, UsageError
from dialcli.output import AnswerWriter

if TYPE_CHECKING:
    from dialcli.config import Settings
    from dialcli.conversation import Message
    from dialcli.output import IOStreams
    from dialcli.session import Session

# What stops an answer early on the user's side: Ctrl-C, SIGTERM, or the reader of
# stdout going away. What arrived is kept (marked interrupted) in each case.
STOPS = (KeyboardInterrupt, PipeClosed, Terminated)


class AnswerInterrupted(Stopped):
    """An answer stopped on the user's side while it arrived; ``partial`` holds what came."""

    def __init__(self, partial: Reply, cause: BaseException) -> None:
        super().__init__(cause)
        self.partial = partial


class TurnOptions(NamedTuple):
    """How every question of a conversation is asked, and its answer handled."""

    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    configuration: dict[str, Any] | None = None  # custom_fields.configuration
    stages: str = "none"  # none, names or full (see stages.py)
    save_attachments: Path | None = None
    max_prompt_tokens: int | None = None  # DIAL may leave out old turns to fit
    show_usage: bool = False  # -u: one usage line on stderr after each answer

    def custom_fields(self) -> dict[str, Any] | None:
        return {"configuration": self.configuration} if self.configuration else None


def open_session(
    settings: Settings,
    *,
    save: bool,
    ref: str | None,
    model: str,
    system: str | None = None,
    choose_system: Callable[[], str | None] | None = None,
) -> Session:
    """The saved conversation ``ref`` names (id, prefix, ``last``), or a new one.

    ``choose_system`` is asked for a new conversation's system prompt (chat's question
    on a terminal) once the model is known to be there.
    """
    from dialcli.session import Session
    from dialcli.store import Store

    store = Store(settings.home) if save else None
    if ref:
        if store is None:
            raise UsageError("--no-save starts a new conversation; it cannot continue one")
        return Session.resume(store, ref, model=model or None)
    if not model:
        raise UsageError("no model: pass -m NAME or set DIAL_MODEL (see 'dial models')")
    if choose_system is not None:
        system = choose_system()
    return Session.new(store, model, system)


def stage_reporter(
    io: IOStreams, mode: str, before: Callable[[], None] | None = None
) -> Callable[[Delta], None] | None:
    """What shows stages on stderr as they arrive; ``before`` runs before a stage line."""
    if mode == "none":
        return None
    from dialcli.stages import StageReporter

    report = StageReporter(io.stderr, mode)
    if before is None:
        return report

    def on_delta(delta: Delta) -> None:
        if delta.custom_content and delta.custom_content.get("stages"):
            before()
        report(delta)

    return on_delta


def attachments_in(refs: list[str], backend: Backend) -> dict[str, Any] | None:
    """Upload local files and describe URLs, before any completion request is made."""
    if not refs:
        return None
    from dialcli import attachments

    return {"attachments": attachments.prepare(refs, backend)}


def attachments_out(io: IOStreams, backend: Backend, reply: Reply, into: Path | None) -> None:
    """Name (and with ``into``, save) the files an answer came with."""
    if reply.custom_content and reply.custom_content.get("attachments"):
        from dialcli import attachments

        attachments.report(io, backend, reply.custom_content, into)


def end_answer(writer: AnswerWriter | None, *, always: bool = False) -> None:
    """After a failure or an interrupt: end what was written with its newline."""
    if writer is not None and (always or writer.written):
        with suppress(PipeClosed):
            writer.finish()


def exchange(
    session: Session,
    backend: Backend,
    question: Message,
    opts: TurnOptions,
    writer: AnswerWriter | None,
    *,
    on_delta: Callable[[Delta], None] | None = None,
    replace: bool = False,
    end_always: bool = False,
    keep_unanswered: bool = False,
) -> Reply:
    """Ask ``question`` in ``session``; write the answer; record it (``replace``: in place
    of the last exchange, for /retry). A failure records nothing; an interrupt records
    what arrived, marked interrupted (with ``keep_unanswered``, also when nothing did:
    the chat keeps the question), and is re-raised as ``AnswerInterrupted``."""
    request = session.request(
        question,
        temperature=opts.temperature,
        max_tokens=opts.max_tokens,
        custom_fields=opts.custom_fields(),
        max_prompt_tokens=opts.max_prompt_tokens,
        replace=replace,
    )
    try:
        reply = run_turn(backend, request, writer, stream=opts.stream, on_delta=on_delta)
    except AnswerInterrupted as stop:
        end_answer(writer, always=end_always)
        if stop.partial.content or (keep_unanswered and not replace):
            session.record(question, stop.partial, interrupted=True, replace=replace)
        raise
    except DialError:
        end_answer(writer, always=end_always)  # what arrived stays; nothing is saved
        raise
    if writer is not None:
        writer.finish()
    session.record(question, reply, replace=replace)
    return reply


def report_finish(io: IOStreams, reply: Reply) -> None:
    """Say on stderr why an answer stopped, when it stopped for a reason.

    ``length``: cut at the token limit, still an answer (exit 0). ``content_filter``:
    what arrived stays shown and saved, and the turn fails (exit 1). A refusal is shown.
    """
    from dialcli.backends.replies import one_line
    from dialcli.errors import ContentFilteredError

    if reply.refusal:
        io.err(f"dial: refusal: {one_line(reply.refusal)}")
    if reply.finish_reason == "length":
        io.err("dial: the answer was cut at the token limit (finish_reason: length)")
    elif reply.finish_reason == "content_filter":
        raise ContentFilteredError(
            "the answer was stopped by the content filter (finish_reason: content_filter)"
        )


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
    clock = _Clock()
    if stream:
        return _streamed(backend, request, writer, on_delta, clock)
    return _completed(backend, request, writer, clock)


class _Clock:
    """Latency of one answer: to its first piece (``first_byte``) and to its end."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.first: float | None = None

    def mark(self) -> None:
        if self.first is None:
            self.first = time.monotonic()

    def stamp(self, reply: Reply, request: ChatRequest) -> Reply:
        now = time.monotonic()
        first = self.first if self.first is not None else now
        reply.latency_ms = {
            "first_byte": round((first - self.start) * 1000),
            "total": round((now - self.start) * 1000),
        }
        reply.sent = request.messages
        return reply


def _completed(
    backend: Backend, request: ChatRequest, writer: AnswerWriter | None, clock: _Clock
) -> Reply:
    """``--no-stream``: one request, the answer written whole (its first byte is its last)."""
    reply = Reply(model=request.model)
    try:
        reply = backend.complete(request)
    except STOPS as err:
        raise AnswerInterrupted(clock.stamp(reply, request), err) from None
    clock.stamp(reply, request)
    if writer is not None:
        try:
            writer.write(reply.content)
        except PipeClosed as err:
            raise AnswerInterrupted(reply, err) from None
    return reply


def _streamed(
    backend: Backend,
    request: ChatRequest,
    writer: AnswerWriter | None,
    on_delta: Callable[[Delta], None] | None,
    clock: _Clock,
) -> Reply:
    reply = Reply(model=request.model)
    parts: list[str] = []
    custom: dict[str, Any] = {}
    try:
        for delta in backend.stream(request):
            clock.mark()
            if delta.text:
                parts.append(delta.text)
                if writer is not None:
                    writer.write(delta.text)
            take_extras(reply, custom, delta)
            if on_delta is not None:
                on_delta(delta)
    except STOPS as err:
        reply.content = "".join(parts)
        reply.custom_content = custom or None
        raise AnswerInterrupted(clock.stamp(reply, request), err) from None
    except DialError as err:
        if parts:
            err.message = f"answer incomplete: {err.message}"
        raise
    reply.content = "".join(parts)
    reply.custom_content = custom or None
    return clock.stamp(reply, request)
