"""Where chat input comes from: readline on a terminal, lines of stdin otherwise.

Each source has ``read(prompt) -> str`` raising ``EOFError`` at the end (Ctrl-D) and
letting ``KeyboardInterrupt`` through. ``read_turn`` builds one user turn on top,
joining a ``\"\"\"`` block into one text.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Protocol

from dialcli.errors import UsageError
from dialcli.output import IOStreams
from dialcli.private_dirs import private_dir

BLOCK_FENCE = '"""'
HISTORY_FILE = "chat_history"
HISTORY_LENGTH = 1000


class LineSource(Protocol):
    def read(self, prompt: str) -> str:
        """One line without its newline; EOFError at the end."""
        ...


class StreamInput:
    """Lines of a non-terminal stdin, read one at a time so a pipe can drive a chat."""

    def __init__(self, io: IOStreams) -> None:
        self._io = io

    def read(self, prompt: str) -> str:
        data = self._io.stdin.readline()
        if not data:
            raise EOFError
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise UsageError(
                f"stdin is not valid UTF-8 (byte 0x{data[err.start]:02x}); convert it first"
            ) from None
        return text.removesuffix("\n").removesuffix("\r")


class TerminalInput:
    """``input()`` with GNU readline: line editing, history kept in the data directory.

    ``input()`` is the one place that uses the process's real stdin/stdout: readline
    only edits lines on the terminal's own file descriptors. The chat builds this only
    when IOStreams says both are terminals.
    """

    def __init__(self, home: Path, models: Callable[[], list[str]] = list) -> None:
        self.history_path = home / HISTORY_FILE
        self._models = models  # deployment ids for Tab after /model
        self._matches: list[str] = []
        self._readline = _load_readline()
        self._start_length = 0
        if self._readline is not None:
            self._setup(self._readline)
        from dialcli.chat.interrupts import InterruptWatch

        self._interrupts = InterruptWatch()
        self._interrupts.install()

    def _setup(self, readline: object) -> None:
        rl = readline  # typed loosely: libedit builds lack some functions
        # Pasted text (with its newlines) lands in the line buffer as one edit and is
        # sent as one turn when Enter is pressed. On by default since readline 8.1.
        rl.parse_and_bind("set enable-bracketed-paste on")  # type: ignore[attr-defined]
        rl.set_history_length(HISTORY_LENGTH)  # type: ignore[attr-defined]
        with suppress(OSError):  # no history yet, or unreadable: start empty
            rl.read_history_file(str(self.history_path))  # type: ignore[attr-defined]
        self._start_length = rl.get_current_history_length()  # type: ignore[attr-defined]
        from dialcli.chat.completion import WORD_BREAKS

        rl.set_completer_delims(WORD_BREAKS)  # type: ignore[attr-defined]
        rl.set_completer(self._complete)  # type: ignore[attr-defined]
        if "libedit" in (getattr(rl, "__doc__", "") or ""):
            rl.parse_and_bind("bind ^I rl_complete")  # type: ignore[attr-defined]
        else:
            rl.parse_and_bind("tab: complete")  # type: ignore[attr-defined]

    def _complete(self, text: str, state: int) -> str | None:
        """readline's completer: called with state 0, 1, ... until it returns None."""
        rl = self._readline
        if state == 0:
            from dialcli.chat.completion import candidates

            try:
                line, begidx = rl.get_line_buffer(), rl.get_begidx()  # type: ignore[attr-defined]
                self._matches = candidates(line, begidx, text, self._models)
            except Exception:  # Tab must never break the line being typed
                self._matches = []
        return self._matches[state] if state < len(self._matches) else None

    def read(self, prompt: str) -> str:
        with self._interrupts.reading(_stdin_fd()):
            return input(prompt)

    def close(self) -> None:
        """Give back the signal handlers; append this session's lines to the history
        file (0600: questions are private)."""
        self._interrupts.close()
        rl = self._readline
        if rl is None:
            return
        added = rl.get_current_history_length() - self._start_length  # type: ignore[attr-defined]
        if added <= 0:
            return
        try:
            private_dir(self.history_path.parent, self.history_path.parent)
            fd = os.open(self.history_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
            os.chmod(self.history_path, 0o600)
            # Appending (not rewriting) keeps lines from chats running side by side;
            # CPython then truncates the file to the history length.
            rl.append_history_file(added, str(self.history_path))  # type: ignore[attr-defined]
        except OSError:
            pass  # history is a convenience; never fail a chat over it


def _stdin_fd() -> int | None:
    """The real stdin's descriptor, which input() and readline use."""
    import sys

    try:
        return sys.stdin.fileno() if sys.stdin is not None else None
    except (OSError, ValueError):  # replaced by an object without a descriptor
        return None


def _load_readline() -> object | None:
    try:
        import readline
    except ImportError:  # e.g. Python built without it: plain input() still works
        return None
    return readline


def read_turn(source: LineSource, prompt: str, more: str) -> str:
    """One user turn: a line, or the lines between two lines holding only ``\"\"\"``.

    EOF inside a block sends what was typed so far (nothing is lost); Ctrl-C inside
    a block drops the block (``KeyboardInterrupt`` propagates).
    """
    line = source.read(prompt)
    if line.strip() != BLOCK_FENCE:
        return line
    lines: list[str] = []
    while True:
        try:
            line = source.read(more)
        except EOFError:
            if not lines:
                raise
            break
        if line.strip() == BLOCK_FENCE:
            break
        lines.append(line)
    return "\n".join(lines)
