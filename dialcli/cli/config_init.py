"""``dial config init``: the first-run questions, checked with one request before saving."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from dialcli.errors import DialError, UsageError

if TYPE_CHECKING:
    from dialcli.backends.base import Backend
    from dialcli.config import Settings
    from dialcli.output import IOStreams


def _real_backend(settings: Settings, io: IOStreams) -> Backend:
    from dialcli.backends import get_backend

    return get_backend(settings, io)


@dataclass(frozen=True)
class InitOptions:
    io: IOStreams
    settings: Settings
    path: Path
    make_backend: Callable[[Settings, IOStreams], Backend] = _real_backend


def _ask(io: IOStreams, question: str, *, hidden: bool = False) -> str:
    """One answer typed on the terminal (without echo when ``hidden``); Ctrl-D ends dial."""
    io.stderr.write(question)
    io.stderr.flush()
    line = _read_hidden(io) if hidden else io.stdin.readline()
    if not line:
        io.err("")
        raise KeyboardInterrupt  # Ctrl-D at a question: leave, saving nothing
    return line.decode("utf-8", "replace").strip()


def _read_hidden(io: IOStreams) -> bytes:
    """A line with the terminal's echo off (as getpass, but from our stdin)."""
    try:
        import termios

        fd = io.stdin.fileno()
        old = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        return io.stdin.readline()  # not a real terminal (tests): nothing to hide
    new = list(old)
    new[3] &= ~termios.ECHO
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, new)
        return io.stdin.readline()
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, old)
        io.err("")  # the Enter the user typed was not echoed


def run_init(opts: InitOptions) -> None:
    """Ask for URL and key (current values kept on Enter), list the models, then save."""
    from dialcli.config import validate_url

    io, current = opts.io, opts.settings
    io.err(f"Settings go to {opts.path} (mode 0600). Press Enter to keep a value.")
    url = _ask(io, f"DIAL URL [{current.url}]: ") or current.url
    url = validate_url(url, "the URL typed")
    keep = " (Enter keeps the current one)" if current.api_key else ""
    key = _ask(io, f"API key{keep}: ", hidden=True) or current.api_key
    if not key:
        raise UsageError("no API key given; nothing was saved")
    from dialcli.config_checks import secret

    secret(key, "the key typed")
    trial = replace(
        current, url=url, api_key=key, api_key_source="the key typed", url_source="the URL typed"
    )
    trial = replace(trial, token=None, token_command=None, api_key_command=None)
    models = _check(opts, trial)
    io.err(f"DIAL answered: {len(models)} deployment(s) at {url}.")
    _save(opts, url, key, models)


def _check(opts: InitOptions, trial: Settings) -> list[str]:
    try:
        with opts.make_backend(trial.for_requests(), opts.io) as backend:
            return [m.id for m in backend.list_models()]
    except DialError as err:
        err.message = f"{err.message}; nothing was saved"
        raise


def _save(opts: InitOptions, url: str, key: str, models: list[str]) -> None:
    """Ask for a default model when the current one is not listed, then write it all."""
    import os

    from dialcli.config_edit import set_value

    io, current = opts.io, opts.settings
    answers = {"url": url, "api_key": key}
    if models and current.model not in models and current.model not in current.aliases:
        shown = ", ".join(models[:6]) + (", ..." if len(models) > 6 else "")
        io.err(f"The default model {current.model!r} is not among them ({shown}).")
        answers["model"] = _ask(io, f"Default model [{models[0]}]: ") or models[0]
    for name, value in answers.items():  # after the last question: Ctrl-D saves nothing
        set_value(opts.path, name, value)
    io.err(f"Saved {', '.join(answers)} in {opts.path}.")
    for name in ("DIAL_URL", "DIAL_API_KEY", "DIAL_TOKEN", "DIAL_MODEL"):
        if os.environ.get(name):
            io.err(f"Note: {name} is set in your environment and wins over the file.")
