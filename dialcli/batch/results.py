"""Results out: one JSON line per item, in input order or as they finish; resuming.

The ordered writer holds results that finished early until the ones before them are
written; how many items may be started ahead of the oldest unwritten one is bounded by
the caller (``window``), so memory stays flat however long the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import orjson

from dialcli.batch.items import Item
from dialcli.errors import DialError, UsageError


@dataclass
class Result:
    item: Item
    record: dict[str, Any]  # the JSON line
    answer: str | None  # None when the item failed
    error: str | None


def make_result(
    item: Item,
    *,
    model: str,
    answer: str | None = None,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
    latency_ms: int | None = None,
    error: DialError | str | None = None,
) -> Result:
    """The item's own fields plus what came back (or its error)."""
    if isinstance(error, DialError):
        shown: dict[str, Any] | None = {"status": error.status, "message": error.message}
    elif error is not None:
        shown = {"status": None, "message": error}
    else:
        shown = None
    record = {
        "id": item.id,
        **item.fields,
        "answer": answer,
        "finish_reason": finish_reason,
        "usage": usage,
        "model": model,
        "latency_ms": latency_ms,
        "error": shown,
    }
    record["id"] = item.id  # an item's own "id" may be null: the line number stands in
    return Result(item, record, answer, shown["message"] if shown else None)


def id_key(value: Any) -> bytes:
    """Ids compare by their JSON text: 7 and "7" are different items."""
    return orjson.dumps(value)


class ResultWriter:
    """Writes results as JSON lines or plain answers, in order or as they come.

    ``on_written`` is called once per result written (the caller's window opens).
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        text: bool,
        ordered: bool,
        on_written: Callable[[Result], None],
        errors: TextIO | None = None,
    ) -> None:
        self._out = out
        self._errors = errors  # text output has no room for errors: they go here
        self._text = text
        self._ordered = ordered
        self._on_written = on_written
        self._held: dict[int, Result] = {}
        self._next = 0  # the seq the ordered writer waits for
        self._skipped: set[int] = set()  # seqs that will never come (resumed items)
        self._answers = 0

    def skip(self, seq: int) -> None:
        """This seq will not be written (already done in an earlier run)."""
        if self._ordered:
            self._skipped.add(seq)
            self._drain()

    def add(self, result: Result) -> None:
        if not self._ordered:
            self._write(result)
            return
        self._held[result.item.seq] = result
        self._drain()

    def _drain(self) -> None:
        while True:
            if self._next in self._skipped:
                self._skipped.discard(self._next)
            elif self._next in self._held:
                self._write(self._held.pop(self._next))
            else:
                return
            self._next += 1

    def flush_held(self) -> None:
        """Write whatever finished, in order, leaving gaps (an interrupted batch)."""
        for seq in sorted(self._held):
            self._write(self._held.pop(seq))

    def _write(self, result: Result) -> None:
        if self._text:
            if result.error is not None and self._errors is not None:
                self._errors.write(f"dial: item {result.item.id}: {result.error}\n")
                self._errors.flush()
            if result.answer is not None:
                prefix = b"\n" if self._answers else b""
                self._answers += 1
                self._out.write(prefix + result.answer.encode("utf-8") + b"\n")
        else:
            self._out.write(orjson.dumps(result.record) + b"\n")
        self._out.flush()
        self._on_written(result)


def read_done(path: Path) -> set[bytes]:
    """The ids already written to a results file; a torn last line is cut off.

    A batch killed in the middle of a write leaves part of a line: that item runs
    again, and the part is removed so the next line starts clean.
    """
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        return set()
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror}") from None
    done: set[bytes] = set()
    with handle:
        good_end = 0
        for line_no, line in enumerate(handle, start=1):
            if not line.endswith(b"\n"):
                break  # torn: truncated below
            good_end += len(line)
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                record = None
            if not isinstance(record, dict) or "id" not in record:
                raise UsageError(f"{path} line {line_no} is not a dial batch result")
            done.add(id_key(record["id"]))
        handle.truncate(good_end)
    return done
