"""dial models: the deployments your key can use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dialcli.cli import complete, options
from dialcli.config import Settings
from dialcli.output import IOStreams
from dialcli.sanitize import for_terminal, one_line

if TYPE_CHECKING:
    from dialcli.backends.base import Backend
    from dialcli.backends.model_info import ModelInfo

HELP = """List the deployments your key can use.

An aligned table on a terminal (with the aliases of config.toml under it), one id
per line when piped, full objects with --json. --all adds the applications;
'dial models show ID' prints one deployment's details. Each listing also refreshes
the cache that shell completion offers after -m.

\b
Examples:
  dial models
  dial models | grep gpt
  dial models --all --json | jq '.[].id'
  dial models show gpt-4o
"""

app = typer.Typer(
    help=HELP,
    invoke_without_command=True,
    subcommand_metavar="[COMMAND [ARGS]...]",  # alone it lists: no command needed
    rich_markup_mode=None,
)


@dataclass(frozen=True)
class ModelsOptions:
    io: IOStreams
    settings: Settings
    make_backend: Callable[[], Backend]
    as_json: bool = False
    include_applications: bool = False
    long: bool = False


@app.callback()
def models_command(
    ctx: typer.Context,
    as_json: options.AsJson = False,
    include_applications: Annotated[
        bool, typer.Option("--all", help="Also list applications (/openai/applications).")
    ] = False,
    long: Annotated[
        bool,
        typer.Option("--long", "-l", help="A table with token limits and prices, also when piped."),
    ] = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    io: IOStreams = ctx.obj
    settings = options.settings(
        ctx, backend=backend, verbose=verbose, retries=retries, timeout=timeout
    )
    from dialcli.backends import get_backend

    run_models(
        ModelsOptions(
            io=io,
            settings=settings,
            make_backend=lambda: get_backend(settings, io),
            as_json=as_json,
            include_applications=include_applications,
            long=long,
        )
    )


def run_models(opts: ModelsOptions) -> None:
    with opts.make_backend() as backend:
        models = backend.list_models()
        if opts.include_applications:
            known = {m.id for m in models}
            models += [a for a in _applications(opts.io, backend) if a.id not in known]
    from dialcli import model_cache

    model_cache.save(
        opts.settings.home,
        opts.settings.url,
        [m.id for m in models],
        pricing=model_cache.pricing_of(models),
    )
    io = opts.io
    if opts.as_json:
        import orjson

        io.out(orjson.dumps([m.raw for m in models], option=orjson.OPT_INDENT_2).decode() + "\n")
    elif opts.long:
        io.out(format_long_table(models))
    elif io.stdout_is_tty:
        import shutil

        table = format_table(models, shutil.get_terminal_size().columns)
        io.out(for_terminal(table + format_aliases(opts.settings.aliases, models)))
    else:
        io.out("".join(f"{one_line(m.id)}\n" for m in models))


def _applications(io: IOStreams, backend: Backend) -> list[ModelInfo]:
    """``/openai/applications``, or none with a notice where the server has no such route."""
    from dialcli.errors import NotFoundError

    try:
        return backend.list_applications()
    except NotFoundError:
        io.err("dial: this DIAL has no /openai/applications; listing models only")
        return []


@app.command("show", short_help="One deployment's details and configuration schema.")
def show_command(
    ctx: typer.Context,
    deployment: Annotated[
        str,
        typer.Argument(
            help="Deployment or application id (or alias).",
            metavar="ID",
            autocompletion=complete.model_names,
        ),
    ],
    as_json: options.AsJson = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
    verbose: options.Verbose = False,
) -> None:
    """Print one deployment's details and, where it has one, its configuration schema.

    \b
    Examples:
      dial models show gpt-4o
      dial models show my-app --json | jq .configuration_schema
    """
    import orjson

    from dialcli.backends import get_backend

    io: IOStreams = ctx.obj
    settings = options.settings(
        ctx, backend=backend, verbose=verbose, retries=retries, timeout=timeout
    )
    with get_backend(settings, io) as client:
        details = client.deployment(settings.resolve_model(deployment))
        schema = None
        # Core's spec: ask for the configuration only when features.configuration is true
        # (without an endpoint it answers 200 with an empty body).
        if (details.get("features") or {}).get("configuration") is True:
            schema = client.configuration_schema(str(details.get("id") or deployment))
    if as_json:
        document = {**details, "configuration_schema": schema}
        io.out(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        io.out(for_terminal(format_details(details, schema)))


def format_details(details: dict[str, Any], schema: dict[str, Any] | None) -> str:
    """A deployment as ``key: value`` lines (features, limits and pricing when the
    server gives them), then its configuration schema."""
    import orjson

    from dialcli.localized import localized

    rows: list[tuple[str, Any]] = [(key, details.get(key)) for key in ("id",)]
    rows.append(("display_name", localized(details.get("display_name"))))
    rows += [(key, details.get(key)) for key in ("model", "application", "object", "owner")]
    rows.append(("description", localized(details.get("description"))))
    # A server may send any shape: what is not the documented one is left out.
    features = _of(details.get("features"), dict)
    rows.append(("features", ", ".join(k for k, v in features.items() if v is True)))
    types = [t for t in _of(details.get("input_attachment_types"), list) if isinstance(t, str)]
    rows.append(("attachment types", ", ".join(types)))
    rows += list(_of(details.get("limits"), dict).items())
    rows += [(f"pricing {key}", value) for key, value in _of(details.get("pricing"), dict).items()]
    rows.append(("price", _price(details)))
    lines = [f"{name + ':':<24}{value}" for name, value in rows if value not in (None, "")]
    if schema is not None:
        lines.append("configuration schema:")
        lines.append(orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode())
    return "\n".join(lines) + "\n"


def _of(value: Any, kind: type) -> Any:
    return value if isinstance(value, kind) else kind()


def _price(details: dict[str, Any]) -> str:
    """The listing's ``pricing`` per 1M units, or "" (then no line) without a usable one."""
    from dialcli.usage import Pricing, price_text

    pricing = Pricing.of(details.get("pricing"))
    return price_text(pricing) if pricing is not None else ""


