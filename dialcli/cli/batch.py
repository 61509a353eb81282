"""dial batch: many prompts, answered side by side, results as JSON Lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

from dialcli.cli import options
from dialcli.config import Settings
from dialcli.errors import UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dialcli.batch.items import Item, Recipe
    from dialcli.batch.run import Summary

HELP = """Answer many prompts at once; results stream out as JSON Lines.

Items come from stdin or -i FILE: JSON Lines (a 'prompt' or 'messages' field, or
fields for --template), CSV with a header, or plain lines (--lines). Each result line
is the item's fields plus answer, finish_reason, usage, model, latency_ms and error,
in input order unless --unordered. Exit status: 0 all answered, 1 some failed,
2 bad options or input file, 130 interrupted (what finished is written).

\b
Examples:
  dial batch -i tickets.jsonl -T 'Classify: {{text}}' -m gpt-4o > out.jsonl
  ls *.md | dial batch --lines -T 'Summarise the file name {{line}}' --format text
  dial batch -i tickets.csv -T @prompt.txt -j 8 --resume out.jsonl
"""


@dataclass(frozen=True)
class BatchOptions:
    io: IOStreams
    settings: Settings
    model: str
    input_path: Path | None = None
    input_format: str | None = None  # jsonl, csv, lines; None: by name or first line
    template: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    configuration: dict[str, Any] | None = None
    attach: tuple[str, ...] = ()
    jobs: int = 4
    rpm: float | None = None
    ordered: bool = True
    text: bool = False
    resume: Path | None = None
    save: bool = False
    quiet: bool = False
    stream: bool = True


def batch_command(
    ctx: typer.Context,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input", "-i", help="Read items from FILE (default: stdin).", metavar="FILE"
        ),
    ] = None,
    lines: Annotated[
        bool, typer.Option("--lines", help="Plain lines, one prompt each ({{line}}).")
    ] = False,
    csv_input: Annotated[
        bool, typer.Option("--csv", help="CSV with a header (the default for *.csv).")
    ] = False,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-T",
            help="Prompt for each item: {{field}}, {{field|default}}; @FILE reads it.",
            metavar="TEXT|@FILE",
        ),
    ] = None,
    model: options.Model = None,
    system: Annotated[
        str | None,
        typer.Option("--system", "-s", help="System prompt for every item.", metavar="TEXT"),
    ] = None,
    temperature: options.Temperature = None,
    max_tokens: options.MaxTokens = None,
    config_json: options.ConfigJson = None,
    attach: options.Attach = None,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            max=256,
            help="Requests in flight at most: 1 to 256.",
            metavar="N",
        ),
    ] = 4,
    rpm: Annotated[
        float | None,
        typer.Option("--rpm", min=0.1, help="At most N requests per minute.", metavar="N"),
    ] = None,
    unordered: Annotated[
        bool, typer.Option("--unordered", help="Print results as they finish.")
    ] = False,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="jsonl (default) or text: just the answers, a blank line between.",
            metavar="jsonl|text",
            autocompletion=lambda: ["jsonl", "text"],
        ),
    ] = "jsonl",
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Append results to OUT.jsonl, skipping the ids already in it.",
            metavar="OUT.jsonl",
        ),
    ] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Save each answered item to history.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line.")] = False,
    no_stream: Annotated[bool, typer.Option("--no-stream", help="Non-streaming requests.")] = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    io: IOStreams = ctx.obj
    if lines and csv_input:
        raise UsageError("give either --lines or --csv, not both")
    if output_format not in ("jsonl", "text"):
        raise UsageError(f"invalid --format {output_format!r}: choose jsonl or text")
    if resume is not None and output_format == "text":
        raise UsageError("--resume writes JSON Lines; it cannot be used with --format text")
    settings = options.settings(
        ctx, backend=backend, verbose=verbose, retries=retries, timeout=timeout
    )
    opts = BatchOptions(
        io=io,
        settings=settings,
        model=settings.resolve_model(model),
        input_path=input_file,
        input_format="lines" if lines else "csv" if csv_input else None,
        template=_read_template(template),
        system=system if system is not None else settings.system,
        temperature=temperature,
        max_tokens=max_tokens,
        configuration=options.parse_config_json(config_json),
        attach=tuple(attach or ()),
        jobs=jobs,
        rpm=rpm,
        ordered=not unordered,
        text=output_format == "text",
        resume=resume,
        save=save,
        quiet=quiet,
        stream=not no_stream,
    )
    run_batch(opts)


def _read_template(value: str | None) -> str | None:
    if value is None or not value.startswith("@"):
        return value
    from dialcli.batch.items import MAX_LINE_BYTES
    from dialcli.bounded import mib, read_at_most

    path = Path(value[1:]).expanduser()
    try:
        data = read_at_most(path, MAX_LINE_BYTES)  # a template is one item's prompt
    except OSError as err:
        raise UsageError(f"cannot read template {path}: {err.strerror}") from None
    if len(data) > MAX_LINE_BYTES:
        raise UsageError(f"template {path} is larger than {mib(MAX_LINE_BYTES)}")
    try:
        return data.decode("utf-8").rstrip("\n")
    except UnicodeDecodeError:
        raise UsageError(f"cannot read template {path}: not UTF-8") from None


def run_batch(opts: BatchOptions) -> None:
    """Read, send, write; then the exit status says how it went."""
    from dialcli.batch.results import read_done

    settings = opts.settings.with_key()  # no key: exit 2 before any input is read
    stream, name = _open_input(opts)
    first, rest = _peek(stream)
    fmt = opts.input_format or _detect(name, first)
    done = read_done(opts.resume) if opts.resume is not None else set()
    recipe = _recipe(opts, settings)
    items = _items(first, rest, fmt, recipe)
    out = _open_output(opts)
    try:
        summary = _run(opts, settings, items, out, done, total=_count(opts, fmt))
    finally:
        if out is not opts.io.stdout:
            out.close()
    _conclude(summary)


def _open_input(opts: BatchOptions) -> tuple[BinaryIO, str | None]:
    if opts.input_path is None:
        if opts.io.stdin_is_tty:
            raise UsageError("no items: pipe them to stdin or give -i FILE")
        return opts.io.stdin, None
    try:
        return opts.input_path.expanduser().open("rb"), opts.input_path.name
    except OSError as err:
        raise UsageError(f"cannot read {opts.input_path}: {err.strerror}") from None


def _peek(stream: BinaryIO) -> tuple[list[bytes], Iterator[bytes]]:
    """The lines up to the first non-blank one (to tell the format), and the rest."""
    from dialcli.batch.items import MAX_LINE_BYTES
    from dialcli.bounded import lines_at_most

    first: list[bytes] = []
    lines = lines_at_most(stream, MAX_LINE_BYTES)
    try:
        for line in lines:
            first.append(line)
            if line.strip():
                break
    except OSError as err:
        raise UsageError(f"cannot read the input: {err.strerror}") from None
    return first, lines


def _detect(name: str | None, first: list[bytes]) -> str:
    from dialcli.batch.items import detect_format

    return detect_format(name, first[-1] if first else b"")


def _items(first: list[bytes], rest: Iterator[bytes], fmt: str, recipe: Recipe) -> Iterator[Item]:
    from itertools import chain

    from dialcli.batch.items import read_items

    return read_items(chain(first, rest), fmt, recipe)


def _recipe(opts: BatchOptions, settings: Settings) -> Recipe:
    from dialcli.batch.items import Recipe

    attachments = None
    if opts.attach:
        # Uploaded once, before any item is sent; every item refers to the same files.
        from dialcli import attachments as files
        from dialcli.backends import get_backend

        with get_backend(settings, opts.io) as backend:
            attachments = files.prepare(list(opts.attach), backend)
    return Recipe(template=opts.template, system=opts.system, attachments=attachments)


def _open_output(opts: BatchOptions) -> BinaryIO:
    if opts.resume is None:
        return opts.io.stdout
    try:
        return opts.resume.expanduser().open("ab")
    except OSError as err:
        raise UsageError(f"cannot write {opts.resume}: {err.strerror}") from None


def _count(opts: BatchOptions, fmt: str) -> int | None:
    """How many items a file holds (for the ETA); None for stdin or without progress."""
    if opts.input_path is None or not _shows_progress(opts):
        return None
    try:
        from dialcli.batch.items import MAX_LINE_BYTES
        from dialcli.bounded import lines_at_most

        with opts.input_path.expanduser().open("rb") as handle:
            count = sum(1 for line in lines_at_most(handle, MAX_LINE_BYTES) if line.strip())
    except OSError:
        return None
    return max(count - 1, 0) if fmt == "csv" else count


def _shows_progress(opts: BatchOptions) -> bool:
    return opts.io.stderr_is_tty and not opts.quiet and not opts.settings.verbose


def _run(
    opts: BatchOptions,
    settings: Settings,
    items: Iterator[Item],
    out: BinaryIO,
    done: set[bytes],
    *,
    total: int | None,
) -> Summary:
    from dialcli.backends.base import ChatRequest
    from dialcli.batch.run import Plan, run_items
    from dialcli.engine import get_async_backend

    custom_fields = {"configuration": opts.configuration} if opts.configuration else None

    def make_request(item: Item) -> ChatRequest:
        return ChatRequest(
            model=opts.model,
            messages=item.messages or [],
            temperature=opts.temperature,
            max_tokens=opts.max_tokens,
            custom_fields=custom_fields,
        )

    store = None
    if opts.save:
        from dialcli.store import Store

        store = Store(settings.home)
    plan = Plan(
        io=opts.io,
        make_backend=lambda n: get_async_backend(settings, opts.io, connections=n),
        make_request=make_request,
        model=opts.model,
        jobs=opts.jobs,
        rpm=opts.rpm,
        retries=settings.retries,
        out=out,
        text=opts.text,
        ordered=opts.ordered,
        done=done,
        store=store,
        progress=_shows_progress(opts),
        total=total,
        stream=opts.stream,
        verbose=settings.verbose,
    )
    return run_items(plan, items)


def _conclude(summary: Summary) -> None:
    from dialcli.errors import ServerError, Stopped, Terminated

    if summary.fatal is not None:
        raise summary.fatal
    if summary.terminated:
        raise Terminated
    if summary.interrupted:
        # Not a bare KeyboardInterrupt: Typer would turn that into a silent exit 130.
        raise Stopped(KeyboardInterrupt())
    if summary.failed:
        raise ServerError(f"{summary.failed} of {summary.written} items failed")
