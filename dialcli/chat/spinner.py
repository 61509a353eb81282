"""A small spinner on stderr while the first token is awaited (terminals only)."""

from __future__ import annotations

import threading
from typing import TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
INTERVAL = 0.08


class Spinner:
    """Draws one character in place (frame, backspace) so text before it stays.

    ``stop()`` erases it and waits for the thread, so nothing is drawn after the
    caller starts writing the answer. Safe to call more than once, and before or
    without ``start()`` (a Ctrl-C may land between the two).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._drawn = False
        self._thread = threading.Thread(target=self._spin, name="dial-spinner", daemon=True)

    def start(self) -> Spinner:
        self._thread.start()
        return self

    def _spin(self) -> None:
        index = 0
        # A short grace period: fast answers never flash a spinner.
        while not self._stopped.wait(INTERVAL):
            with self._lock:
                if self._stopped.is_set():
                    return
                self._draw(FRAMES[index % len(FRAMES)] + "\b")
                self._drawn = True
            index += 1

    def _draw(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self._stopped.set()

    def stop(self) -> None:
        # The flag first: whatever interrupts the rest, the thread draws nothing more.
        self._stopped.set()
        with self._lock:
            if self._drawn:
                self._draw(" \b")
                self._drawn = False
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=1)


class NoSpinner:
    """What a non-terminal gets: nothing."""

    def start(self) -> NoSpinner:
        return self

    def stop(self) -> None:
        pass
