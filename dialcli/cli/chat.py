"""dial chat: an interactive conversation, or a scripted one from stdin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

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
SYSTEM_QUESTION = "Enter system prompt (or press Enter for the default): "
RESUME_SHOWN = 3  # exchanges shown when a conversation is resumed

HELP = """Chat with a model; every turn is saved.

On a terminal: line editing and history, /help for the commands (/model, /system,
/retry, /history, /new, /attach, /exit), \"\"\" on a line of its own for multi-line input,
answers rendered as Markdown. Without a terminal each stdin line is one turn and
only the answers are printed, so a chat can be scripted. Every exchange is saved.

\b
Examples:
  dial chat -m gpt-4o
  dial chat -c
  printf 'hi\\n/model inspect\\nwhat did I say?\\n' | dial chat -m echo
"""


@dataclass(frozen=True)
class ChatOptions:
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], Backend]
    model: str
    system: str | None = None  # None: ask on a terminal, else the default
    resume_id: str | None = None  # "last" for -c, an id or prefix for --resume
    save: bool = True
    markdown: bool | None = None  # None: on for a colour terminal (or config's choice)
    turn: TurnOptions = field(default_factory=TurnOptions)
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
            resume_id=resume_id,
            save=not no_save,
            markdown=markdown,
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
        )
        loop = ChatLoop(config, session, lines, interactive=interactive)
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
    return TerminalInput(opts.settings.home) if interactive else StreamInput(opts.io)


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
        system = opts.system
        if system is None and interactive:
            try:
                system = lines.read(SYSTEM_QUESTION).strip()
            except EOFError:
                opts.io.out("\n")
                raise _LeftAtTheQuestion from None
            except KeyboardInterrupt:
                opts.io.out("\n")
                raise
        if not system and opts.system is None:  # Enter, or a script without -s
            system = opts.settings.system or DEFAULT_SYSTEM_PROMPT
        return system or None

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
