"""dial ask: one question, the answer streamed to stdout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from dialcli.cli import options
from dialcli.config import Settings, resolve_settings
from dialcli.errors import DialError, UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.backends.base import Backend

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


def ask_command(
    ctx: typer.Context,
    prompt: Annotated[
        str | None,
        typer.Argument(help="The question; '-' reads it from stdin.", show_default=False),
    ] = None,
    model: options.Model = None,
    system: Annotated[
        str | None, typer.Option("--system", "-s", help="System prompt for a new conversation.")
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option("--temperature", "-t", min=0.0, max=2.0, help="Sampling temperature, 0 to 2."),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="Longest answer, in tokens.")
    ] = None,
    no_stream: Annotated[
        bool, typer.Option("--no-stream", help="One non-streaming request; print at the end.")
    ] = False,
    as_json: options.AsJson = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    io: IOStreams = ctx.obj
    settings = resolve_settings(
        options.flags(backend=backend, verbose=verbose, retries=retries, read_timeout=timeout)
    )
    from dialcli.backends import get_backend

    opts = AskOptions(
        io=io,
        settings=settings,
        make_backend=lambda: get_backend(settings, io),
        prompt=prompt,
        model=settings.resolve_model(model),
        system=system if system is not None else settings.system,
        temperature=temperature,
        max_tokens=max_tokens,
        stream=not no_stream,
        as_json=as_json,
    )
    run_ask(opts)


def run_ask(opts: AskOptions) -> None:
    from dialcli.backends.base import ChatRequest
    from dialcli.conversation import Conversation, Role
    from dialcli.exchange import AnswerInterrupted, run_turn
    from dialcli.output import AnswerWriter

    io = opts.io
    text = _read_prompt(io, opts.prompt)
    if not opts.model:
        raise UsageError("no model: pass -m NAME or set DIAL_MODEL (see 'dial models')")
    conversation = Conversation(model=opts.model, system=opts.system)
    conversation.add(Role.USER, text)
    request = ChatRequest(
        model=opts.model,
        messages=conversation.request_messages(),
        temperature=opts.temperature,
        max_tokens=opts.max_tokens,
    )
    writer = None if opts.as_json else AnswerWriter(io.stdout)
    with opts.make_backend() as backend:
        try:
            reply = run_turn(backend, request, writer, stream=opts.stream)
        except (DialError, AnswerInterrupted):
            if writer is not None and writer.written:
                writer.finish()  # what arrived stays, ended by a newline
            raise
    if writer is not None:
        writer.finish()
    else:
        import orjson

        document = {
            "model": reply.model,
            "content": reply.content,
            "finish_reason": reply.finish_reason,
            "usage": reply.usage,
        }
        if reply.custom_content:
            document["custom_content"] = reply.custom_content
        io.out(orjson.dumps(document).decode() + "\n")


def _read_prompt(io: IOStreams, arg: str | None) -> str:
    from dialcli.prompt_input import read_prompt

    return read_prompt(io, arg)
