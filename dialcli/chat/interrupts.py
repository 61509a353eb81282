"""Ctrl-C at the chat prompt always counts, whenever it lands.

CPython's readline loop (``Modules/readline.c``, ``readline_until_enter_or_signal``)
acts on signals only when its ``select()`` fails with EINTR. A SIGINT that arrives
while readline is handling a key, between two ``select()`` calls, is noted by Python's
C-level handler but not acted on: the next ``select()`` blocks until another key
arrives, so the Ctrl-C is lost (or surfaces after Enter, taking the typed line with
it). Typing and pressing Ctrl-C quickly, or a busy machine, hits this window.

Python's wakeup fd hears of every signal at once, from the C handler. A watcher thread
reads it and, while ``input()`` is still running and the KeyboardInterrupt has not
been raised, nudges the main thread with SIGURG (ignored by default, never otherwise
sent to dial; here it has a handler that does nothing): ``select()`` fails with EINTR,
readline runs the pending SIGINT handler, and ``input()`` raises KeyboardInterrupt.

One more window: ``select()`` saw a key, and the Ctrl-C arrives before readline's
``read()``. The terminal then flushes its input queue (the Ctrl-C discards type-ahead),
``read()`` blocks, and readline's ``rl_getc`` retries it after every EINTR without
looking at Python's signals. So while ``input()`` runs the terminal keeps its queue on
Ctrl-C (NOFLSH): the key is read, readline returns to ``select()``, and the nudge lands.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

NUDGE = signal.SIGURG
NUDGE_EVERY = 0.02  # seconds between nudges; the first comes after one interval
NUDGES = 25  # half a second at most: the handler runs at the first EINTR


class InterruptWatch:
    """Installed for the life of an interactive chat; ``reading()`` wraps ``input()``."""

    def __init__(self) -> None:
        self._handled = 0  # KeyboardInterrupts raised by our SIGINT handler
        self._seen = 0  # SIGINTs the wakeup fd reported
        self._reading = False
        self._installed = False
        self._pipe: tuple[int, int] | None = None
        self._previous: list[tuple[int, object]] = []
        self._previous_fd = -1
        self._main = threading.main_thread().ident

    def install(self) -> None:
        """Take over SIGINT's handler and the wakeup fd, unless someone else holds them."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return  # e.g. SIGINT ignored by the caller: leave it so
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)  # the C handler must never block on it
        previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        if previous_fd != -1:  # another user of the wakeup fd: do not steal it
            signal.set_wakeup_fd(previous_fd)
            os.close(read_end)
            os.close(write_end)
            return
        self._pipe = (read_end, write_end)
        self._previous = [
            (signal.SIGINT, signal.signal(signal.SIGINT, self._on_sigint)),
            (NUDGE, signal.signal(NUDGE, _ignore)),
        ]
        self._installed = True
        watcher = threading.Thread(
            target=self._watch, args=(read_end,), name="dial-ctrl-c", daemon=True
        )
        watcher.start()

    def close(self) -> None:
        """Give back the handlers and the wakeup fd; the watcher thread ends."""
        self._reading = False
        if not self._installed:
            return
        self._installed = False
        signal.set_wakeup_fd(-1)
        for signum, handler in self._previous:
            signal.signal(signum, handler)  # type: ignore[arg-type]
        assert self._pipe is not None
        os.close(self._pipe[1])  # the watcher reads end-of-file and closes its end

    @contextlib.contextmanager
    def reading(self, fd: int | None = None) -> Iterator[None]:
        """Around ``input()`` on terminal ``fd``: the span in which a pending Ctrl-C gets
        nudged, and the terminal keeps type-ahead on Ctrl-C."""
        saved = _keep_input_on_interrupt(fd) if self._installed and fd is not None else None
        self._reading = True
        try:
            yield
        finally:
            self._reading = False
            if saved is not None and fd is not None:
                _restore(fd, saved)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self._handled += 1
        raise KeyboardInterrupt

    def _watch(self, read_end: int) -> None:
        try:
            while True:
                try:
                    data = os.read(read_end, 64)
                except InterruptedError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                sigints = data.count(signal.SIGINT)  # one byte per signal: its number
                if sigints:
                    self._seen += sigints
                    self._nudge()
        finally:
            with contextlib.suppress(OSError):
                os.close(read_end)

    def _nudge(self) -> None:
        for _ in range(NUDGES):
            time.sleep(NUDGE_EVERY)  # the usual path (select's EINTR) needs no help
            if not self._reading or self._handled >= self._seen or self._main is None:
                return
            signal.pthread_kill(self._main, NUDGE)
        # Two Ctrl-C close together may run the handler once: count them as handled.
        self._seen = self._handled


def _keep_input_on_interrupt(fd: int) -> list[Any] | None:
    """Set NOFLSH on terminal ``fd``; the settings to restore (None: not a terminal)."""
    import termios

    try:
        saved = termios.tcgetattr(fd)
        changed = list(saved)
        changed[3] = saved[3] | termios.NOFLSH  # index 3: the local modes (lflag)
        termios.tcsetattr(fd, termios.TCSANOW, changed)
    except (termios.error, OSError, ValueError):
        return None
    return saved


def _restore(fd: int, saved: list[Any]) -> None:
    import termios

    with contextlib.suppress(termios.error, OSError, ValueError):
        termios.tcsetattr(fd, termios.TCSANOW, saved)  # readline restored its own changes


def _ignore(signum: int, frame: FrameType | None) -> None:
    """SIGURG's handler: its only job is to make ``select()`` fail with EINTR."""
