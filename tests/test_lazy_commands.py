"""Subcommands are built on demand (cli/lazy.py): only the invoked one is imported.

Not a timing test: what gets imported is checked in a fresh interpreter, and the help,
completion and typo hints are checked to be the same as a fully built tree gives.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_harness import run_dial
from typer._click.utils import make_default_short_help
from typer.main import get_command

from dialcli.cli.app import COMMANDS, app
from dialcli.cli.lazy import LazyCommands, build

PROBE = """
import sys
from dialcli.__main__ import main
code = main()
sys.stderr.write("\\nMODULES " + " ".join(sorted(n for n, m in sys.modules.items() if m)) + "\\n")
sys.exit(code)
"""
COMMAND_MODULES = {f"dialcli.cli.{entry.module}" for entry in COMMANDS.values()}


def loaded(args: list[str], env: dict[str, str], stdin: bytes = b"") -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], input=stdin, env=env, capture_output=True, timeout=60
    )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    return done.stdout.decode(), set(stderr.rsplit("MODULES ", 1)[1].split())


@pytest.mark.parametrize("name", list(COMMANDS))
@pytest.mark.parametrize("limit", [30, 45, 74, 200])
def test_the_table_short_help_is_the_commands_own(name, limit):
    # `dial --help` shows the table's line without building the command: it must be
    # what the built command would show, at any terminal width.
    built = build(name, COMMANDS[name])
    assert make_default_short_help(COMMANDS[name].short_help, limit) == (
        built.get_short_help_str(limit)
    )


def test_help_lists_every_command_without_importing_any(dial_env):
    out, modules = loaded(["--help"], dial_env)
    for name, entry in COMMANDS.items():
        assert f"  {name} " in out
        assert entry.short_help[:30] in out
    assert modules & COMMAND_MODULES == set()


def test_ask_imports_its_own_command_module_only(dial_env):
    out, modules = loaded(["ask", "-m", "echo"], dial_env, b"hi")
    assert out.strip() == "hi"
    assert modules & COMMAND_MODULES == {"dialcli.cli.ask"}
    assert "tomllib" not in modules  # no config file: nothing to parse
    assert "decimal" not in modules  # no price to read


def test_a_config_file_is_still_read(dial_env, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('model = "echo"\n')
    out, modules = loaded(["ask"], {**dial_env, "DIAL_CONFIG": str(config)}, b"hi")
    assert out.strip() == "hi" and "tomllib" in modules


def test_a_group_command_builds_its_subcommands(dial_env):
    _out, modules = loaded(["history", "list"], dial_env)
    assert "dialcli.cli.history" in modules
    assert modules & COMMAND_MODULES == {"dialcli.cli.history"}


def test_the_tree_walk_still_sees_every_command_and_its_options():
    root = get_command(app)
    assert isinstance(root.commands, LazyCommands)  # type: ignore[attr-defined]
    assert list(root.commands) == list(COMMANDS)  # type: ignore[attr-defined]
    history = root.commands["history"]  # type: ignore[attr-defined]
    assert {"list", "show", "search"} <= set(history.commands)
    ask = root.commands["ask"]  # type: ignore[attr-defined]
    assert "--model" in {opt for p in ask.params for opt in p.opts}
    # -p NAME VALUE: the table's pairs flag gives ask PairsCommand's two-value option
    params = next(p for p in ask.params if p.name == "params")
    assert params.nargs == 2


def test_a_mistyped_command_is_still_suggested(capsys):
    result = run_dial(["histroy"])
    assert result.code == 2
    assert "No such command 'histroy'" in result.stderr
    assert "'history'" in result.stderr


def test_completion_of_command_names_imports_no_command_module(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DIAL_HOME": str(tmp_path / "home"),
        "DIAL_CONFIG": str(tmp_path / "config.toml"),
        "_DIAL_COMPLETE": "complete_zsh",
        "_TYPER_COMPLETE_ARGS": "dial h",
    }
    # Completion exits inside Click: list the imports the way the shells' run shows them.
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dialcli"],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    out = done.stdout
    modules = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "history" in out
    assert "Saved conversations, here and in DIAL Chat." in out  # the table's help
    assert modules & COMMAND_MODULES == set()
