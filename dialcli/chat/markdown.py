"""Answers on a terminal: raw tokens, or Markdown rendered while it streams.

Streaming strategy for Markdown: the answer is cut into blocks at blank lines that
are outside code fences. A finished block is printed once, rendered, above a
``rich.live.Live`` region that shows only the block still arriving, re-rendered as
tokens come (at most ~20 times a second). The live region stays a paragraph tall,
so it never outgrows the screen (where Live would repeat lines in the scrollback),
and tokens keep flowing. rich is imported only here, only when Markdown is on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, Any, BinaryIO, cast

from dialcli.output import AnswerWriter, PipeClosed

FENCES = ("```", "~~~")
REFRESH_SECONDS = 0.05


class TerminalWriter(AnswerWriter):
    """Raw tokens, after a hook that runs before the first one (stops the spinner)."""

    def __init__(self, stdout: BinaryIO, before_first: Callable[[], None]) -> None:
        super().__init__(stdout)
        self._before_first: Callable[[], None] | None = before_first

    def _first(self) -> None:
        if self._before_first is not None:
            hook, self._before_first = self._before_first, None
            hook()

    def write(self, text: str) -> None:
        if text:
            self._first()
        super().write(text)

    def finish(self) -> None:
        self._first()
        super().finish()


def split_point(text: str, start: int) -> int:
    """Where ``text[start:]`` may be cut so the head renders the same on its own.

    The end of the last blank line that is outside a code fence and followed by an
    unindented line (an indented one may continue a list item); ``start`` if none.
    """
    cut = start
    in_fence = False
    position = start
    lines = text[start:].split("\n")
    for index, line in enumerate(lines[:-1]):  # the last piece may still grow
        position += len(line) + 1
        if line.lstrip().startswith(FENCES):
            in_fence = not in_fence
        following = lines[index + 1]
        if not in_fence and not line.strip() and following[:1] not in ("", " ", "\t"):
            cut = position
    return cut


def _blank(line: list[Any]) -> bool:
    """Nothing visible: only spaces, and no background (a code block's padding shows)."""
    return all(not seg.text.strip() and not (seg.style and seg.style.bgcolor) for seg in line)


class _TextOut:
    """rich writes text; our stdout takes bytes (and a closed pipe is PipeClosed)."""

    def __init__(self, stdout: BinaryIO) -> None:
        self._stdout = stdout

    def write(self, text: str) -> int:
        try:
            self._stdout.write(text.encode("utf-8"))
        except BrokenPipeError:
            raise PipeClosed from None
        return len(text)

    def flush(self) -> None:
        try:
            self._stdout.flush()
        except BrokenPipeError:
            raise PipeClosed from None

    def isatty(self) -> bool:
        return True


class MarkdownWriter(TerminalWriter):
    """Renders the answer as Markdown while it streams (see the module docstring)."""

    def __init__(self, stdout: BinaryIO, before_first: Callable[[], None]) -> None:
        super().__init__(stdout, before_first)
        from rich.console import Console

        # rich only calls write, flush and isatty on its file: _TextOut has those.
        out = cast(IO[str], _TextOut(stdout))
        self._console = Console(file=out, force_terminal=True, soft_wrap=False)
        self._live: Any = None
        self._text = ""
        self._done = 0  # characters of _text already printed as finished blocks
        self._shown = 0.0

    def write(self, text: str) -> None:
        if not text:
            return
        self._first()
        if self._live is None:
            self._start()
        self._text += text
        cut = split_point(self._text, self._done)
        if cut > self._done:
            self._live.console.print(self._render(self._text[self._done : cut]))
            self._done = cut
            self._update(force=True)
        else:
            self._update(force=False)
        self.written = True

    def _start(self) -> None:
        from rich.live import Live

        # No stdout/stderr redirection: Live would replace sys.stdout for the process.
        self._live = Live(
            console=self._console,
            auto_refresh=False,
            vertical_overflow="visible",
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def _render(self, text: str) -> Any:
        """One block as rich would lay it out inside the whole answer.

        A block rendered alone may start or end with blank lines (lists) that the whole
        document would not have; they are trimmed and exactly one blank line goes
        between blocks, as rich puts between top-level elements.
        """
        from rich.markdown import Markdown
        from rich.segment import Segment, Segments

        from dialcli.sanitize import for_terminal

        text = text.strip("\n")
        if not text:
            return Segments([])
        # Rendering is for the terminal, not the raw answer: rich passes ESC through, so
        # escape sequences in an answer would reach the terminal (see sanitize.py).
        text = for_terminal(text)
        # Unpadded lines: a Ctrl-C echoed as "^C" must not wrap and break Live's redraw.
        lines = self._console.render_lines(Markdown(text, justify="default"), pad=False)
        while lines and _blank(lines[-1]):
            lines.pop()
        while lines and _blank(lines[0]):
            lines.pop(0)
        # The first block starts under the label; each later one after a blank line.
        segments: list[Any] = [Segment.line()] if self._done else []
        for line in lines:
            segments.extend(line)
            segments.append(Segment.line())
        return Segments(segments)

    def _update(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._shown < REFRESH_SECONDS:
            return
        self._shown = now
        self._live.update(self._render(self._text[self._done :]), refresh=True)

    def finish(self) -> None:
        """Render the last block and give the cursor back (rich ends it with a newline)."""
        if self.finished:
            return
        self.finished = True
        self._first()
        if self._live is None:  # nothing arrived; the label already ended its line
            return
        try:
            self._update(force=True)
        finally:
            self._live.stop()  # shows the cursor again, also after Ctrl-C
