"""dial history: list, show, search and delete saved conversations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from dialcli.cli import complete, history_files, history_remote, history_stats, options
from dialcli.errors import NothingFound, UsageError
from dialcli.output import IOStreams
from dialcli.render import short_time, transcript

if TYPE_CHECKING:
    from dialcli.store import Store

app = typer.Typer(
    help="""Saved conversations, here and in DIAL Chat.

Alone, 'dial history' lists the newest conversations, as 'dial history list' does.

\b
Examples:
  dial history -n 5
  dial history stats --since 7d
  dial history search "docker" --json | jq -r '.[].id'
  dial history push last && dial history pull
""",
    invoke_without_command=True,
    subcommand_metavar="[COMMAND [ARGS]...]",
    rich_markup_mode=None,
)

Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N.", metavar="N")]
IdArg = Annotated[
    str,
    typer.Argument(
        help="Conversation id, unique prefix (4+), or 'last'.",
        metavar="ID",
        autocompletion=complete.conversation_ids,
    ),
]


@app.callback()
def history_root(
    ctx: typer.Context,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", "-n", min=1, help="Alone: show at most N (default 20).", metavar="N"
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Alone: print JSON instead of text.")
    ] = False,
) -> None:
    """Saved conversations; alone, the newest of them (like 'git stash')."""
    if ctx.invoked_subcommand is None:
        list_command(ctx, limit=20 if limit is None else limit, as_json=as_json)
    elif limit is not None or as_json:
        # `dial history -n 5 search x` would silently drop -n: say where it goes.
        raise UsageError(
            f"-n and --json belong after '{ctx.invoked_subcommand}':"
            f" dial history {ctx.invoked_subcommand} ... -n N"
        )


def _store(ctx: typer.Context) -> tuple[IOStreams, Store]:
    from dialcli.store import Store

    return ctx.obj, Store(options.settings(ctx).home)


def _report_problems(io: IOStreams, store: Store) -> None:
    for problem in store.problems:
        io.err(f"dial: warning: skipped unreadable file {problem.path}: {problem.reason}")


@app.command("list", short_help="List saved conversations, newest first.")
def list_command(
    ctx: typer.Context,
    limit: Limit = 20,
    as_json: options.AsJson = False,
    remote: Annotated[
        bool, typer.Option("--remote", help="List DIAL storage instead (nothing downloaded).")
    ] = False,
    folder: history_remote.Folder = None,
    every: Annotated[bool, typer.Option("--all", help="With --remote: every folder.")] = False,
    bucket: history_remote.Bucket = None,
) -> None:
    """List saved conversations, newest first (or those in DIAL storage with --remote).

    \b
    Examples:
      dial history list
      dial history list -n 100 | grep gpt-4o
      dial history list --remote --all
    """
    import orjson

    if remote:
        history_remote.list_remote(ctx, folder, every, bucket, as_json, limit)
        return
    if folder is not None or every or bucket is not None:
        raise UsageError("--folder, --all and --bucket go with --remote")
    io, store = _store(ctx)
    summaries = store.summaries(limit=limit)
    _report_problems(io, store)
    if as_json:
        io.out(orjson.dumps([s._asdict() for s in summaries], option=orjson.OPT_INDENT_2).decode())
        io.out("\n")
        return
    rows = [(s.id, short_time(s.updated), s.model, str(s.messages), s.title) for s in summaries]
    if io.stdout_is_tty:
        rows = [("ID", "UPDATED (UTC)", "MODEL", "MSGS", "TITLE")] + [
            (r[0][:8], *r[1:]) for r in rows
        ]
        io.out(_table(rows))
    else:
        io.out("".join("\t".join(row) + "\n" for row in rows))


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip() + "\n")
    return "".join(lines)


@app.command("show", short_help="Print a conversation (a transcript, or --json).")
def show_command(
    ctx: typer.Context,
    conversation: IdArg,
    as_json: options.AsJson = False,
    extract: options.Extract = False,
    extract_last: options.ExtractLast = False,
) -> None:
    """Print a conversation as a readable transcript, or the stored document with --json.

    Each answer shows its usage, cost (at today's prices) and time; the last line is
    the conversation's total.

    With -x, only the first fenced code block of its last answer (--extract-last: the
    last block).

    \b
    Examples:
      dial history show last
      dial history show last -x > fix.sh
      dial history show 3f2a --json | jq '.messages[-1].content'
    """
    import orjson

    mode = options.extract_mode(extract, extract_last)
    if mode and as_json:
        raise UsageError("-x/--extract prints code, --json a document: choose one")
    from dialcli import model_cache
    from dialcli.usage_report import turn_notes

    io, store = _store(ctx)
    conv = store.load(store.resolve(conversation))
    if mode:
        from dialcli.extract import required

        # Content may be a list of parts (kept as DIAL sent it): its text parts count.
        answers = [m.text for m in conv.messages if m.role == "assistant"]
        io.out(required(answers[-1] if answers else "", last=mode == "last") + "\n")
    elif as_json:
        io.out(orjson.dumps(conv.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        notes, total = turn_notes(conv, model_cache.prices(options.settings(ctx)))
        io.out(transcript(conv, notes=notes, footer=total))


@app.command("search")
def search_command(
    ctx: typer.Context,
    text: Annotated[
        str, typer.Argument(help="Text to find (any case) in messages.", metavar="TEXT")
    ],
    limit: Limit = 50,
    as_json: options.AsJson = False,
) -> None:
    """Find conversations whose messages contain TEXT (case-insensitive).

    \b
    Examples:
      dial history search kubernetes
      dial history search "error 502" --json | jq -r '.[].id'
    """
    import orjson

    io, store = _store(ctx)
    hits = store.iter_search(text, limit=limit)  # read lazily: each hit shown as found
    found = 0
    if as_json:
        documents = [{**h.summary._asdict(), "snippet": h.snippet} for h in hits]
        found = len(documents)
        _report_problems(io, store)
        io.out(orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode() + "\n")
    for hit in hits if not as_json else ():
        found += 1
        s = hit.summary
        if io.stdout_is_tty:
            io.out(f"{s.id[:8]}  {short_time(s.updated)}  {s.title}\n    {hit.snippet}\n")
        else:  # one record per line for cut -f / awk -F'\t' (store flattens the snippet)
            io.out(f"{s.id}\t{short_time(s.updated)}\t{hit.snippet}\n")
    if not as_json:
        _report_problems(io, store)
    if not found:
        if io.stderr_is_tty and not as_json:
            io.err(f"dial: no conversation contains {text!r}")
        raise NothingFound  # exit 1, as grep: `if dial history search x; then ...`


@app.command("delete")
def delete_command(
    ctx: typer.Context,
    conversations: Annotated[
        list[str],
        typer.Argument(
            help="Conversation ids, unique prefixes, or 'last'.",
            metavar="ID",
            autocompletion=complete.conversation_ids,
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete saved conversations (asks first on a terminal).

    \b
    Examples:
      dial history delete 3f2a
      dial history delete last --yes
    """
    io, store = _store(ctx)
    ids = list(dict.fromkeys(store.resolve(ref) for ref in conversations))
    if not yes:
        if not io.stdin_is_tty:
            raise UsageError("refusing to delete without a terminal to confirm; add --yes")
        titles = {s.id: s.title for s in store.summaries()}
        for conv_id in ids:
            io.err(f"  {conv_id[:8]}  {titles.get(conv_id, '')}")
        io.stderr.write(f"Delete {len(ids)} conversation(s)? [y/N] ")
        io.stderr.flush()
        answer = io.stdin.readline().decode("utf-8", "replace").strip().lower()
        if answer not in ("y", "yes"):
            io.err("dial: nothing deleted")
            return
    for conv_id in ids:
        store.delete(conv_id)
    if io.stderr_is_tty:
        io.err(f"Deleted {len(ids)} conversation(s).")


@app.command("path")
def path_command(ctx: typer.Context) -> None:
    """Print the directory that holds saved conversations.

    \b
    Examples:
      dial history path
      ls "$(dial history path)"
    """
    io, store = _store(ctx)
    io.out(f"{store.path}\n")


app.command("export", short_help="Export conversations for DIAL Chat (or md, json).")(
    history_files.export_command
)
app.command("import", short_help="Import conversations from a DIAL Chat export.")(
    history_files.import_command
)
app.command("push")(history_remote.push_command)
app.command("pull", short_help="Download conversations from DIAL storage.")(
    history_remote.pull_command
)
app.command("stats")(history_stats.stats_command)
