"""Work items from JSON Lines, CSV or plain lines, each turned into the messages to send.

A line that cannot be read (bad JSON, not an object, a template field missing) becomes
that item's error, never the end of the batch. Pure but for reading the stream it is
given; nothing here talks to DIAL.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from dialcli.templating import MissingVariables, render

# One item's line, as read (bounded.lines_at_most): far above any model's context, and
# a longer "line" is a file with no line ends (/dev/zero, a binary), not work to do.
MAX_LINE_BYTES = 16 * 1024 * 1024
TOO_LONG = "longer than 16 MiB; the rest of the input was not read"

FORMATS = ("jsonl", "csv", "lines")


@dataclass
class Item:
    """One unit of work: its place in the input, its id, its fields and what to send."""

    seq: int  # 0-based position among the items read: the output order
    id: Any  # the item's own "id", else its line number
    fields: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] | None = None
    error: str | None = None  # why it cannot be sent (bad input)


@dataclass(frozen=True)
class Recipe:
    """How every item becomes a request: the template, the system prompt, attachments."""

    template: str | None = None
    system: str | None = None
    attachments: list[dict[str, Any]] | None = None


def detect_format(name: str | None, first_line: bytes) -> str:
    """jsonl or csv, from the file name or else the first non-blank line."""
    lowered = (name or "").lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    return "jsonl" if first_line.lstrip().startswith(b"{") else "csv"


def read_items(lines: Iterable[bytes], fmt: str, recipe: Recipe) -> Iterator[Item]:
    """The items in ``lines`` (``fmt`` one of FORMATS), read lazily, one at a time."""
    rows = _csv_rows(lines) if fmt == "csv" else _line_rows(lines, fmt)
    for seq, (line_no, fields, error) in enumerate(rows):
        item_id = fields.get("id")
        item = Item(seq, line_no if item_id is None else item_id, fields)
        if error is None:
            try:
                item.messages = build_messages(fields, fmt, recipe)
            except (MissingVariables, ValueError) as err:
                error = str(err)
        item.error = None if error is None else f"line {line_no}: {error}"
        yield item


def build_messages(fields: dict[str, Any], fmt: str, recipe: Recipe) -> list[dict[str, Any]]:
    """The messages for one item; ValueError says why there are none."""
    messages: list[dict[str, Any]]
    if recipe.template is not None:
        messages = [{"role": "user", "content": render(recipe.template, fields)}]
    elif fmt == "lines":
        messages = [{"role": "user", "content": fields["line"]}]
    elif isinstance(fields.get("prompt"), str):
        messages = [{"role": "user", "content": fields["prompt"]}]
    elif "messages" in fields:
        messages = _checked_messages(fields["messages"])
    else:
        raise ValueError("no 'prompt' or 'messages' field (or give --template)")
    if recipe.system is not None and not any(m.get("role") == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": recipe.system})
    if recipe.attachments:
        last = messages[-1]
        last["custom_content"] = {
            **last.get("custom_content", {}),
            "attachments": recipe.attachments,
        }
    return messages


def _checked_messages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ValueError("'messages' must be a non-empty list of messages")
    for message in value:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ValueError("each of 'messages' must be an object with a 'role'")
    return [dict(message) for message in value]


Row = tuple[int, dict[str, Any], "str | None"]


def _line_rows(lines: Iterable[bytes], fmt: str) -> Iterator[Row]:
    """JSON Lines or plain lines; blank lines are skipped (ids stay line numbers)."""
    for line_no, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE_BYTES:
            yield line_no, {}, TOO_LONG
            return
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        if fmt == "lines":
            try:
                yield line_no, {"line": line.decode("utf-8")}, None
            except UnicodeDecodeError:
                yield line_no, {}, "not UTF-8"
            continue
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            yield line_no, {}, f"invalid JSON: {err}"
            continue
        if not isinstance(data, dict):
            yield line_no, {}, "not a JSON object"
            continue
        yield line_no, data, None


def _csv_rows(lines: Iterable[bytes]) -> Iterator[Row]:
    """CSV with a header; each row's id is its line number (the header is line 1)."""
    reader = csv.reader(_decoded(lines))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as err:
        yield 1, {}, f"bad CSV header: {err}"
        return
    header = [name.strip() for name in header]
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            yield start, {}, f"bad CSV: {err}"
            continue
        if not any(cell.strip() for cell in row):
            continue
        fields = {name: value for name, value in zip(header, row, strict=False) if name}
        error = None
        if len(row) > len(header):
            error = f"{len(row)} cells for {len(header)} columns"
        yield start, fields, error


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text lines; spreadsheets often save a BOM, which must not stick to a name."""
    first = True
    for line in lines:
        if len(line) > MAX_LINE_BYTES:
            raise csv.Error(TOO_LONG)  # the reader's next row is this error, then the end
        text = line.decode("utf-8", "replace")
        if first:
            first = False
            text = text.removeprefix("\ufeff")
        yield text
