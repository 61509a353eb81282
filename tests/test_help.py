"""Help that teaches: snapshots, examples on every command, and a light start-up.

Regenerate the snapshots after a deliberate change with::

    UPDATE_SNAPSHOTS=1 python -m pytest -q tests/test_help.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_harness import run_dial

SNAPSHOTS = Path(__file__).parent / "snapshots"


def command_tree() -> Iterator[tuple[str, object]]:
    """Every command of the app as (path, click command), the root first."""
    from typer.main import get_command

    from dialcli.cli.app import app

    def walk(path: str, command: object) -> Iterator[tuple[str, object]]:
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(f"{path} {name}", sub)

    yield from walk("dial", get_command(app))


def help_text(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert run_dial([*args, "--help"]).code == 0
    return capsys.readouterr().out


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # help wraps to the terminal; snapshots must not


@pytest.mark.parametrize(
    ("args", "snapshot"), [([], "dial-help.txt"), (["ask"], "dial-ask-help.txt")]
)
def test_help_matches_the_snapshot(args, snapshot, capsys):
    text = help_text(args, capsys)
    path = SNAPSHOTS / snapshot
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f"help changed: UPDATE_SNAPSHOTS=1 to accept ({path})"


@pytest.mark.parametrize("path", [path for path, _ in command_tree()])
def test_every_command_help_shows_examples(path, capsys):
    text = help_text(path.split()[1:], capsys)
    assert "Examples:\n" in text
    examples = text.split("Examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert 2 <= len(examples) <= 4, examples
    assert all(
        line.strip().startswith(("dial ", "echo ", "git ", "cat ", "ls ", "printf "))
        for line in examples
    ), examples


def test_ask_examples_include_a_pipeline(capsys):
    text = help_text(["ask"], capsys)
    assert any("| dial ask" in line for line in text.splitlines())


@pytest.mark.parametrize("path", [path for path, _ in command_tree()])
def test_every_option_and_argument_has_help(path):
    command = dict(command_tree())[path]
    for param in command.params:  # type: ignore[attr-defined]
        assert param.help, f"{path}: {param.name} has no help"


def test_root_help_lists_environment_and_exit_codes(capsys):
    text = help_text([], capsys)
    for name in ("DIAL_API_KEY", "DIAL_URL", "DIAL_CONFIG", "NO_COLOR"):
        assert f"\n    {name} " in text
    assert "Exit codes:\n    0    ok\n" in text
    assert "\n    130  interrupted" in text


def test_help_imports_no_httpx_click_or_rich(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("_DIAL")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dialcli", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage: dial" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not imported & {"httpx", "click", "rich", "pydantic", "aidial_client"}


# Typer's renderings that no hand would write: a type after an argument (`ID <list[str]>`,
# `PROMPT <str>`, `FILE <path>`) and braces around a required one (`{ID}`).
TYPE_LEAK = re.compile(r"[A-Z\]]\.{0,3} <[a-z]+(\[[^\]>]*\])?>|\{[A-Z][A-Z_|]*\}(\.\.\.)?")


@pytest.mark.parametrize("path", [path for path, _ in command_tree()])
def test_help_shows_no_type_names(path, capsys):
    text = help_text(path.split()[1:], capsys)
    assert not TYPE_LEAK.findall(text), TYPE_LEAK.search(text)
    assert "<list[" not in text and "<str>" not in text
    assert not re.search(r"x[<>]=|<=x", text), "a range as algebra ([0<=x<=10])"


@pytest.mark.parametrize(
    "path", [path for path, cmd in command_tree() if getattr(cmd, "commands", None)]
)
def test_a_group_that_works_alone_does_not_ask_for_a_command(path, capsys):
    """`dial models` lists and `dial history` lists: their usage line says the command is
    optional. The root is the exception: alone it prints a short help, nothing more."""
    command = dict(command_tree())[path]
    usage = help_text(path.split()[1:], capsys).splitlines()[0]
    if path == "dial" or not command.invoke_without_command:  # type: ignore[attr-defined]
        assert usage == f"Usage: {path} [OPTIONS] COMMAND [ARGS]...", usage
    else:
        assert usage == f"Usage: {path} [OPTIONS] [COMMAND [ARGS]...]", usage


def test_arguments_read_as_operands(capsys):
    assert help_text(["history", "delete"], capsys).startswith(
        "Usage: dial history delete [OPTIONS] ID...\n"
    )
    assert "\n  ID  Conversation ids" in help_text(["history", "delete"], capsys)
    assert help_text(["templates", "pull"], capsys).startswith(
        "Usage: dial templates pull [OPTIONS] [NAME]\n"
    )


def test_dial_alone_prints_a_short_help_and_exits_0():
    result = run_dial([])
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: dial [OPTIONS] COMMAND [ARGS]...\n")
    for name in ("ask", "chat", "models", "history", "config"):
        assert f"\n  {name} " in result.stdout, name
    assert "'dial --help'" in result.stdout
    assert "Exit codes:" not in result.stdout  # the long help has them, not the short one
    assert len(result.stdout.splitlines()) < 30


@pytest.mark.parametrize(
    "path", [path for path, cmd in command_tree() if getattr(cmd, "commands", None)]
)
def test_a_group_lists_its_commands_in_whole_sentences(path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = help_text(path.split()[1:], capsys)
    listed = text.split("\nCommands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert listed and not [line for line in listed if line.endswith("...")], listed
