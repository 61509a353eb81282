"""dial ask with several -m: the same question to each model at once (see fanout.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    _record(sessions, answers, question)
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
