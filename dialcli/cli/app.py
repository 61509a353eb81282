"""The root Typer app: subcommands, global options and the help epilogue."""

from __future__ import annotations

from typing import Annotated

import typer

from dialcli import __version__
from dialcli.cli.lazy import Entry, LazyGroup
from dialcli.config import ENV_VARS
from dialcli.errors import EXIT_CODES


def _epilog() -> str:
    env = "\n".join(f"  {name:<17} {text}" for name, text in ENV_VARS)
    codes = "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES)
    return (
        f"\b\nEnvironment:\n{env}\n\n\b\nConfiguration file:\n{CONFIG_FILE}\n\n"
        f"\b\nExit codes:\n{codes}"
    )


HELP = """A scriptable command suite for EPAM's AI DIAL API.

Answers stream to stdout as they arrive, prompts come from arguments or pipes, and
conversations are saved as JSON files. Run 'dial COMMAND --help' for a command's
options and examples.

\b
Examples:
  echo "summarise this" | dial ask
  git diff | dial ask "write a commit message" -m gpt-4o
  dial chat -m gpt-4o
  dial models
"""

CONFIG_FILE = """\
  config.toml in the user config directory: ~/.config/dial/ on Linux,
  ~/Library/Application Support/dial/ on macOS (DIAL_CONFIG overrides).
  Precedence: flags > environment > config.toml > defaults."""


# Every subcommand, in the order `dial --help` lists them. Only the invoked one is
# imported and built (see cli/lazy.py); a new command is one line here. The short help
# is the first sentence of the command's own help (tests/test_lazy_commands.py checks).
COMMANDS: dict[str, Entry] = {
    "ask": Entry("ask", "Ask one question; the answer streams to stdout.", pairs=True),
    "chat": Entry("chat", "Chat with a model; every turn is saved.", pairs=True),
    "batch": Entry("batch", "Answer many prompts at once; results stream out as JSON Lines."),
    "usage": Entry("usage", "Show how much of the key's limits each deployment has used."),
    "tokens": Entry("tokens", "Count tokens the way a deployment does."),
    "models": Entry("models", "List the deployments your key can use."),
    "history": Entry("history", "Saved conversations, here and in DIAL Chat."),
    "templates": Entry("templates", "Prompt templates: local files and DIAL prompts."),
    "config": Entry("config_cmd", "Settings: where each comes from; config.toml edited safely."),
}  # fmt: skip


class DialGroup(LazyGroup):
    TABLE = COMMANDS


app = typer.Typer(
    name="dial",
    cls=DialGroup,
    help=HELP,
    epilog=_epilog(),
    invoke_without_command=True,  # a bare `dial` prints a short help and exits 0
    rich_markup_mode=None,  # rich costs ~100 ms of start-up; plain help is enough
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,  # ours below: the shell comes from $SHELL, the script is ours
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dial {__version__}")
        raise typer.Exit()


def _completion_shell(option: str) -> str:
    from dialcli.completions import SHELLS, detect_shell
    from dialcli.errors import UsageError

    shell = detect_shell()
    if shell is None:
        names = ", ".join(SHELLS)
        raise UsageError(f"cannot tell your shell ({names}); name it: SHELL=bash dial {option}")
    return shell


def _show_completion(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from dialcli.completions import script

        ctx.obj.out(script(_completion_shell("--show-completion")))
        raise typer.Exit()


def _install_completion(ctx: typer.Context, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from dialcli.completions import install

        shell = _completion_shell("--install-completion")
        path = install(shell)
        ctx.obj.err(f"{shell} completion installed in {path}; it takes effect in a new shell")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="No colour, even on a terminal (like NO_COLOR).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    install_completion: Annotated[
        bool,
        typer.Option(
            "--install-completion",
            callback=_install_completion,
            is_eager=True,
            expose_value=False,
            help="Install completion for your shell ($SHELL: bash, zsh or fish).",
        ),
    ] = False,
    show_completion: Annotated[
        bool,
        typer.Option(
            "--show-completion",
            callback=_show_completion,
            is_eager=True,
            expose_value=False,
            help="Print the completion script for your shell ($SHELL).",
        ),
    ] = False,
) -> None:
    """Global options, applied before any command runs."""
    io = ctx.obj
    if ctx.invoked_subcommand is None:  # a bare `dial`: what it is and how to start
        from dialcli.cli.helptext import short_help

        (io.out if io is not None else typer.echo)(short_help(ctx))
        return
    if io is None:  # run without dial's main(), e.g. by Typer's test runner
        return
    if no_color:
        io.no_color = True
    from dialcli.cli.options import CONFIG_META
    from dialcli.config import config_file_warnings, read_config

    # Read once here; each command resolves its settings from this copy.
    config = ctx.meta[CONFIG_META] = read_config()
    for warning in config_file_warnings(config):
        io.err(f"dial: warning: {warning}")
