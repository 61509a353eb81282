"""Options shared by several commands, declared once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand

from dialcli.cli import complete
from dialcli.errors import UsageError

if TYPE_CHECKING:
    from dialcli.config import Settings
    from dialcli.output import IOStreams

Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Deployment (or alias) to use. Default: DIAL_MODEL.",
        metavar="NAME",
        autocompletion=complete.model_names,
    ),
]
Backend = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="raw (httpx, default) or sdk (aidial-client).",
        metavar="raw|sdk",
        autocompletion=lambda: ["raw", "sdk"],
    ),
]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log requests and responses to stderr (key redacted)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Retries = Annotated[
    int | None,
    typer.Option(
        "--retries",
        min=0,
        max=10,
        help="Retries on connection errors and 408/429/5xx: 0 to 10 (default 2).",
        metavar="N",
    ),
]
Timeout = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        help="Read timeout between chunks, in seconds (default 120).",
        metavar="SECONDS",
    ),
]


Attach = Annotated[
    list[str] | None,
    typer.Option(
        "--attach",
        "-a",
        help="Attach a file (uploaded to DIAL storage) or URL; repeatable.",
        metavar="FILE|URL",
    ),
]
SaveAttachments = Annotated[
    Path | None,
    typer.Option(
        "--save-attachments",
        help="Save the answer's attachments into DIR (never overwrites).",
        metavar="DIR",
    ),
]
ConfigJson = Annotated[
    str | None,
    typer.Option(
        "--config-json",
        help="Deployment configuration (custom_fields.configuration): JSON or @FILE.",
        metavar="JSON|@FILE",
    ),
]
Stages = Annotated[
    str | None,
    typer.Option(
        "--stages",
        help="Show application stages on stderr: none, names (default on a terminal), full.",
        metavar="MODE",
        autocompletion=lambda: list(STAGE_MODES),
    ),
]
STAGE_MODES = ("none", "names", "full")


MAX_CONFIG_JSON_BYTES = 16 * 1024 * 1024  # as stdin: far above any real configuration


def parse_config_json(value: str | None) -> dict[str, Any] | None:
    """``--config-json``: a JSON object given inline or as ``@path``."""
    if value is None:
        return None
    import orjson

    from dialcli.bounded import mib, read_at_most

    source = "--config-json"
    if value.startswith("@"):
        source = value[1:]
        try:
            data = read_at_most(Path(source).expanduser(), MAX_CONFIG_JSON_BYTES)
            if len(data) > MAX_CONFIG_JSON_BYTES:
                raise UsageError(f"cannot read {source}: larger than {mib(MAX_CONFIG_JSON_BYTES)}")
            value = data.decode("utf-8")
        except OSError as err:
            raise UsageError(f"cannot read {source}: {err.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"cannot read {source}: not UTF-8") from None
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as err:
        raise UsageError(f"invalid JSON in {source}: {err}") from None
    if not isinstance(parsed, dict):
        raise UsageError(f"{source} must hold a JSON object")
    return parsed


def stage_mode(value: str | None, io: IOStreams) -> str:
    """The --stages mode; by default names on a terminal, nothing otherwise."""
    if value is None:
        return "names" if io.stderr_is_tty else "none"
    if value not in STAGE_MODES:
        raise UsageError(f"invalid --stages {value!r}: choose none, names or full")
    return value


TemplateName = Annotated[
    str | None,
    typer.Option(
        "--template",
        "-t",
        help="Ask with a template: a local one, a DIAL prompt, or dial:FOLDER/NAME.",
        metavar="NAME",
        autocompletion=complete.template_names,
    ),
]
# Typer cannot declare a repeatable two-value option (``list[tuple[str, str]]`` is
# refused): PairsCommand makes ``-p`` take NAME and VALUE and hands the pairs over as
# they are. The annotation says list[str] only so that Typer accepts the declaration.
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="A template field's value: -p NAME VALUE; repeatable.",
        metavar="NAME VALUE",
    ),
]
SaveAs = Annotated[
    str | None,
    typer.Option(
        "--save",
        help="Save the prompt, system prompt, model and settings as template NAME (no question).",
        metavar="NAME",
    ),
]


class PairsCommand(TyperCommand):
    """A command whose ``params`` option (``-p NAME VALUE``) takes two values each time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.name == "params":
                param.nargs = 2
                param.process_value = _pairs  # type: ignore[method-assign]


