"""dial ask: one question, the answer streamed to stdout.

No ``from __future__ import annotations`` here: Typer reads the command's annotations
at every run, and as strings it would evaluate each one (building the command took
6.6 ms instead of 3.6).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, BinaryIO, NamedTuple, TextIO, cast

import typer

from dialcli.cli import complete, options
from dialcli.config import Settings
from dialcli.errors import UsageError
from dialcli.output import IOStreams
from dialcli.turn import TurnOptions

if TYPE_CHECKING:
    from dialcli.backends.base import Backend, Reply
    from dialcli.output import AnswerWriter
    from dialcli.session import Session

HELP = """Ask one question; the answer streams to stdout.

The prompt comes from PROMPT, from stdin when it is piped, or both: stdin's text,
a blank line, then PROMPT. Use '-' to read the prompt from stdin only. With -t, a
template's {{input}} field takes that text (see 'dial templates').

\b
Examples:
  dial ask "What is DIAL?" -m gpt-4o -m claude     # two models at once
  git diff | dial ask "write a commit message" -m gpt-4o
  dial ask -t translate -p text "good morning"
  dial ask -x "a bash one-liner that counts lines in *.py" | sh
"""

Models = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        help="Deployment (or alias) to use. Default: DIAL_MODEL. Repeat it to ask several "
        "models at once.",
        metavar="NAME",
        autocompletion=complete.model_names,
    ),
]


class AskOptions(NamedTuple):
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], "Backend"]
    prompt: str | None
    model: str
    system: str | None = None
    as_json: bool = False
    continue_id: str | None = None  # "last" for -c, an id or prefix for --cid
    save: bool = True
    attach: tuple[str, ...] = ()
    template: str | None = None  # -t: a local template name, dial:PATH, or a remote name
    params: tuple[tuple[str, str], ...] = ()  # -p NAME VALUE
    given: frozenset[str] = frozenset()  # settings given as flags: a template's yield to them
    save_as: str | None = None  # --save NAME: write a template instead of asking
    extract: str | None = None  # "first" (-x), "last" (--extract-last), None: the answer
    markdown: bool = False  # render on the terminal (decided from flag, config, tty)
    turn: TurnOptions = TurnOptions()  # immutable: one default serves every instance
    also: tuple[str, ...] = ()  # more models to ask at once (several -m)


def ask_command(
    ctx: typer.Context,
    prompt: Annotated[
        str | None,
        typer.Argument(
            help="The question; '-' reads it from stdin.", show_default=False, metavar="PROMPT"
        ),
    ] = None,
    model: Models = None,
    system: Annotated[
        str | None,
        typer.Option(
            "--system", "-s", help="System prompt for a new conversation.", metavar="TEXT"
        ),
    ] = None,
    template: options.TemplateName = None,
    params: options.Params = None,
    save_as: options.SaveAs = None,
    temperature: options.Temperature = None,
    max_tokens: options.MaxTokens = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="One non-streaming request; print at the end.")
    ] = False,
    as_json: options.AsJson = False,
    extract: options.Extract = False,
    extract_last: options.ExtractLast = False,
    markdown: options.Markdown = None,
    continue_last: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the latest conversation.")
    ] = False,
    cid: Annotated[
        str | None,
        typer.Option(
            "--cid",
            help="Continue the conversation with this id (or unique prefix).",
            metavar="ID",
            autocompletion=complete.conversation_ids,
        ),
    ] = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not save this exchange to history.")
    ] = False,
    attach: options.Attach = None,
    save_attachments: options.SaveAttachments = None,
    config_json: options.ConfigJson = None,
    stages: options.Stages = None,
    max_prompt_tokens: options.MaxPromptTokens = None,
    show_usage: options.ShowUsage = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    io: IOStreams = ctx.obj
    continue_id = options.continuation(continue_last, cid, "--cid", system=system, no_save=no_save)
    extract_mode = options.extract_mode(extract, extract_last)
    if extract_mode and as_json:
        raise UsageError("-x/--extract prints code, --json a document: choose one")
    models = model or []
    if len(models) > 1 and continue_id:
        raise UsageError(
            "several -m start new conversations; 'dial ask -c' afterwards continues the first"
        )
    if len(models) > 1 and (template or save_as or extract_mode):
        raise UsageError("-t, --save and -x take one model: give -m once")
    settings = options.settings(
        ctx, backend=backend, verbose=verbose, retries=retries, timeout=timeout
    )
    from dialcli.backends import get_backend

    opts = AskOptions(
        io=io,
        settings=settings,
        make_backend=lambda: get_backend(settings, io),
        prompt=prompt,
        model=settings.resolve_model(models[0] if models else None)
        if models or not continue_id
        else "",
        also=tuple(settings.resolve_model(name) for name in models[1:]),
        system=system if system is not None else settings.system,
        as_json=as_json,
        continue_id=continue_id,
        save=not no_save,
        attach=tuple(attach or ()),
        template=template,
        params=options.check_params(params),
        given=options.given(
            model=models or None,
            system=system,
            temperature=temperature,
            max_tokens=max_tokens,
            configuration=config_json,
        ),
        save_as=save_as,
        extract=extract_mode,
        markdown=options.markdown_on(markdown, settings, io) and not as_json,
        turn=TurnOptions(
            temperature=temperature,
            max_tokens=max_tokens,
            stream=not no_stream,
            configuration=options.parse_config_json(config_json),
            stages=options.stage_mode(stages, io),
            save_attachments=save_attachments,
            max_prompt_tokens=max_prompt_tokens or settings.max_prompt_tokens,
            show_usage=show_usage,
        ),
    )
    run_ask(opts)


def run_ask(opts: AskOptions) -> None:
    if opts.also:
        from dialcli.cli.ask_many import run_ask_many

        run_ask_many(opts)
        return
    from dialcli.answer_notes import after_answer
    from dialcli.conversation import Message, Role
    from dialcli.errors import NotFoundError
    from dialcli.turn import (
        attachments_in,
        attachments_out,
        exchange,
        open_session,
        report_finish,
        stage_reporter,
    )

    io = opts.io
    if opts.save_as:
        from dialcli.cli.use_template import save_template

        save_template(opts)
        return
    if opts.template:
        from dialcli.cli.use_template import apply_template

        opts, text = apply_template(opts)
    else:
        text = _read_prompt(io, opts.prompt)
    session = open_session(
        opts.settings,
        save=opts.save,
        ref=opts.continue_id,
        model=opts.model,
        system=opts.system,
    )
    writer = _writer(opts)
    with opts.make_backend() as backend:
        custom_content = attachments_in(list(opts.attach), backend)
        question = Message(Role.USER, text, custom_content=custom_content)
        try:
            reply = exchange(
                session,
                backend,
                question,
                opts.turn,
                writer,
                on_delta=stage_reporter(io, opts.turn.stages),
            )
        except NotFoundError as err:  # an unknown deployment: name the close ones
            from dialcli.model_cache import hint_unknown_model

            hint_unknown_model(err, opts.settings, session.model)
            raise
        turn = opts.turn
        after_answer(
            io,
            opts.settings,
            backend,
            reply,
            max_prompt_tokens=turn.max_prompt_tokens,
            show_usage=turn.show_usage,
        )
        if opts.as_json:
            _print_json(io, reply, session, backend, opts.settings)
        attachments_out(io, backend, reply, turn.save_attachments)
    report_finish(io, reply)
    if opts.extract:
        from dialcli.extract import required

        io.out(required(reply.content, last=opts.extract == "last") + "\n")


def _writer(opts: AskOptions) -> "AnswerWriter | None":
    """Where the answer streams: stdout as it is (a pipe: exactly as sent), rendered
    Markdown on a terminal, or with -x the terminal's stderr (the code comes at the end)."""
    from dialcli.output import AnswerWriter

    io = opts.io
    if opts.as_json:
        return None
    if opts.extract:
        live = cast("BinaryIO", _TextAsBytes(io.stderr))
        return AnswerWriter(live) if io.stderr_is_tty else None
    if opts.markdown:
        from dialcli.chat.markdown import MarkdownWriter

        return MarkdownWriter(io.stdout, before_first=lambda: None)
    return AnswerWriter(io.stdout)


class _TextAsBytes:
    """stderr is a text stream; AnswerWriter writes bytes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(data.decode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def _print_json(
    io: IOStreams, reply: "Reply", session: "Session", backend: "Backend", settings: Settings
) -> None:
    import orjson

    from dialcli.answer_notes import cost_of

    cost = cost_of(reply, backend, settings)
    document = {
        "model": reply.model,
        "content": reply.content,
        "finish_reason": reply.finish_reason,
        "usage": reply.usage,
        # Computed now from usage and the listing's prices; null when either is missing.
        "cost_usd": float(cost.usd) if cost is not None else None,
        "cost_approximate": cost.approximate if cost is not None else None,
        "latency_ms": reply.latency_ms,
        "response_model": reply.response_model,
        "responseId": reply.response_id,
        "conversation_id": session.id if session.store is not None else None,
    }
    if reply.refusal:
        document["refusal"] = reply.refusal
    if reply.custom_content:
        document["custom_content"] = reply.custom_content
    io.out(orjson.dumps(document).decode() + "\n")


def _read_prompt(io: IOStreams, arg: str | None) -> str:
    from dialcli.prompt_input import read_prompt

    return read_prompt(io, arg)
