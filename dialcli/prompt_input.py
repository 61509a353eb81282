"""Where the prompt of ``dial ask`` comes from: the argument, stdin, or both."""

from __future__ import annotations

from dialcli.errors import UsageError
from dialcli.output import IOStreams

# Far above any model's context window (1M tokens is ~4 MB of text), low enough
# that a mistaken `dial ask < big.iso` fails at once instead of uploading it.
MAX_STDIN_BYTES = 16 * 1024 * 1024


def read_stdin(io: IOStreams, limit: int = MAX_STDIN_BYTES) -> str:
    """All of stdin as text; refuse more than ``limit`` bytes and invalid UTF-8."""
    data = io.stdin.read(limit + 1)
    if len(data) > limit:
        raise UsageError(
            f"stdin is larger than {limit // (1024 * 1024)} MiB; "
            "send a smaller excerpt (e.g. head -c 1M file | dial ask ...)"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(
            f"stdin is not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start}); "
            "convert it first, e.g. iconv -f latin1 -t utf-8"
        ) from None


def read_prompt(io: IOStreams, arg: str | None) -> str:
    """Argument, piped stdin, or both (stdin's text, a blank line, then the argument)."""
    if arg == "-":
        if io.stdin_is_tty:
            raise UsageError("'-' reads the prompt from stdin, but stdin is a terminal")
        text = read_stdin(io)
    elif io.stdin_is_tty:
        text = arg or ""
    else:
        piped = read_stdin(io)
        text = f"{piped.rstrip()}\n\n{arg}" if piped.strip() and arg else arg or piped
    if not text.strip():
        raise UsageError("no prompt: give one as an argument or pipe it on stdin")
    return text
