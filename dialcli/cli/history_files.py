"""dial history export / import: conversations in files, DIAL Chat's format or ours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dialcli.cli import complete, options
from dialcli.errors import UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.conversation import Conversation
    from dialcli.store import Store

FORMATS = ("dialchat", "md", "json")

Ids = Annotated[
    list[str] | None,
    typer.Argument(
        help="Conversation ids, unique prefixes, or 'last'.",
        metavar="ID",
        autocompletion=complete.conversation_ids,
        show_default=False,
    ),
]
All = Annotated[bool, typer.Option("--all", help="Every saved conversation.")]


def selected(store: Store, ids: list[str] | None, every: bool) -> list[Conversation]:
    """The conversations named on the command line, or all of them with --all."""
    if every and ids:
        raise UsageError("give conversation ids or --all, not both")
    if not every and not ids:
        raise UsageError("name the conversations to use (ID…), or give --all")
    if every:
        chosen = [s.id for s in reversed(store.summaries())]  # oldest first, as created
    else:
        chosen = list(dict.fromkeys(store.resolve(ref) for ref in ids or []))
    return [store.load(conv_id) for conv_id in chosen]


@dataclass(frozen=True)
class ExportOptions:
    io: IOStreams
    home: Path
    ids: list[str] | None
    every: bool
    format: str
    output: Path | None


def export_command(
    ctx: typer.Context,
    ids: Ids = None,
    every: All = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="dialchat (DIAL Chat's export file, v5), md (readable), json (ours).",
            metavar="dialchat|md|json",
            autocompletion=lambda: list(FORMATS),
        ),
    ] = "dialchat",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to FILE (never overwrites).", metavar="FILE"),
    ] = None,
) -> None:
    """Export conversations: a file DIAL Chat imports as it is, Markdown, or our JSON.

    \b
    Examples:
      dial history export --all -o dial-history.json   # then DIAL Chat: Import
      dial history export last --format md | less
      dial history export 3f2a --format json | jq '.conversations[0].messages'
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}: choose dialchat, md or json")
    home = options.settings(ctx).home
    run_export(ExportOptions(ctx.obj, home, ids, every, fmt, output))


def run_export(opts: ExportOptions) -> None:
    import orjson

    from dialcli.remote import dialchat
    from dialcli.remote.markdown import to_markdown
    from dialcli.store import Store

    convs = selected(Store(opts.home), opts.ids, opts.every)
    if opts.format == "md":
        data = to_markdown(convs).encode()
    else:
        doc = dialchat.export_file(convs) if opts.format == "dialchat" else dialchat.our_file(convs)
        data = orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"
    if opts.output is None:
        opts.io.out(data.decode())
        return
    try:
        with open(opts.output, "xb") as f:  # x: an existing file is never overwritten
            f.write(data)
    except FileExistsError:
        raise UsageError(f"{opts.output} exists; choose another file") from None
    except OSError as err:
        raise UsageError(f"cannot write {opts.output}: {err.strerror}") from None
    opts.io.err(f"Exported {len(convs)} conversation(s) to {opts.output}")


@dataclass(frozen=True)
class ImportOptions:
    io: IOStreams
    home: Path
    file: Path
    strict: bool


def import_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="A DIAL Chat export (versions 1-5) or a dial json export; - for stdin.",
            metavar="FILE",
        ),
    ],
    strict: Annotated[
        bool, typer.Option("--strict", help="Import nothing if any entry is malformed.")
    ] = False,
) -> None:
    """Import conversations from a DIAL Chat export file (or our json export).

    Never overwrites: a conversation imported before (same source id) is skipped.

    \b
    Examples:
      dial history import ~/Downloads/ai_dial_chat_conversations_history_11-26.json
      dial history import backup.json --strict
      cat export.json | dial history import -
    """
    run_import(ImportOptions(ctx.obj, options.settings(ctx).home, file, strict))


# A DIAL Chat export is JSON of conversations (attachments are links, not bytes): large
# for a heavy user, but not this. /dev/zero or a wrong file must not fill the memory.
MAX_IMPORT_BYTES = 512 * 1024 * 1024


def _read_file(io: IOStreams, file: Path) -> object:
    import orjson

    from dialcli.bounded import mib, read_at_most, read_stream_at_most

    try:
        if str(file) == "-":
            data = read_stream_at_most(io.stdin, MAX_IMPORT_BYTES)
        else:
            data = read_at_most(file, MAX_IMPORT_BYTES)
    except OSError as err:
        raise UsageError(f"cannot read {file}: {err.strerror}") from None
    if len(data) > MAX_IMPORT_BYTES:
        raise UsageError(f"{file} is larger than {mib(MAX_IMPORT_BYTES)}: not an export")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise UsageError(f"{file} is not JSON: {err}") from None


def run_import(opts: ImportOptions) -> None:
    from dialcli.errors import NotFoundError
    from dialcli.remote.dialchat import BadEntry, read_export
    from dialcli.remote.links import Links
    from dialcli.store import Store

    try:
        entries, problems = read_export(_read_file(opts.io, opts.file))
    except BadEntry as err:
        raise UsageError(f"{opts.file}: {err}") from None
    for problem in problems:
        opts.io.err(f"dial: {opts.file}: skipped {problem}")
    if problems and opts.strict:
        raise UsageError(
            f"{len(problems)} malformed entr(y/ies) in {opts.file}; nothing imported (--strict)"
        )
    store, links = Store(opts.home), Links(opts.home)
    imported = skipped = 0
    for entry in entries:
        known = links.imported(entry.source_id) or (
            entry.conversation.id if entry.source_id == entry.conversation.id else None
        )
        if known is not None:
            try:
                store.load(known)
                opts.io.out(f"skipped   {known}  {entry.label}: already imported\n")
                skipped += 1
                continue
            except NotFoundError:
                pass  # deleted since: import it again
        if entry.source_id != entry.conversation.id:  # ours keep their own id, unchanged
            entry.conversation.extra["source"] = {"file": opts.file.name, "id": entry.source_id}
        store.create(entry.conversation)
        links.remember_import(entry.source_id, entry.conversation.id)
        opts.io.out(f"imported  {entry.conversation.id}  {entry.label}\n")
        imported += 1
    links.save()
    bad = f", {len(problems)} malformed" if problems else ""
    opts.io.err(f"Imported {imported}, skipped {skipped} already imported{bad}.")
