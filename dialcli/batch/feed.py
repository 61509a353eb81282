"""Items read on a thread of their own, so a slow stdin never stalls answers in flight.

The thread hands items over in small lots and stays at most a few lots ahead, so a
100,000-line input is never all in memory. It is a daemon: a batch stopped by Ctrl-C
while stdin is still open does not wait for the next line.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterator

from dialcli.batch.items import Item

LOT = 256
LOTS_AHEAD = 4


class ItemFeed:
    def __init__(self, items: Iterator[Item], loop: asyncio.AbstractEventLoop) -> None:
        self._items = items
        self._loop = loop
        self._ready: deque[Item] = deque()
        self._lots: deque[list[Item] | BaseException | None] = deque()
        self._arrived = asyncio.Event()
        self._room = threading.Semaphore(LOTS_AHEAD)
        self._closed = False
        self._ended = False
        self.read = 0  # items handed over so far
        threading.Thread(target=self._read, name="dial-batch-input", daemon=True).start()

    def _read(self) -> None:
        lot: list[Item] = []
        try:
            for item in self._items:
                lot.append(item)
                if len(lot) >= LOT:
                    self._hand_over(lot)
                    lot = []
                    if self._closed:
                        return
            if lot:
                self._hand_over(lot)
            self._hand_over(None)
        except BaseException as err:  # handed to the event loop, raised there
            self._hand_over(err)

    def _hand_over(self, lot: list[Item] | BaseException | None) -> None:
        self._room.acquire()
        if self._closed:
            return
        try:
            self._loop.call_soon_threadsafe(self._arrive, lot)
        except RuntimeError:  # the loop is gone: the batch is over
            self._closed = True

    def _arrive(self, lot: list[Item] | BaseException | None) -> None:
        self._lots.append(lot)
        self._arrived.set()

    def ready(self) -> bool:
        """Whether ``next`` will return without waiting."""
        return bool(self._ready)

    async def next(self) -> Item | None:
        """The next item, or None at the end of the input."""
        while not self._ready:
            if self._ended:
                return None
            while not self._lots:
                self._arrived.clear()
                await self._arrived.wait()
            lot = self._lots.popleft()
            self._room.release()
            if lot is None:
                self._ended = True
            elif isinstance(lot, BaseException):
                self._ended = True
                raise lot
            else:
                self._ready.extend(lot)
        self.read += 1
        return self._ready.popleft()

    def close(self) -> None:
        self._closed = True
        self._room.release()  # a reader waiting for room wakes up and sees it is closed
