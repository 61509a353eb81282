"""dial history push / pull / list --remote: conversations in DIAL storage."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from dialcli.cli import options
from dialcli.cli.history_files import All, Ids, selected
from dialcli.errors import AuthError, UsageError
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.config import Settings
    from dialcli.remote.sync import Outcome, Remote

DEFAULT_FOLDER = "dial"

Folder = Annotated[
    str | None,
    typer.Option(
        "--folder", help=f"Folder in DIAL Chat (default {DEFAULT_FOLDER}).", metavar="NAME"
    ),
]
Bucket = Annotated[
    str | None,
    typer.Option("--bucket", help="DIAL bucket (default: the one /v1/bucket names).", metavar="ID"),
]


@dataclass(frozen=True)
class RemoteOptions:
    io: IOStreams
    settings: Settings
    bucket: str | None


def _settings(ctx: typer.Context, backend: str | None, verbose: bool) -> Settings:
    return options.settings(ctx, backend=backend, verbose=verbose)


def _folder(folder: str | None) -> str:
    name = (folder if folder is not None else DEFAULT_FOLDER).strip("/")
    from dialcli.remote.names import is_valid_name

    if not name or not all(is_valid_name(part) for part in name.split("/")):
        raise UsageError(f"invalid --folder {folder!r}: DIAL Chat does not allow that name")
    return name


@contextmanager
def open_remote(opts: RemoteOptions) -> Iterator[Remote]:
    """The bucket (asked of /v1/bucket unless given), the store and the map, opened."""
    from dialcli.backends.retry import RetryPolicy
    from dialcli.debuglog import NO_LOG, DebugLog
    from dialcli.remote.links import Links
    from dialcli.remote.storage import StorageClient
    from dialcli.remote.sync import Remote
    from dialcli.remote.transports import make_transport
    from dialcli.store import Store

    settings = opts.settings.with_key()
    log = DebugLog(opts.io.stderr, settings.secrets()) if settings.verbose else NO_LOG
    client = StorageClient(make_transport(settings, log), RetryPolicy(settings.retries), log)
    try:
        own = client.bucket()
        bucket = opts.bucket or own
        if not settings.token and opts.io.stderr_is_tty:
            opts.io.err(
                f"dial: using bucket {bucket} of this API key; DIAL Chat shows your own "
                "bucket, which needs your bearer token (DIAL_TOKEN)"
            )
        links = Links(settings.home)
        try:
            yield Remote(client, Store(settings.home), links, bucket)
        except AuthError as err:
            if err.status == 403 and bucket != own:
                raise AuthError(
                    f"{err}: bucket {bucket} is not the bucket of these credentials ({own}). "
                    "An API key reaches its own bucket only; for your DIAL Chat "
                    "conversations use your bearer token: set DIAL_TOKEN",
                    status=403,
                ) from None
            raise
        finally:
            links.save()
    finally:
        client.close()


def _line(io: IOStreams, outcome: Outcome) -> None:
    short = outcome.local_id if not io.stdout_is_tty else outcome.local_id[:8]
    note = f"  ({outcome.note})" if outcome.note else ""
    io.out(f"{outcome.action:<14}{short}  {outcome.name}{note}\n")


def push_command(
    ctx: typer.Context,
    ids: Ids = None,
    every: All = False,
    folder: Folder = None,
    bucket: Bucket = None,
    backend: options.Backend = None,
    verbose: options.Verbose = False,
) -> None:
    """Upload conversations to DIAL storage, where DIAL Chat shows them.

    Creates each one the first time, then updates it; if it was changed in DIAL Chat
    meanwhile, its new turns are taken, or yours goes up as "name (2)" (and it says so).

    \b
    Examples:
      dial history push last
      dial history push --all --folder terminal
      dial history push 3f2a 9bc1 | grep -v "up to date"
    """
    opts = RemoteOptions(ctx.obj, _settings(ctx, backend, verbose), bucket)
    folder_name = _folder(folder)
    with open_remote(opts) as remote:
        for conv in selected(remote.store, ids, every):
            _line(opts.io, remote.push(conv, folder_name))


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"invalid --since {value!r}: use a date like 2026-11-26 or 2026-11-26T09:30"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def pull_command(
    ctx: typer.Context,
    folder: Folder = None,
    every: Annotated[bool, typer.Option("--all", help="Every folder of the bucket.")] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only conversations changed since DATE (UTC).", metavar="DATE"
        ),
    ] = None,
    bucket: Bucket = None,
    backend: options.Backend = None,
    verbose: options.Verbose = False,
) -> None:
    """Download conversations from DIAL storage (new or changed) into the local store.

    A conversation started in DIAL Chat can then be continued: dial chat --resume ID.

    \b
    Examples:
      dial history pull
      dial history pull --all --since 2026-11-01
      dial history pull | awk '$1 == "new" {print $2}'
    """
    if every and folder is not None:
        raise UsageError("give --folder or --all, not both")
    since_ms = _since(since)
    opts = RemoteOptions(ctx.obj, _settings(ctx, backend, verbose), bucket)
    folder_name = None if every else _folder(folder)
    with open_remote(opts) as remote:
        for item in remote.listing(folder_name):
            if since_ms is not None and (item.get("updatedAt") or 0) < since_ms:
                continue
            _line(opts.io, remote.pull(item))


def list_remote(
    ctx: typer.Context,
    folder: str | None,
    every: bool,
    bucket: str | None,
    as_json: bool,
    limit: int,
) -> None:
    """``dial history list --remote``: the remote listing, nothing downloaded."""
    import orjson

    from dialcli.remote.dialchat import from_ms
    from dialcli.remote.names import parse_key
    from dialcli.render import short_time

    io: IOStreams = ctx.obj
    opts = RemoteOptions(io, _settings(ctx, None, False), bucket)
    with open_remote(opts) as remote:
        items = list(remote.listing(None if every else _folder(folder)))
        linked = {item["url"]: remote.links.by_url(item["url"]) or "" for item in items}
    items.sort(key=lambda item: item.get("updatedAt") or 0, reverse=True)
    items = items[:limit]
    if as_json:
        shown = [{**item, "local_id": linked[item["url"]] or None} for item in items]
        io.out(orjson.dumps(shown, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    rows = []
    for item in items:
        model, name = parse_key(str(item.get("name") or ""))
        updated = short_time(from_ms(item.get("updatedAt")) or "")
        local = linked[item["url"]]
        rows.append(
            (
                updated,
                str(item.get("parentPath") or ""),
                model,
                local[:8] if io.stdout_is_tty else local,
                name,
            )
        )
    if io.stdout_is_tty:
        from dialcli.cli.history import _table

        rows.insert(0, ("UPDATED (UTC)", "FOLDER", "MODEL", "LOCAL", "NAME"))
        io.out(_table(rows) if len(rows) > 1 else "")
    else:
        io.out("".join("\t".join(row) + "\n" for row in rows))