def _pairs(ctx: Any, value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(text)) for name, text in value or ())


def check_params(params: Sequence[Any] | None) -> tuple[tuple[str, str], ...]:
    """-p pairs; a name given twice is a mistake, not a silent override."""
    pairs = tuple((str(name), str(text)) for name, text in params or ())
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise UsageError(f"-p {name} given twice")
        seen.add(name)
    return pairs


def given(**values: object) -> frozenset[str]:
    """The names of the settings given on the command line (a template yields to them)."""
    return frozenset(name for name, value in values.items() if value is not None)


Markdown = Annotated[
    bool | None,
    typer.Option(
        "--markdown/--no-markdown",
        help="Render answers as Markdown (default: on a terminal without NO_COLOR).",
        show_default=False,
    ),
]
Extract = Annotated[
    bool,
    typer.Option("--extract", "-x", help="Print only the first fenced code block of the answer."),
]
ExtractLast = Annotated[
    bool,
    typer.Option("--extract-last", help="Print only the last fenced code block of the answer."),
]


def extract_mode(first: bool, last: bool) -> str | None:
    """``first``, ``last`` or None (the whole answer) from -x/--extract-last."""
    if first and last:
        raise UsageError("give either -x/--extract or --extract-last, not both")
    return "last" if last else "first" if first else None


def markdown_on(choice: bool | None, settings: Settings, io: IOStreams) -> bool:
    """Markdown only when stdout is a terminal: the flag, else config.toml, else unless
    NO_COLOR (or --no-color)."""
    if choice is None:
        choice = settings.markdown
    if choice is None:
        choice = not io.no_color
    return bool(choice) and io.stdout_is_tty


Temperature = Annotated[
    float | None,
    typer.Option(
        "--temperature",
        min=0.0,
        max=2.0,
        help="Sampling temperature, 0 to 2.",
        metavar="FLOAT",
    ),
]


def _int32(value: int | None, name: str) -> int | None:
    # A request body carries it as a 32-bit integer (DIAL and OpenAI use int32); past
    # that, JSON encoders refuse it (an internal error) and servers reject it.
    if value is not None and value > 2**31 - 1:
        raise UsageError(f"invalid value for {name}: {value} is larger than 2147483647")
    return value


MaxPromptTokens = Annotated[
    int | None,
    typer.Option(
        "--max-prompt-tokens",
        min=1,
        help="Let DIAL leave out old turns so the prompt fits N tokens (said on stderr).",
        metavar="N",
    ),
]
ShowUsage = Annotated[
    bool,
    typer.Option("--usage", "-u", help="Print tokens, cost and time of each answer on stderr."),
]
MaxTokens = Annotated[
    int | None,
    typer.Option(
        "--max-tokens",
        min=1,
        callback=lambda value: _int32(value, "--max-tokens"),
        help="Longest answer, in tokens.",
        metavar="N",
    ),
]


CONFIG_META = "dial.config"  # ctx.meta key: config.toml as the root command read it


def settings(
    ctx: typer.Context,
    *,
    backend: str | None = None,
    verbose: bool = False,
    retries: int | None = None,
    timeout: float | None = None,
) -> Settings:
    """This run's settings: config.toml as read once by the root command, the
    environment, and this command's flags (the shared network options)."""
    from dialcli.config import read_config, resolve_settings

    config = ctx.meta.get(CONFIG_META)
    if config is None:  # run without the root callback (Typer's test runner)
        config = ctx.meta[CONFIG_META] = read_config()
    flags = {"backend": backend, "retries": retries, "read_timeout": timeout}
    if verbose:
        flags["verbose"] = True
    return resolve_settings(flags, config=config)


def continuation(
    continue_last: bool, ref: str | None, flag: str, *, system: str | None, no_save: bool
) -> str | None:
    """The conversation to continue ("last" for -c, else ``ref``), or None for a new one.

    Rejects the combinations that make no sense for a continued conversation.
    """
    if continue_last and ref:
        raise UsageError(f"give either -c/--continue or {flag}, not both")
    chosen = "last" if continue_last else ref
    if chosen and system is not None:
        raise UsageError("-s/--system applies to a new conversation, not a continued one")
    if chosen and no_save:
        raise UsageError("--no-save starts a new conversation; it cannot continue one")
    return chosen
