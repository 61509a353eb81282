"""dial chat: an interactive conversation, or a scripted one from stdin."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from dialcli.cli import complete, options
from dialcli.config import Settings
from dialcli.errors import DialError
from dialcli.output import IOStreams
from dialcli.turn import TurnOptions

if TYPE_CHECKING:
    from dialcli.backends.base import Backend
    from dialcli.chat.lineinput import LineSource
    from dialcli.session import Session

# Used when the user presses Enter at the system-prompt question (and in scripted
# chats without -s) unless config.toml sets `system`.
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant."
SYSTEM_QUESTION = f"System prompt (Enter for the default: {DEFAULT_SYSTEM_PROMPT}): "
RESUME_SHOWN = 3  # exchanges shown when a conversation is resumed

HELP = """Chat with a model; every turn is saved.

On a terminal: line editing and history, Tab completion, /help for the commands
(/model, /system, /retry, /edit, /undo, /copy, /save, /history, /new, /attach, /exit),
\"\"\" on a line of its own for multi-line input, answers rendered as Markdown.
Without a terminal each stdin line is one turn and only the answers are printed, so a
chat can be scripted. Every exchange is saved.

\b
Examples:
  dial chat -m gpt-4o
  dial chat -c
  printf 'hi\\n/model inspect\\nwhat did I say?\\n' | dial chat -m echo
"""


class ChatOptions(NamedTuple):
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], Backend]
    model: str
    system: str | None = None  # None: config's, else ask on a terminal, else the default
    ask_system: bool = True  # False: --no-system-prompt-question
    resume_id: str | None = None  # "last" for -c, an id or prefix for --resume
    save: bool = True
    markdown: bool | None = None  # None: on for a colour terminal (or config's choice)
    template: str | None = None  # -t NAME: its settings, and its prompt as the first question
    params: tuple[tuple[str, str], ...] = ()  # -p NAME VALUE
    given: frozenset[str] = frozenset()  # settings given as flags: a template's yield to them
    turn: TurnOptions = TurnOptions()  # immutable: one default serves every instance
    make_lines: Callable[[], LineSource] | None = None  # tests pass scripted input


def chat_command(
    ctx: typer.Context,
    model: options.Model = None,
    system: Annotated[
        str | None,
        typer.Option(
            "--system",
            "-s",
            help="System prompt for a new conversation (no question).",
            metavar="TEXT",
        ),
    ] = None,
    no_system_question: Annotated[
        bool,
        typer.Option(
            "--no-system-prompt-question",
            help="Do not ask for a system prompt; take the default (also: system_question "
            "= false in config.toml).",
        ),
    ] = False,
    template: options.TemplateName = None,
    params: options.Params = None,
    temperature: options.Temperature = None,
    max_tokens: options.MaxTokens = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="Non-streaming requests; each answer at its end.")
    ] = False,
    continue_last: Annotated[
        bool, typer.Option("--continue", "-c", help="Resume the latest conversation.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option(
            "--resume",
            help="Resume the conversation with this id (or unique prefix).",
            metavar="ID",
            autocompletion=complete.conversation_ids,
        ),
    ] = None,
    markdown: Annotated[
        bool | None,
        typer.Option(
            "--markdown/--no-markdown",
            help="Render answers as Markdown (default: on a terminal without NO_COLOR).",
            show_default=False,
        ),
    ] = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not save this chat to history.")
    ] = False,
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
    resume_id = options.continuation(
        continue_last, resume, "--resume", system=system, no_save=no_save
    )
    settings = options.settings(
        ctx, backend=backend, verbose=verbose, retries=retries, timeout=timeout
    )
    from dialcli.backends import get_backend

    run_chat(
        ChatOptions(
            io=io,
            settings=settings,
            make_backend=lambda: get_backend(settings, io),
            model=settings.resolve_model(model) if model or not resume_id else "",
            system=system,
            ask_system=not no_system_question,
            resume_id=resume_id,
            save=not no_save,
            markdown=markdown,
            template=template,
            params=options.check_params(params),
            given=options.given(
                model=model,
                system=system,
                temperature=temperature,
                max_tokens=max_tokens,
                configuration=config_json,
            ),
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
    )


def run_chat(opts: ChatOptions) -> None:
    """Open (or resume) the conversation and run the loop until the user leaves."""
    from dialcli.chat.repl import ChatConfig, ChatLoop

    interactive = opts.io.stdin_is_tty and opts.io.stdout_is_tty
    first = None
    if opts.template:
        from dialcli.cli.use_template import apply_chat_template

        opts, first = apply_chat_template(opts)
    lines = _make_lines(opts, interactive)
    try:
        session = _open_session(opts, lines, interactive)
        if session is None:
            return
        if opts.resume_id and interactive:
            from dialcli.render import transcript

            opts.io.out(transcript(session.conversation, last=RESUME_SHOWN) + "\n")
        config = ChatConfig(
            io=opts.io,
            make_backend=opts.make_backend,
            resolve_model=opts.settings.resolve_model,
            turn=opts.turn,
            markdown=_markdown(opts, interactive),
            settings=opts.settings,
            known_models=lambda: _known_models(opts.settings),
        )
        loop = ChatLoop(config, session, lines, interactive=interactive)
        if first is not None:
            if interactive:
                opts.io.out(f"You: {first}\n")
            loop.ask(first)
        loop.run()
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            close()
    if loop.failures and not interactive:
        # A script learns that something failed; each failure was reported as it happened.
        summary = DialError(f"{len(loop.failures)} input(s) of the chat failed (see above)")
        summary.exit_code = loop.failures[-1].exit_code
        raise summary


def _make_lines(opts: ChatOptions, interactive: bool) -> LineSource:
    from dialcli.chat.lineinput import StreamInput, TerminalInput

    if opts.make_lines is not None:
        return opts.make_lines()
    if not interactive:
        return StreamInput(opts.io)
    return TerminalInput(opts.settings.home, models=lambda: _known_models(opts.settings))


def _known_models(settings: Settings) -> list[str]:
    """Deployment ids from the model cache (listed again when stale), and the aliases."""
    from dialcli import model_cache

    return [*model_cache.models_for_completion(settings), *settings.aliases]


def _markdown(opts: ChatOptions, interactive: bool) -> bool:
    """Markdown only on a terminal: the flag, else config.toml, else unless NO_COLOR."""
    chosen = opts.markdown
    if chosen is None:
        chosen = opts.settings.markdown
    if chosen is None:
        chosen = not opts.io.no_color
    return bool(chosen) and interactive


class _LeftAtTheQuestion(Exception):
    """The user pressed Ctrl-D at the system-prompt question."""


def _open_session(opts: ChatOptions, lines: LineSource, interactive: bool) -> Session | None:
    """The conversation to continue or start; None if the user left at the first question."""
    from dialcli.turn import open_session

    def choose_system() -> str | None:
        if opts.system is not None:  # -s, even -s "" (no system prompt)
            return opts.system or None
        configured = opts.settings.system
        if configured is not None:
            return configured or None
        if interactive and opts.ask_system and opts.settings.system_question:
            try:
                system = lines.read(SYSTEM_QUESTION).strip()
            except EOFError:
                opts.io.out("\n")
                raise _LeftAtTheQuestion from None
            except KeyboardInterrupt:
                opts.io.out("\n")
                raise
            if system:
                return system
        return DEFAULT_SYSTEM_PROMPT

    try:
        return open_session(
            opts.settings,
            save=opts.save,
            ref=opts.resume_id,
            model=opts.model,
            choose_system=choose_system,
        )
    except _LeftAtTheQuestion:
        return None
