"""IO streams passed down from ``main``, and the writer that streams an answer."""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from dialcli.errors import PipeClosed

__all__ = ["AnswerWriter", "IOStreams", "PipeClosed"]


@dataclass
class IOStreams:
    """stdin/stdout/stderr and whether each is a terminal; nothing else asks ``isatty``."""

    stdin: BinaryIO
    stdout: BinaryIO
    stderr: TextIO
    stdin_is_tty: bool = False
    stdout_is_tty: bool = False
    stderr_is_tty: bool = False
    no_color: bool = False

    @classmethod
    def system(cls) -> IOStreams:
        # A closed descriptor (`dial ask >&-`) leaves sys.stdout None: behave as if
        # the reader had gone away, and read an empty stdin.
        return cls(
            stdin=sys.stdin.buffer if sys.stdin is not None else io.BytesIO(),
            stdout=sys.stdout.buffer if sys.stdout is not None else _ClosedOutput(),  # type: ignore[arg-type]
            stderr=sys.stderr if sys.stderr is not None else io.StringIO(),
            stdin_is_tty=_isatty(sys.stdin),
            stdout_is_tty=_isatty(sys.stdout),
            stderr_is_tty=_isatty(sys.stderr),
            no_color=bool(os.environ.get("NO_COLOR")),  # set and non-empty, per no-color.org
        )

    @classmethod
    def fake(cls, stdin: bytes = b"", *, tty: bool = False) -> IOStreams:
        return cls(io.BytesIO(stdin), io.BytesIO(), io.StringIO(), tty, tty, tty)

    def out(self, text: str) -> None:
        """Write text to stdout (not an answer as it arrives: see AnswerWriter for that)."""
        try:
            self.stdout.write(text.encode("utf-8"))
            self.stdout.flush()
        except BrokenPipeError:
            raise PipeClosed from None

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    @property
    def color(self) -> bool:
        return self.stderr_is_tty and not self.no_color


class _ClosedOutput(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        raise BrokenPipeError


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


class AnswerWriter:
    """Writes and flushes each piece of an answer as it arrives (what one network read
    brought, or one chunk with the sdk backend), and ends it with exactly one newline.

    Trailing newlines are held back until more text arrives, so an answer that
    ends in blank lines still ends in exactly one.
    """

    def __init__(self, stdout: BinaryIO) -> None:
        self._stdout = stdout
        self._held = ""
        self.written = False
        self.finished = False

    def write(self, text: str) -> None:
        if not text:
            return
        stripped = text.rstrip("\n")
        if not stripped:
            self._held += text
            return
        payload = self._held + stripped
        self._held = text[len(stripped) :]
        try:
            self._stdout.write(payload.encode("utf-8"))
            self._stdout.flush()
        except BrokenPipeError:
            raise PipeClosed from None
        self.written = True

    def finish(self) -> None:
        """End the answer with one newline (also for an empty answer)."""
        if self.finished:
            return
        self.finished = True
        self._held = ""
        try:
            self._stdout.write(b"\n")
            self._stdout.flush()
        except BrokenPipeError:
            raise PipeClosed from None
