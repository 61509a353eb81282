"""dial history stats: tokens, cost and answers of saved conversations, as a table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialcli.cli import options
from dialcli.errors import UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.store import Store


@dataclass(frozen=True)
class StatsOptions:
    io: IOStreams
    store: Store
    prices: dict[str, Any]
    since: str | None  # UTC ISO cutoff
    by: str  # "model" or "day"
    as_json: bool


def stats_command(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only answers from this span (7d, 24h, 30m, 2w) or date (2026-11-01) on.",
            metavar="SPAN|DATE",
        ),
    ] = None,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            help="One row per model or per day (UTC).",
            metavar="model|day",
            autocompletion=lambda: ["model", "day"],
        ),
    ] = "model",
    as_json: options.AsJson = False,
) -> None:
    """Tokens, cost and number of answers in saved conversations.

    Cost is computed now from the usage saved with each answer and the prices of the
    model listing (cached; refreshed when stale and a key is at hand). A cost marked
    '~' is approximate: priced per character, or some answers have no usage.

    \b
    Examples:
      dial history stats
      dial history stats --since 7d --by day
      dial history stats --json | jq '.total.cost_usd'
    """
    from dialcli import model_cache
    from dialcli.store import Store
    from dialcli.usage_report import since_cutoff

    if by not in ("model", "day"):
        raise UsageError(f"invalid --by {by!r}: choose model or day")
    settings = options.settings(ctx)
    run_stats(
        StatsOptions(
            io=ctx.obj,
            store=Store(settings.home),
            prices=model_cache.prices(settings),
            since=since_cutoff(since) if since is not None else None,
            by=by,
            as_json=as_json,
        )
    )


def run_stats(opts: StatsOptions) -> None:
    from dialcli.errors import DialError
    from dialcli.usage_report import answers, group, stats_table, summarize

    facts = []
    store = opts.store
    for summary in store.summaries():
        # An answer is never newer than its conversation's last update.
        if opts.since is not None and summary.updated < opts.since:
            continue
        try:
            conv = store.load(summary.id)
        except DialError as err:  # deleted or broken meanwhile: skipped, reported
            opts.io.err(f"dial: warning: skipped conversation {summary.id}: {err}")
            continue
        facts += [a for a in answers(conv, opts.prices) if opts.since is None or a.at >= opts.since]
    for problem in store.problems:
        opts.io.err(f"dial: warning: skipped unreadable file {problem.path}: {problem.reason}")
    rows = group(facts, opts.by)
    total = summarize("TOTAL", facts)
    if opts.as_json:
        import orjson

        document = {
            "by": opts.by,
            "since": opts.since,
            "rows": [row.to_json(opts.by) for row in rows],
            "total": total.to_json(opts.by),
        }
        opts.io.out(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if not facts:
        opts.io.err("dial: no saved answers" + (" in that span" if opts.since else ""))
        return
    opts.io.out(stats_table(rows, total, opts.by))