def format_aliases(aliases: dict[str, str], models: list[ModelInfo]) -> str:
    """The ``[aliases]`` of config.toml under the table: ``fast -> gpt-4o-mini``."""
    if not aliases:
        return ""
    listed = {m.id for m in models}
    width = max(len(name) for name in aliases)
    lines = [
        f"  {name:<{width}} -> {target}" + ("" if target in listed else "  (not listed)")
        for name, target in sorted(aliases.items())
    ]
    return "\nAliases (config.toml):\n" + "".join(line + "\n" for line in lines)


def format_table(models: list[ModelInfo], width: int = 0) -> str:
    """ID, NAME and the listing's description (cut to ``width`` columns when given):
    what a deployment is for says more than its capability flags (``models show`` and
    ``--json`` have those)."""
    from dialcli.localized import localized
    from dialcli.sanitize import one_line

    rows = [("ID", "NAME", "DESCRIPTION")]
    rows += [
        (m.id, m.display_name, one_line(localized(m.raw.get("description")) or "-")) for m in models
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines = []
    for row in rows:
        line = f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip()
        if width and len(line) > width:
            line = line[: width - 1] + "…"
        lines.append(line + "\n")
    return "".join(lines)


def format_long_table(models: list[ModelInfo]) -> str:
    """``--long``: each deployment's token limits and prices (per 1M units, in / out)."""
    from dialcli.usage import Pricing, count, price_text

    def tokens(model: ModelInfo, key: str) -> str:
        limits = model.raw.get("limits")
        value = limits.get(key) if isinstance(limits, dict) else None
        return count(value) if isinstance(value, int) and not isinstance(value, bool) else "-"

    def price(model: ModelInfo) -> str:
        pricing = Pricing.of(model.raw.get("pricing"))
        return price_text(pricing) if pricing is not None else "-"

    rows = [("ID", "CONTEXT", "MAX PROMPT", "MAX ANSWER", "PRICE")]
    rows += [
        (
            m.id,
            tokens(m, "max_total_tokens"),
            tokens(m, "max_prompt_tokens"),
            tokens(m, "max_completion_tokens"),
            price(m),
        )
        for m in models
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:4], widths[1:], strict=True)
        ]
        lines.append("  ".join([*cells, row[4]]).rstrip() + "\n")
    return "".join(lines)
