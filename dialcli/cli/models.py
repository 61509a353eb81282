"""dial models: the deployments your key can use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from dialcli.cli import options
from dialcli.config import Settings, resolve_settings
from dialcli.output import IOStreams

if TYPE_CHECKING:
    from dialcli.backends.base import Backend, ModelInfo

HELP = """List the deployments your key can use.

An aligned table on a terminal, one id per line when piped, full objects with --json.

\b
Examples:
  dial models
  dial models | grep gpt
  dial models --json | jq '.[].id'
"""


@dataclass(frozen=True)
class ModelsOptions:
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], Backend]
    as_json: bool = False


def models_command(
    ctx: typer.Context,
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

    run_models(
        ModelsOptions(
            io=io,
            settings=settings,
            make_backend=lambda: get_backend(settings, io),
            as_json=as_json,
        )
    )


def run_models(opts: ModelsOptions) -> None:
    with opts.make_backend() as backend:
        models = backend.list_models()
    io = opts.io
    if opts.as_json:
        import orjson

        io.out(orjson.dumps([m.raw for m in models], option=orjson.OPT_INDENT_2).decode() + "\n")
    elif io.stdout_is_tty:
        io.out(format_table(models))
    else:
        io.out("".join(f"{m.id}\n" for m in models))


def capabilities(model: ModelInfo) -> str:
    """The capabilities the server reports as true, comma-separated."""
    names = [name for name, value in model.capabilities.items() if value is True]
    for name, value in (model.raw.get("features") or {}).items():
        if value is True and name not in names:
            names.append(name)
    return ",".join(names)


def format_table(models: list[ModelInfo]) -> str:
    rows = [("ID", "NAME", "OWNER/TYPE", "CAPABILITIES")]
    rows += [(m.id, m.display_name, m.owner or m.kind, capabilities(m)) for m in models]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
        + "  "
        + row[3]
        for row in rows
    ]
    return "".join(line.rstrip() + "\n" for line in lines)
