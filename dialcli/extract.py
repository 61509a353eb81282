"""Fenced code blocks in an answer, for ``-x/--extract`` and ``--extract-last``.

Fences follow CommonMark (spec 0.31, "Fenced code blocks"): a run of at least three
backticks or tildes opens a block; any info string may follow (```` ```c++ ````,
```` ```sh title="x" ````), though a backtick fence's info string holds no backtick, so
```` ```inline``` ```` on one line is not a fence. The block closes at a line holding
only a run of the same character at least as long, so ```` ```` ```` can wrap an
example that contains ```` ``` ````. A block left open runs to the end of the answer
(a cut-off answer still yields its code).

One leniency: CommonMark allows at most three spaces before a fence at the top level,
but models often indent fences inside list items; a fence may be indented by any amount
of spaces, and that much indentation is taken off each line of its content.

Pure: no I/O.
"""

from __future__ import annotations

import re

from dialcli.errors import DialError

_OPEN = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


class NoCodeBlock(DialError):
    """-x found no fenced code block: nothing on stdout, exit 1 (a script can tell)."""

    exit_code = 1


def code_blocks(text: str) -> list[str]:
    """Every fenced code block's content, in order, without its fences."""
    blocks: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        match = _OPEN.match(lines[index])
        index += 1
        if match is None:
            continue
        fence, info = match["fence"], match["info"]
        if fence[0] == "`" and "`" in info:
            continue  # inline code, not a fence (CommonMark example 145)
        indent = len(match["indent"])
        content: list[str] = []
        while index < len(lines):
            line = lines[index]
            index += 1
            if _closes(line, fence):
                break
            content.append(_dedent(line, indent))
        blocks.append("\n".join(content))
    return blocks


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _dedent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def extract(text: str, *, last: bool = False) -> str | None:
    """The first (``last``: the last) fenced code block of ``text``; None if it has none."""
    blocks = code_blocks(text)
    if not blocks:
        return None
    return blocks[-1] if last else blocks[0]


def required(text: str, *, last: bool = False) -> str:
    """``extract``, or NoCodeBlock when the text has no fenced code block."""
    code = extract(text, last=last)
    if code is None:
        raise NoCodeBlock("no fenced code block in the answer")
    return code
