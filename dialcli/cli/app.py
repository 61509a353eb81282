"""The root Typer app: subcommands, global options and the help epilogue."""

from __future__ import annotations

from typing import Annotated

import typer

from dialcli import __version__
from dialcli.cli import ask, history, models
from dialcli.config import ENV_VARS
from dialcli.errors import EXIT_CODES


def _epilog() -> str:
    env = "\n".join(f"  {name:<17} {text}" for name, text in ENV_VARS)
    codes = "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES)
    return f"\b\nEnvironment:\n{env}\n\n\b\nExit codes:\n{codes}"


app = typer.Typer(
    name="dial",
    help="A scriptable command suite for EPAM's AI DIAL API.",
    epilog=_epilog(),
    no_args_is_help=True,
    rich_markup_mode=None,  # rich costs ~100 ms of start-up; plain help is enough
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dial {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """A scriptable command suite for EPAM's AI DIAL API.

    \b
    Examples:
      echo "summarise this" | dial ask
      dial models
    """


app.command("ask", help=ask.HELP)(ask.ask_command)
app.add_typer(models.app, name="models")
app.add_typer(history.app, name="history")
