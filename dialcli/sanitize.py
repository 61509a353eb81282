"""Text from the server, made safe to show on a terminal.

A server (or whoever controls a model, an application or a file title) can put escape
sequences in what dial shows: ``ESC]0;…`` retitles the terminal, ``ESC[2J`` clears it,
others have been used to fake output or, on some terminals, to run commands. Everything
shown that came from the server goes through here, except the answer text on stdout,
which is the user's data (and is written exactly as it came).
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL, and the Unicode bidirectional overrides that make text
# read differently from what it is. Tab and newline are kept by ``for_terminal``.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BLANKS = re.compile("[\t\n\r]+")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def for_terminal(text: str) -> str:
    """``text`` with control characters shown as ``\\x1b`` etc.; tab and newline kept."""
    return _CONTROLS.sub(_visible, text)


def one_line(text: str) -> str:
    """``for_terminal``, on one line: line ends and tabs become single spaces."""
    return _CONTROLS.sub(_visible, _BLANKS.sub(" ", text))
