"""dial tokens: count tokens the way a deployment does (DIAL's tokenize endpoint)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialcli.cli import complete, options
from dialcli.config import Settings
from dialcli.errors import ServerError, UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.backends.base import Backend

HELP = """Count tokens the way a deployment does.

Counts a text, or a conversation as it would be sent next. The deployment counts
them (DIAL's tokenize endpoint), so only deployments whose listing offers
'tokenize' can. TEXT comes from the argument, stdin, or both, like 'dial ask'.
With -c/--cid the saved conversation is counted as the next request would send
it, with TEXT as its next question.

\b
Examples:
  dial tokens -m gpt-4o "How long is this?"
  cat notes.md | dial tokens -m gpt-4o
  dial tokens -c "and a follow-up question"
"""


@dataclass(frozen=True)
class TokensOptions:
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], Backend]
    text: str | None
    model: str
    continue_id: str | None = None
    as_json: bool = False


def tokens_command(
    ctx: typer.Context,
    text: Annotated[
        str | None,
        typer.Argument(help="Text to count; '-' reads stdin.", show_default=False, metavar="TEXT"),
    ] = None,
    model: options.Model = None,
    continue_last: Annotated[
        bool,
        typer.Option("--continue", "-c", help="Count the latest conversation as sent next."),
    ] = False,
    cid: Annotated[
        str | None,
        typer.Option(
            "--cid",
            help="Count this conversation (id or unique prefix) as sent next.",
            metavar="ID",
            autocompletion=complete.conversation_ids,
        ),
    ] = None,
    as_json: options.AsJson = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    io: IOStreams = ctx.obj
    if continue_last and cid:
        raise UsageError("give either -c/--continue or --cid, not both")
    settings = options.settings(
        ctx, backend=backend, verbose=verbose, retries=retries, timeout=timeout
    )
    from dialcli.backends import get_backend

    continue_id = "last" if continue_last else cid
    run_tokens(
        TokensOptions(
            io=io,
            settings=settings,
            make_backend=lambda: get_backend(settings, io),
            text=text,
            model=settings.resolve_model(model) if model or not continue_id else "",
            continue_id=continue_id,
            as_json=as_json,
        )
    )


def run_tokens(opts: TokensOptions) -> None:
    messages, model = _conversation(opts)
    text = _text(opts.io, opts.text, required=not messages)
    if messages:
        if text:
            messages.append({"role": "user", "content": text})
        item: dict[str, Any] = {"type": "request", "value": {"messages": messages}}
    else:
        item = {"type": "string", "value": text}
    with opts.make_backend() as backend:
        details = backend.deployment(model)
        features = details.get("features") if isinstance(details, dict) else None
        if not (isinstance(features, dict) and features.get("tokenize") is True):
            raise UsageError(
                f"deployment {model!r} cannot count tokens: its listing does not offer "
                "tokenize (features.tokenize is not true)"
            )
        outputs = backend.tokenize(model, [item])
    output = outputs[0] if outputs else None
    if not isinstance(output, dict) or output.get("status") != "success":
        reason = output.get("error") if isinstance(output, dict) else None
        raise ServerError(f"{model!r} could not count the tokens: {reason or 'no result'}")
    count = output.get("token_count")
    if not isinstance(count, int):
        raise ServerError(f"{model!r} answered tokenize without a token_count")
    if opts.as_json:
        import orjson

        opts.io.out(orjson.dumps({"model": model, "token_count": count}).decode() + "\n")
    else:
        opts.io.out(f"{count}\n")


def _conversation(opts: TokensOptions) -> tuple[list[dict[str, Any]], str]:
    """The saved conversation's messages as they would be sent, and the model to ask."""
    if not opts.continue_id:
        return [], opts.model
    from dialcli.store import Store

    store = Store(opts.settings.home)
    conv = store.load(store.resolve(opts.continue_id))
    return conv.request_messages(), opts.model or conv.model


def _text(io: IOStreams, arg: str | None, *, required: bool) -> str:
    from dialcli.prompt_input import read_prompt, read_stdin

    if required or arg is not None:
        return read_prompt(io, arg)
    if io.stdin_is_tty:
        return ""
    piped = read_stdin(io)
    return piped if piped.strip() else ""
