"""Slash commands inside the chat: a table of names, each with its handler.

A new command is one decorated function (``@command("attach", "PATH", "...")``);
``/help`` lists the table. A handler returns ``STOP`` to end the chat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialcli.chat.repl import ChatLoop

STOP = "stop"
Handler = Callable[["ChatLoop", str], str | None]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str  # the argument, as shown by /help ("" for none)
    summary: str
    run: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, summary: str) -> Callable[[Handler], Handler]:
    """Register a handler under ``/name``."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, usage, summary, handler)
        return handler

    return register


def parse_command(text: str) -> tuple[str, str] | None:
    """``("model", "gpt-4o")`` for ``/model gpt-4o``; None for text meant for the model.

    Only a one-line input starting with ``/`` is a command; ``//`` escapes it (the text
    goes to the model with one slash less).
    """
    if "\n" in text:
        return None
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    name, _, arg = stripped[1:].partition(" ")
    return name.lower(), arg.strip()


def unescape(text: str) -> str:
    """The text sent for an input that starts with ``//``."""
    stripped = text.lstrip()
    return stripped[1:] if stripped.startswith("//") else text


def help_text() -> str:
    rows = [(f"/{c.name} {c.usage}".rstrip(), c.summary) for c in COMMANDS.values()]
    width = max(len(left) for left, _ in rows)
    lines = [f"  {left:<{width}}  {summary}" for left, summary in rows]
    tail = [
        "",
        '  """ on a line of its own starts a multi-line message; another """ sends it.',
        "  Pasted text is one message. //text sends /text. Ctrl-C stops an answer;",
        "  at the prompt it clears the line, twice in a row it exits, like Ctrl-D.",
        "  Tab completes commands, names after /model and paths after /attach.",
    ]
    return "Commands:\n" + "\n".join(lines + tail) + "\n"


@command("help", "", "show this help")
def _help(loop: ChatLoop, arg: str) -> None:
    loop.show(help_text())


@command("exit", "", "end the chat (also Ctrl-D)")
def _exit(loop: ChatLoop, arg: str) -> str:
    return STOP


@command("quit", "", "same as /exit")
def _quit(loop: ChatLoop, arg: str) -> str:
    return STOP


@command("model", "[NAME]", "use deployment NAME from now on (no NAME: show it)")
def _model(loop: ChatLoop, arg: str) -> None:
    if not arg:
        loop.show(f"{loop.session.model}\n")
        return
    loop.set_model(arg)


@command("system", "[TEXT]", "replace the system prompt (no TEXT: show it)")
def _system(loop: ChatLoop, arg: str) -> None:
    if not arg:
        loop.show(f"{loop.session.system or '(none)'}\n")
        return
    loop.set_system(arg)


@command("history", "", "show the conversation so far")
def _history(loop: ChatLoop, arg: str) -> None:
    loop.show_history()


@command("usage", "", "tokens, cost and time of the last answer and of the conversation")
def _usage(loop: ChatLoop, arg: str) -> None:
    loop.show_usage()


@command("retry", "", "ask the last question again (or the one that failed), replacing its answer")
def _retry(loop: ChatLoop, arg: str) -> None:
    loop.retry()


@command("edit", "", "edit the last question in $EDITOR, then ask it again in its place")
def _edit(loop: ChatLoop, arg: str) -> None:
    loop.edit()


@command("copy", "", "copy the last answer to the clipboard")
def _copy(loop: ChatLoop, arg: str) -> None:
    loop.copy()


@command("save", "[NAME]", "name the conversation, as 'dial history' lists it (no NAME: show it)")
def _save(loop: ChatLoop, arg: str) -> None:
    if not arg:
        loop.show(f"{loop.session.conversation.title or '(untitled)'}\n")
        return
    loop.rename(arg)


@command("undo", "", "remove the last question and its answer")
def _undo(loop: ChatLoop, arg: str) -> None:
    loop.undo()


@command("new", "", "start a new conversation (same model and system prompt)")
def _new(loop: ChatLoop, arg: str) -> None:
    loop.new_conversation()


@command("attach", "PATH|URL", "attach a file (uploaded) or URL to your next message")
def _attach(loop: ChatLoop, arg: str) -> None:
    if not arg:
        pending = ", ".join(loop.pending_attachments) or "(none)"
        loop.show(f"attached for the next message: {pending}\n")
        return
    loop.attach(arg)
