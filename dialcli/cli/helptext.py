"""Help that reads as written by hand: argument names without type names, and the
short help that a bare ``dial`` prints.

Typer renders a required argument as ``{ID}`` in the usage line, adds its Python type
to the argument's help (``ID <list[str]>``, ``PROMPT <str>``) and a bound as algebra
(``[0<=x<=10]``). None of it means anything to a user; the help texts say the range in
words where it matters, and a value out of range is still refused with the bounds.
``install`` replaces the methods of Typer's parameter classes that render them
(``get_usage_pieces`` is Click's public hook; the others are Typer's, on the version
the project pins: ``coercion.CHECKED_TYPER``); tests/test_help.py walks every help
screen and fails if one shows again.
"""

from __future__ import annotations

from typing import Any

START = """\
Get started:
  dial config init          ask for the URL and key, check them, save them
  dial models               the deployments your key can use
  dial ask "hello"          one question; the answer streams to stdout
  dial chat                 a conversation, saved as you go

Run 'dial --help' for options, environment and exit codes, and
'dial COMMAND --help' for a command's options and examples.
"""


def argument_usage(param: Any) -> str:
    """``ID``, ``ID...`` or ``[NAME]``, as a man page writes an operand."""
    name = param.metavar or str(param.name).upper()
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


def install() -> None:
    """Render arguments without Typer's type names (idempotent)."""
    from typer.core import TyperArgument, TyperOption

    if getattr(TyperArgument, "dial_plain", False):
        return
    TyperArgument.get_usage_pieces = lambda self, ctx: [argument_usage(self)]  # type: ignore[method-assign]
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]
    for cls in (TyperArgument, TyperOption):
        cls._get_number_range_help_str = lambda self: None  # type: ignore[method-assign]
    TyperArgument.dial_plain = True  # type: ignore[attr-defined]


def short_help(ctx: Any) -> str:
    """What a bare ``dial`` prints: the usage line, the commands, how to start."""
    command = ctx.command
    formatter = ctx.make_formatter()
    command.format_usage(ctx, formatter)
    formatter.write_paragraph()
    formatter.write_text(str(command.help or "").split("\n\n", 1)[0])
    command.format_commands(ctx, formatter)
    return f"{formatter.getvalue()}\n{START}"
