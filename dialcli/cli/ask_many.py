"""dial ask with several -m: the same question to each model at once (see fanout.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialcli.backends.base import Backend, Reply
    from dialcli.cli.ask import AskOptions
    from dialcli.fanout import Answer
    from dialcli.session import Session


def run_ask_many(opts: AskOptions) -> None:
    """Ask every model; show the answers in order; save each as its own conversation."""
    from dialcli.cli.ask import _read_prompt
    from dialcli.conversation import Message, Role
    from dialcli.engine import get_async_backend
    from dialcli.fanout import ask_all
    from dialcli.turn import attachments_in, open_session

    io, settings = opts.io, opts.settings.with_key()
    text = _read_prompt(io, opts.prompt)
    models = [opts.model, *opts.also]
    sessions = [
        open_session(settings, save=opts.save, ref=None, model=model, system=opts.system)
        for model in models
    ]
    custom_content = None
    if opts.attach:
        # Uploaded once; every model gets the same files.
        with opts.make_backend() as backend:
            custom_content = attachments_in(list(opts.attach), backend)
    question = Message(Role.USER, text, custom_content=custom_content)
    turn = opts.turn
    requests = [
        session.request(
            question,
            temperature=turn.temperature,
            max_tokens=turn.max_tokens,
            custom_fields=turn.custom_fields(),
            max_prompt_tokens=turn.max_prompt_tokens,
        )
        for session in sessions
    ]
    from dialcli.fanout import AnswersInterrupted

    try:
        answers = ask_all(
            io,
            requests,
            lambda n: get_async_backend(settings, io, connections=n),
            retries=settings.retries,
            stream=turn.stream,
            as_json=opts.as_json,
            conversation_ids=[s.id if s.store is not None else None for s in sessions],
        )
    except AnswersInterrupted as stop:
        _record(sessions, stop.answers, question)  # what arrived, as a single ask keeps it
        raise
    for answer, request in zip(answers, requests, strict=True):
        if answer.reply is not None:
            answer.reply.sent = request.messages  # what -u and left-out turns refer to
    _record(sessions, answers, question)
    _after_answers(opts, answers)
    failed = [answer.error for answer in answers if answer.error is not None]
    if failed:
        # The first failure's kind gives the exit code; each was shown on its own line.
        summary = type(failed[0])(f"{len(failed)} of {len(models)} models failed")
        raise summary


def _record(sessions: list[Session], answers: list[Answer], question: object) -> None:
    """Save each answered exchange (an interrupted one with what arrived, marked so);
    the first model's last and newest, for ``-c``."""
    newest = ""
    for session, answer in reversed(list(zip(sessions, answers, strict=True))):
        partial = answer.partial()
        reply = answer.reply or partial
        if reply is None:
            continue
        conversation = session.conversation
        if newest and conversation.updated <= newest:
            conversation.updated = _after(newest)
        session.record(question, reply, interrupted=partial is not None)  # type: ignore[arg-type]
        newest = max(newest, conversation.updated)


def _after(stamp: str) -> str:
    """An ISO 8601 UTC timestamp one millisecond after ``stamp`` (same format)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(milliseconds=1)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _after_answers(opts: AskOptions, answers: list[Answer]) -> None:
    """What a single ask shows after its answer, for each model in order and named:
    stages (--stages), turns left out, usage (-u), why it stopped, attachments. A
    content-filtered answer counts as that model's failure."""
    from dialcli.errors import ContentFilteredError

    io, turn = opts.io, opts.turn
    replies = [(answer, answer.reply) for answer in answers if answer.reply is not None]
    for answer, reply in replies:
        if turn.stages != "none":
            _show_stages(opts, answer.model, reply)
        if reply.finish_reason == "length":
            io.err(f"dial: {answer.model}: the answer was cut at the token limit")
        elif reply.finish_reason == "content_filter":
            answer.error = ContentFilteredError(
                f"{answer.model}: the answer was stopped by the content filter"
            )
            io.err(f"dial: {answer.error}")
    wanted = [
        (answer, reply)
        for answer, reply in replies
        if turn.show_usage or reply.statistics or _has_attachments(reply)
    ]
    if not wanted:
        return
    with opts.make_backend() as backend:  # prices for -u, downloads for attachments
        for answer, reply in wanted:
            _usage_and_files(opts, backend, answer.model, reply)


def _show_stages(opts: AskOptions, model: str, reply: Reply) -> None:
    from dialcli.backends.base import Delta
    from dialcli.stages import StageReporter

    stages = (reply.custom_content or {}).get("stages")
    if stages:
        opts.io.err(f"dial: {model}: stages")
        StageReporter(opts.io.stderr, opts.turn.stages)(Delta(custom_content={"stages": stages}))


def _has_attachments(reply: Reply) -> bool:
    return bool((reply.custom_content or {}).get("attachments"))


def _usage_and_files(opts: AskOptions, backend: Backend, model: str, reply: Reply) -> None:
    from dialcli.answer_notes import after_answer
    from dialcli.turn import attachments_out

    io, turn = opts.io, opts.turn
    after_answer(
        io,
        opts.settings,
        backend,
        reply,
        max_prompt_tokens=turn.max_prompt_tokens,
        show_usage=turn.show_usage,
        label=model,
    )
    if _has_attachments(reply):
        io.err(f"dial: {model}: attachments")
        attachments_out(io, backend, reply, turn.save_attachments)
