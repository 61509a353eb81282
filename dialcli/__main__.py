"""Entry point: run the app, turn errors into one stderr line and an exit code."""

from __future__ import annotations

import os
import signal
import sys

from dialcli.errors import (
    DialError,
    PipeClosed,
    Stopped,
    Terminated,
    UsageError,
    exit_code_for,
)

# An internal error (a bug) exits 1 like a server error, unless this variable names
# another code: the test suite sets 70 (EX_SOFTWARE), so a bug can never pass for an
# expected failure there.
INTERNAL_EXIT_VAR = "DIAL_INTERNAL_ERROR_EXIT"


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def _silence_stdout() -> None:
    # Python flushes stdout at exit; after EPIPE that would print a traceback.
    if sys.stdout is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def main(argv: list[str] | None = None, io: object = None) -> int:
    """Run ``dial``; returns the exit code (also used by tests, in-process)."""
    # httpx's __init__ imports its command-line tool (click, rich, pygments: ~35 ms) only
    # to offer httpx.main(), which dial never calls. A None entry makes that import fail
    # at once and httpx falls back to a stub.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None blocks it
    from dialcli.output import IOStreams

    streams = io if isinstance(io, IOStreams) else IOStreams.system()
    from dialcli.errors import forget_secrets

    forget_secrets()
    from dialcli.config import forget_request_settings

    forget_request_settings()
    if io is None:
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run(argv, streams)
    except DialError as err:
        if err.message:  # NothingFound has no line to print
            from dialcli.hints import hint_for

            _report(err, streams, f"dial: {err}{hint_for(err)}")
        return exit_code_for(err)
    except (Stopped, PipeClosed, Terminated, KeyboardInterrupt) as stop:
        cause = stop.cause if isinstance(stop, Stopped) else stop
        if isinstance(cause, PipeClosed):
            if io is None:
                _silence_stdout()
        elif isinstance(cause, Terminated):
            streams.err("dial: terminated")
        else:
            streams.err("dial: interrupted")
        return exit_code_for(stop)
    except Exception as err:  # a bug: one line, the traceback only on request
        return _internal_error(err, streams)


def _internal_error(err: Exception, streams: object) -> int:
    line = f"dial: internal error: {type(err).__name__}: {err}"
    if not os.environ.get("DIAL_DEBUG"):
        line += " (set DIAL_DEBUG=1 for a traceback)"
    _report(err, streams, line)
    code = os.environ.get(INTERNAL_EXIT_VAR, "")
    return int(code) if code.isdigit() and 0 < int(code) < 256 else exit_code_for(err)


def _report(err: BaseException, streams: object, line: str) -> None:
    """The one error line; with DIAL_DEBUG=1 the traceback first. Keys, tokens and URL
    credentials are scrubbed: every one registered where it was read, and the
    environment's even when the failure came before the settings were.

    The line carries the server's words: it is kept on one line and escape sequences
    are made visible, so a hostile server cannot rewrite the terminal.
    """
    from dialcli.sanitize import one_line

    text = line = one_line(line)
    if os.environ.get("DIAL_DEBUG"):
        import traceback

        text = "".join(traceback.format_exception(err)) + line
    from dialcli.errors import add_secret, scrub

    for key in (os.environ.get("DIAL_API_KEY"), os.environ.get("DIAL_TOKEN")):
        if key:
            add_secret(key)
    text = scrub(text)
    streams.err(text)  # type: ignore[attr-defined]


def _run(argv: list[str] | None, io: object) -> int:
    import typer
    from typer.main import get_command

    from dialcli.cli.app import app
    from dialcli.cli.coercion import install, typer_is_checked
    from dialcli.cli.helptext import install as plain_help

    install()  # keeps pydantic (Typer's value coercion) out of every run
    plain_help()
    if os.environ.get("_DIAL_COMPLETE"):  # a Tab press (see dialcli/completions.py)
        from dialcli.completions import prepare

        prepare(skip_rich=typer_is_checked())
    command = get_command(app)
    args = sys.argv[1:] if argv is None else argv
    _check_utf8(args)
    try:
        result = command.main(args=args, prog_name="dial", standalone_mode=False, obj=io)
    except typer.Abort:
        raise KeyboardInterrupt from None
    except typer.Exit as err:
        if err.exit_code == 130:  # Typer's word for a Ctrl-C outside an answer
            raise KeyboardInterrupt from None
        return err.exit_code
    except typer.TyperException as err:
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        ctx = getattr(err, "ctx", None)
        if ctx is not None and message == ctx.get_help():
            # A bare `dial` or `dial history` (no_args_is_help): the help, as a usage error.
            io.err(message)  # type: ignore[attr-defined]
            return UsageError.exit_code
        # Click's usage errors: one line plus where to read more, never the usage block.
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        raise UsageError(f"{message}{where}") from None
    return result if isinstance(result, int) else 0


def _check_utf8(args: list[str]) -> None:
    """Arguments that are not UTF-8 are refused, like stdin: never sent, never guessed.

    Python hands undecodable bytes over as lone surrogates (surrogateescape); they
    cannot be encoded into a request, a header or a file.
    """
    for number, arg in enumerate(args, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as err:
            code = ord(arg[err.start])
            what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "a lone surrogate"
            raise UsageError(
                f"argument {number} is not valid UTF-8 ({what} at offset {err.start});"
                " convert it first, e.g. iconv -f latin1 -t utf-8"
            ) from None


if __name__ == "__main__":
    sys.exit(main())
