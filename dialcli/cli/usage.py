"""dial usage: how much of the key's limits each deployment has used."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialcli.cli import complete, options
from dialcli.config import Settings
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.backends.base import Backend
    from dialcli.errors import DialError

HELP = """Show how much of the key's limits each deployment has used.

DIAL Core keeps token, request and cost limits per key and deployment; only the
windows configured for your key are shown. Without -m, every deployment in the
listing is asked, several at a time.

\b
Examples:
  dial usage
  dial usage -m gpt-4o -m gpt-4o-mini
  dial usage --json | jq '.[] | select(.windows[].percent > 80) | .deployment'
"""
WORKERS = 8  # requests in flight at once for a whole listing

Models = Annotated[
    list[str] | None,
    typer.Option(
        "--model",
        "-m",
        help="Deployment (or alias) to show; repeatable. Default: all in the listing.",
        metavar="NAME",
        autocompletion=complete.model_names,
    ),
]


@dataclass(frozen=True)
class UsageOptions:
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], Backend]
    models: tuple[str, ...] = ()
    as_json: bool = False


@dataclass(frozen=True)
class Result:
    deployment: str
    limits: dict[str, Any] | None = None
    error: DialError | None = None


def usage_command(
    ctx: typer.Context,
    models: Models = None,
    as_json: options.AsJson = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    io: IOStreams = ctx.obj
    settings = options.settings(
        ctx, backend=backend, verbose=verbose, retries=retries, timeout=timeout
    )
    from dialcli.backends import get_backend

    run_usage(
        UsageOptions(
            io=io,
            settings=settings,
            make_backend=lambda: get_backend(settings, io),
            models=tuple(dict.fromkeys(settings.resolve_model(m) for m in models or ())),
            as_json=as_json,
        )
    )


def run_usage(opts: UsageOptions) -> None:
    ids = list(opts.models)
    if not ids:
        with opts.make_backend() as backend:
            ids = [m.id for m in backend.list_models()]
    results = fetch_limits(opts.make_backend, ids)
    if opts.as_json:
        import orjson

        io_text = orjson.dumps([_json(r) for r in results], option=orjson.OPT_INDENT_2).decode()
        opts.io.out(io_text + "\n")
    elif opts.io.stdout_is_tty:
        opts.io.out(_table(results))
    else:
        opts.io.out(_lines(results))
    failed = [r for r in results if r.error is not None]
    if failed:
        first = failed[0].error
        assert first is not None
        more = f" ({len(failed) - 1} more failed)" if len(failed) > 1 else ""
        first.message = f"limits of {failed[0].deployment!r}: {first.message}{more}"
        first.args = (first.message,)
        raise first


def fetch_limits(make_backend: Callable[[], Backend], ids: list[str]) -> list[Result]:
    """Each deployment's ``LimitStats``, in the order given, several requests at a time.

    Each worker has a backend of its own: the sdk backend keeps per-request state.
    """
    from dialcli.errors import DialError

    results: dict[str, Result] = {}
    pending = list(reversed(ids))
    lock = threading.Lock()
    failure: list[DialError] = []

    def work() -> None:
        try:
            backend = make_backend()
        except DialError as err:
            with lock:
                failure.append(err)
            return
        with backend:
            while True:
                with lock:
                    if not pending:
                        return
                    deployment = pending.pop()
                try:
                    result = Result(deployment, limits=backend.deployment_limits(deployment))
                except DialError as err:
                    result = Result(deployment, error=err)
                with lock:
                    results[deployment] = result

    threads = [threading.Thread(target=work) for _ in range(min(WORKERS, len(ids)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failure and not results:
        raise failure[0]  # e.g. no key: the same for every worker
    return [results[i] for i in ids if i in results]


def _json(result: Result) -> dict[str, Any]:
    from dialcli.usage import configured_windows

    if result.error is not None:
        return {"deployment": result.deployment, "error": result.error.message}
    return {
        "deployment": result.deployment,
        "windows": [w.to_json() for w in configured_windows(result.limits)],
        "limits": result.limits,
    }


def _table(results: list[Result]) -> str:
    from dialcli.usage import configured_windows, window_line

    width = max((len(r.deployment) for r in results), default=0)
    lines = []
    for result in results:
        name = result.deployment.ljust(width)
        if result.error is not None:
            lines.append(f"{name}  unavailable: {result.error.message}")
            continue
        windows = configured_windows(result.limits)
        if not windows:
            lines.append(f"{name}  no limits configured")
        for i, window in enumerate(windows):
            lines.append(f"{name if i == 0 else ' ' * width}  {window_line(window)}".rstrip())
    return "".join(line + "\n" for line in lines)


def _lines(results: list[Result]) -> str:
    """Piped: ``ID<TAB>WINDOW<TAB>USED<TAB>TOTAL<TAB>PERCENT``; ``ID<TAB>none`` without limits."""
    from dialcli.usage import configured_windows

    lines = []
    for result in results:
        if result.error is not None:
            continue  # reported on stderr
        windows = configured_windows(result.limits)
        if not windows:
            lines.append(f"{result.deployment}\tnone")
        for w in windows:
            used, total = w.to_json()["used"], w.to_json()["total"]
            lines.append(f"{result.deployment}\t{w.key}\t{used}\t{total}\t{w.percent:.1f}")
    return "".join(line + "\n" for line in lines)
