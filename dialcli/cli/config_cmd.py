"""dial config: see every setting and where it comes from; change config.toml safely."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dialcli.cli import options
from dialcli.errors import UsageError

if TYPE_CHECKING:
    from dialcli.config import Settings
    from dialcli.output import IOStreams

app = typer.Typer(
    help="""Settings: where each comes from; config.toml edited safely.

Alone, 'dial config' shows the settings, as 'dial config show' does.

\b
Examples:
  dial config init
  dial config set model gpt-4o
  dial config show --json | jq -r .url.value
""",
    invoke_without_command=True,
    subcommand_metavar="[COMMAND [ARGS]...]",
    rich_markup_mode=None,
)

Key = Annotated[
    str,
    typer.Argument(
        help="A setting: url, model, api_key, timeouts.read, aliases.NAME, ...",
        metavar="KEY",
        autocompletion=lambda: _keys(),
    ),
]


# The variables that override a key of the file (config.resolve_settings).
ENV_OVERRIDES = {
    "url": "DIAL_URL",
    "api_key": "DIAL_API_KEY",
    "token": "DIAL_TOKEN",
    "model": "DIAL_MODEL",
    "backend": "DIAL_BACKEND",
    "api_version": "DIAL_API_VERSION",
    "home": "DIAL_HOME",
}


def _keys() -> list[str]:
    from dialcli.config_edit import settable_keys

    return settable_keys()


def _config_path() -> Path:
    from dialcli.config import config_path_from

    return config_path_from(os.environ)


@app.callback()
def config_root(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        show_command(ctx)


@app.command("show")
def show_command(
    ctx: typer.Context,
    as_json: options.AsJson = False,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
) -> None:
    """Print every setting, its value and where it comes from.

    The source is a flag, an environment variable (env), config.toml (file) or the default.

    Keys and tokens are never shown, only whether they are set and where from. The
    network options show what a command given them would use.

    \b
    Examples:
      dial config show
      dial config show --backend sdk
      dial config show --json | jq -r .url.source
    """
    from dialcli.config_report import report, write_report

    settings = options.settings(ctx, backend=backend, retries=retries, timeout=timeout)
    write_report(ctx.obj, report(settings), as_json=as_json)


@app.command("path")
def path_command(ctx: typer.Context) -> None:
    """Print the path of config.toml.

    DIAL_CONFIG when set, else config.toml in the user config directory.

    \b
    Examples:
      dial config path
      ls -l "$(dial config path)"
    """
    io: IOStreams = ctx.obj
    io.out(f"{_config_path()}\n")


@app.command("set")
def set_command(
    ctx: typer.Context,
    key: Key,
    value: Annotated[
        str, typer.Argument(help="The value; '-' reads it from stdin (for a key).", metavar="VALUE")
    ],
) -> None:
    """Set one key in config.toml; the rest of the file stays as written.

    The value is checked as config.toml is when read; the file is written mode 0600.
    A key typed on the command line stays in the shell's history: give '-' and pipe it.

    \b
    Examples:
      dial config set url https://dial.example.com
      dial config set timeouts.read 300
      printf %s "$KEY" | dial config set api_key -
    """
    from dialcli.config_edit import set_value

    io: IOStreams = ctx.obj
    if value == "-":
        value = _read_stdin_line(io)
    path = _config_path()
    written = set_value(path, key, value)
    if io.stderr_is_tty:
        shown = "(hidden)" if key in ("api_key", "token") else repr(written)
        io.err(f"{key} = {shown} in {path}")
        variable = ENV_OVERRIDES.get(key, "")
        if os.environ.get(variable):
            io.err(f"Note: {variable} is set and wins over the file.")


@app.command("unset")
def unset_command(ctx: typer.Context, key: Key) -> None:
    """Remove one key from config.toml.

    The environment or the default applies to it again.

    \b
    Examples:
      dial config unset model
      dial config unset aliases.fast
    """
    from dialcli.config_edit import unset_value

    io: IOStreams = ctx.obj
    path = _config_path()
    if not unset_value(path, key) and io.stderr_is_tty:
        io.err(f"dial: {key} was not set in {path}")


@app.command("init")
def init_command(
    ctx: typer.Context,
    backend: options.Backend = None,
    retries: options.Retries = None,
    timeout: options.Timeout = None,
) -> None:
    """Ask for the DIAL URL and key, check them, and save them.

    The check is one model listing with the URL and key given.

    Needs a terminal; the key is read without echo. Nothing is saved unless DIAL
    answers.

    \b
    Examples:
      dial config init
      dial config init --backend sdk
    """
    from dialcli.cli.config_init import InitOptions, run_init

    io: IOStreams = ctx.obj
    if not (io.stdin_is_tty and io.stderr_is_tty):
        raise UsageError(
            "dial config init asks questions and needs a terminal; in a script use"
            " 'dial config set url URL' and 'dial config set api_key -' (key on stdin)"
        )
    settings: Settings = options.settings(ctx, backend=backend, retries=retries, timeout=timeout)
    run_init(InitOptions(io=io, settings=settings, path=_config_path()))


def _read_stdin_line(io: IOStreams) -> str:
    """The first line of stdin, without its line end; empty is a usage error."""
    line = io.stdin.readline(64 * 1024).decode("utf-8", "replace").rstrip("\r\n")
    if not line:
        raise UsageError("no value on stdin for 'dial config set KEY -'")
    return line
