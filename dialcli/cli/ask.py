"""dial ask: one question, the answer streamed to stdout."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialcli.cli import options
from dialcli.config import Settings
from dialcli.errors import DialError, UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.backends.base import Backend, Delta, Reply
    from dialcli.session import Session

HELP = """Ask one question; the answer streams to stdout.

The prompt comes from PROMPT, from stdin when it is piped, or both: stdin's text,
a blank line, then PROMPT. Use '-' to read the prompt from stdin only.

\b
Examples:
  dial ask "What is DIAL?"
  git diff | dial ask "write a commit message" -m gpt-4o
  cat app.py | dial ask "find the bug" --json | jq -r .content
  dial ask -c "and now in French"
"""


@dataclass(frozen=True)
class AskOptions:
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], Backend]
    prompt: str | None
    model: str
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stream: bool = True
    as_json: bool = False
    continue_id: str | None = None  # "last" for -c, an id or prefix for --cid
    save: bool = True
    attach: tuple[str, ...] = ()
    save_attachments: Path | None = None
    configuration: dict[str, Any] | None = None
    stages: str = "none"


def ask_command(
    ctx: typer.Context,
    prompt: Annotated[
        str | None,
        typer.Argument(
            help="The question; '-' reads it from stdin.", show_default=False, metavar="PROMPT"
        ),
    ] = None,
    model: options.Model = None,
    system: Annotated[
        str | None,
        typer.Option(
            "--system", "-s", help="System prompt for a new conversation.", metavar="TEXT"
        ),
    ] = None,
    temperature: options.Temperature = None,
    max_tokens: options.MaxTokens = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="One non-streaming request; print at the end.")
    ] = False,
    as_json: options.AsJson = False,
    continue_last: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the latest conversation.")
    ] = False,
    cid: Annotated[
        str | None,
        typer.Option(
            "--cid",
            help="Continue the conversation with this id (or unique prefix).",
            metavar="ID",
            autocompletion=options.CONVERSATION_COMPLETION,
        ),
    ] = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not save this exchange to history.")
    ] = False,
    attach: options.Attach = None,
    save_attachments: options.SaveAttachments = None,
    config_json: options.ConfigJson = None,
    stages: options.Stages = None,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    io: IOStreams = ctx.obj
    continue_id = options.continuation(continue_last, cid, "--cid", system=system, no_save=no_save)
    settings = options.resolve(backend, verbose, retries, timeout)
    from dialcli.backends import get_backend

    opts = AskOptions(
        io=io,
        settings=settings,
        make_backend=lambda: get_backend(settings, io),
        prompt=prompt,
        model=settings.resolve_model(model) if model or not continue_id else "",
        system=system if system is not None else settings.system,
        temperature=temperature,
        max_tokens=max_tokens,
        stream=not no_stream,
        as_json=as_json,
        continue_id=continue_id,
        save=not no_save,
        attach=tuple(attach or ()),
        save_attachments=save_attachments,
        configuration=options.parse_config_json(config_json),
        stages=options.stage_mode(stages, io),
    )
    run_ask(opts)


def run_ask(opts: AskOptions) -> None:
    from dialcli.exchange import AnswerInterrupted, run_turn
    from dialcli.output import AnswerWriter, PipeClosed

    io = opts.io
    text = _read_prompt(io, opts.prompt)
    session = open_session(opts)
    writer = None if opts.as_json else AnswerWriter(io.stdout)
    with opts.make_backend() as backend:
        request, question = session.request(
            text,
            temperature=opts.temperature,
            max_tokens=opts.max_tokens,
            custom_fields={"configuration": opts.configuration} if opts.configuration else None,
            custom_content=_attachments_in(opts, backend),
        )
        try:
            reply = run_turn(
                backend, request, writer, stream=opts.stream, on_delta=_stage_reporter(opts)
            )
        except AnswerInterrupted as stop:
            if writer is not None and writer.written:
                with suppress(PipeClosed):
                    writer.finish()
            if stop.partial.content:
                session.record(question, stop.partial, interrupted=True)
            raise
        except DialError:
            if writer is not None and writer.written:
                writer.finish()  # what arrived stays, ended by a newline; nothing is saved
            raise
        if writer is not None:
            writer.finish()
        session.record(question, reply)
        if writer is None:
            _print_json(io, reply, session)
        _attachments_out(opts, backend, reply)


def _attachments_in(opts: AskOptions, backend: Backend) -> dict[str, Any] | None:
    """Upload local files and describe URLs, before any completion request is made."""
    if not opts.attach:
        return None
    from dialcli import attachments

    return {"attachments": attachments.prepare(list(opts.attach), backend)}


def _stage_reporter(opts: AskOptions) -> Callable[[Delta], None] | None:
    if opts.stages == "none":
        return None
    from dialcli.stages import StageReporter

    return StageReporter(opts.io.stderr, opts.stages)


def _attachments_out(opts: AskOptions, backend: Backend, reply: Reply) -> None:
    if reply.custom_content and reply.custom_content.get("attachments"):
        from dialcli import attachments

        attachments.report(opts.io, backend, reply.custom_content, opts.save_attachments)


def _print_json(io: IOStreams, reply: Reply, session: Session) -> None:
    import orjson

    document = {
        "model": reply.model,
        "content": reply.content,
        "finish_reason": reply.finish_reason,
        "usage": reply.usage,
        "conversation_id": session.id if session.store is not None else None,
    }
    if reply.custom_content:
        document["custom_content"] = reply.custom_content
    io.out(orjson.dumps(document).decode() + "\n")


def open_session(opts: AskOptions) -> Session:
    """A new conversation, or the saved one that -c/--cid names."""
    from dialcli.session import Session
    from dialcli.store import Store

    store = Store(opts.settings.home) if opts.save else None
    if opts.continue_id:
        assert store is not None
        return Session.resume(store, opts.continue_id, model=opts.model or None)
    if not opts.model:
        raise UsageError("no model: pass -m NAME or set DIAL_MODEL (see 'dial models')")
    return Session.new(store, opts.model, opts.system)


def _read_prompt(io: IOStreams, arg: str | None) -> str:
    from dialcli.prompt_input import read_prompt

    return read_prompt(io, arg)
