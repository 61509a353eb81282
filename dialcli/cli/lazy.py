"""Subcommands built on demand: only the invoked command's module is imported.

Building the whole Typer tree on every run imported every command module (and what
each imports) and turned every signature into Click parameters: about 20 ms of
start-up spent on commands that were not run. The root group here knows its commands
from a declarative table (``name -> Entry(module, short help)``) and builds
one only when Click asks for it by name. ``dial --help`` lists the table's short help
without importing anything; Tab completion of command names does the same.

``group.commands`` stays a mapping of name -> Click command, built on access, so code
that walks the tree (the help and docs tests) sees every command, as with Typer's own
group.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

import typer

# Typer 0.29 carries its own copy of Click (typer._click): importing the click package
# would load a second one. pyproject pins Typer's minor version (cli/coercion.py).
from typer._click.shell_completion import CompletionItem
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter


class Entry(NamedTuple):
    """One subcommand: where it lives, and the line ``dial --help`` shows for it.

    ``module`` is a module of ``dialcli.cli``. The command is its ``attribute``, by
    default its ``app`` when that is a ``typer.Typer`` (a group such as ``history``),
    else its function ``<name>_command``, registered with the module's ``HELP`` as its
    help; ``pairs`` gives a function ``-p NAME VALUE`` (PairsCommand). ``short_help``
    must be the first sentence of the command's own help: a test checks.
    """

    module: str
    short_help: str
    pairs: bool = False
    attribute: str | None = None


def build(name: str, entry: Entry) -> Command:
    """The Click command for one entry, built as ``Typer.command``/``add_typer`` would."""
    from typer.main import TyperInfo, get_group_from_info

    module = importlib.import_module(f"dialcli.cli.{entry.module}")
    if entry.attribute is not None:
        target = getattr(module, entry.attribute)
    elif isinstance(getattr(module, "app", None), typer.Typer):
        target = module.app
    else:
        target = getattr(module, f"{name.replace('-', '_')}_command")
    if isinstance(target, typer.Typer):
        # Passing the root's settings (no rich markup): add_typer took them from the root.
        info = TyperInfo(target, name=name)
        return get_group_from_info(
            info, pretty_exceptions_short=True, rich_markup_mode=None, suggest_commands=True
        )
    cls = None
    if entry.pairs:
        from dialcli.cli.options import PairsCommand

        cls = PairsCommand
    single = typer.Typer(rich_markup_mode=None, add_completion=False)
    single.command(name, help=getattr(module, "HELP", None), cls=cls)(target)
    return typer.main.get_command(single)


class LazyCommands(MutableMapping[str, "Command"]):
    """name -> command, each built on first access from the table; keys need no import."""

    def __init__(self, table: Mapping[str, Entry], built: MutableMapping[str, Command]):
        self._table = table
        self._built = dict(built)

    def __getitem__(self, name: str) -> Command:
        command = self._built.get(name)
        if command is None:
            if name not in self._table:
                raise KeyError(name)
            command = self._built[name] = build(name, self._table[name])
        return command

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._built if name not in self._table)

    def __len__(self) -> int:
        return len(self._table) + sum(1 for name in self._built if name not in self._table)

    def __contains__(self, name: object) -> bool:
        return name in self._table or name in self._built

    def short_help(self, name: str, limit: int) -> str:
        """The help line for ``name`` without building it (unless it is not in the table)."""
        entry = self._table.get(name)
        if entry is None or name in self._built:
            return self[name].get_short_help_str(limit)
        return make_default_short_help(entry.short_help, limit)


class LazyGroup(TyperGroup):
    """A TyperGroup whose subcommands come from ``TABLE`` and are built when invoked."""

    TABLE: Mapping[str, Entry] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.TABLE, self.commands)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # the keys: no command is built

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        commands = self.commands
        assert isinstance(commands, LazyCommands)
        rows = [(name, commands.short_help(name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: Context, incomplete: str) -> list[CompletionItem]:
        commands = self.commands
        assert isinstance(commands, LazyCommands)
        results = [
            CompletionItem(name, help=commands.short_help(name, 45))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
        ]
        # The group's own options (Command.shell_complete), skipping TyperGroup's pass
        # over every subcommand, which would build them all.
        results.extend(super(TyperGroup, self).shell_complete(ctx, incomplete))
        return results
