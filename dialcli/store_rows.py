"""One conversation file as bytes, a document, a summary, or an index row.

What listing, search and loading agree on: which files are conversations (``parse``),
the fields ``history list`` shows (from the head of a file when they are all there),
and the row the index keeps for a file (``read_row``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from dialcli.conversation import Conversation, Role

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ROLES = frozenset(str(r) for r in Role)
FOREIGN_NAME = "not a conversation file (dial names them <lowercase uuid>.json); ignored"


class Summary(NamedTuple):
    """What `history list` shows for one conversation."""

    id: str
    created: str
    updated: str
    model: str
    messages: int
    title: str


class Problem(NamedTuple):
    """A file that could not be read as a conversation; it is skipped, never touched."""

    path: Path
    reason: str


class BadFile(Exception):
    """The bytes of a conversation file are not a conversation; ``str()`` says why."""


# Enough for every field `history list` shows of a conversation dial wrote (they come
# before "messages"); a file whose head does not hold them is read whole.
HEAD_BYTES = 4096
_HEAD_KEYS = frozenset({"id", "created", "updated", "model", "title"})
_MESSAGES_KEY = b'"messages":'


def parse(data: bytes, name: str) -> dict[str, Any]:
    """The document in one file's bytes, checked to be a conversation, or BadFile.

    Checks exactly what ``Conversation.from_dict`` would trip on, so that listing
    (which skips building objects) and loading agree on which files are bad.
    """
    if not data.strip():
        raise BadFile("empty file")
    try:
        doc = orjson.loads(data.removeprefix(b"\xef\xbb\xbf"))  # a BOM some editors add
    except orjson.JSONDecodeError as err:
        if "UTF-8" in str(err):
            raise BadFile("not UTF-8 text") from None
        raise BadFile(f"not valid JSON (corrupt or truncated): {err}") from None
    if not isinstance(doc, dict):
        raise BadFile(f"not a conversation (top level is {type(doc).__name__}, not object)")
    stem = name.removesuffix(".json")
    if doc.get("id") != stem:
        raise BadFile(f"not a conversation (its 'id' is not {stem!r})")
    messages = doc.get("messages", [])
    if not isinstance(messages, list):
        raise BadFile("not a conversation ('messages' is not a list)")
    for i, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if type(role) is not str or role not in _ROLES:
            raise BadFile(f"not a conversation (message {i} has no valid role)")
    return doc


def decode(data: bytes, name: str) -> Conversation:
    """One file's bytes as a Conversation, or BadFile with a one-line reason."""
    return Conversation.from_dict(parse(data, name))


def summarize(doc: dict[str, Any]) -> Summary:
    """The summary of a document that ``parse`` accepted."""
    return Summary(*_fields(doc, len(doc.get("messages", []))))


def _fields(doc: dict[str, Any], count: int | None) -> list[Any]:
    # Same defaults as Conversation.from_dict, without building 20 Message objects.
    created = str(doc.get("created") or "")
    updated = str(doc.get("updated") or "") or created
    model = str(doc.get("model") or "")
    return [doc["id"], created, updated, model, count, str(doc.get("title") or "")]


def head_fields(head: bytes, name: str) -> list[Any] | None:
    """The summary fields from the part of a file before ``"messages":``, or None.

    None means "read the whole file": the head was cut short, is not what dial writes,
    or lacks a field. The message count stays unknown (None). Cutting at the key and
    closing the object is safe: a ``"messages":`` inside a string would have its quotes
    escaped, and a cut inside a nested object leaves braces that do not balance.
    """
    cut = head.find(_MESSAGES_KEY)
    if cut < 0:
        return None
    prefix = head[:cut].rstrip()
    if not prefix.endswith((b",", b"{")):
        return None
    try:
        doc = orjson.loads(prefix.removeprefix(b"\xef\xbb\xbf").removesuffix(b",") + b"}")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or not doc.keys() >= _HEAD_KEYS:
        return None
    if doc["id"] != name.removesuffix(".json"):
        return None  # the whole file says why
    return _fields(doc, None)


# A row: [ino, size, mtime_ns, id, created, updated, model, count, title] (count None:
# only the head was read). A problem: [name, ino, size, mtime_ns, reason].
UPDATED, ID, COUNT = 5, 3, 7


def order(row: list[Any]) -> tuple[str, str]:
    return row[UPDATED], row[ID]


def read_row(path: str, name: str, *, head_only: bool) -> list[Any] | None:
    """A fresh row for the file at ``path``, a problem, or None if it vanished meanwhile.

    With ``head_only`` only the first HEAD_BYTES are read when they hold the fields, and
    the count is None: the file is read whole only if it is shown. Plain ``os`` calls on
    a ``str`` path: a cold listing makes 100,000 of them.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        return [name, 0, 0, 0, f"cannot read: {err.strerror}"]  # key 0 never matches
    try:
        st = os.fstat(fd)  # of the descriptor read, so the key matches these bytes
        if not stat.S_ISREG(st.st_mode):  # e.g. a directory named <uuid>.json
            return [name, 0, 0, 0, "not a regular file"]
        key = [st.st_ino, st.st_size, st.st_mtime_ns]
        if head_only and st.st_size > HEAD_BYTES:
            fields = head_fields(os.read(fd, HEAD_BYTES), name)
            if fields is not None:
                return key + fields
            os.lseek(fd, 0, os.SEEK_SET)
        with open(fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError as err:
        return [name, 0, 0, 0, f"cannot read: {err.strerror}"]
    finally:
        os.close(fd)
    try:
        doc = parse(data, name)
    except BadFile as err:
        return [name, *key, str(err)]
    return key + _fields(doc, len(doc.get("messages", [])))


def is_row(row: object) -> bool:
    """A good row as we write them; anything else makes the index foreign."""
    return (
        type(row) is list
        and len(row) == 9
        and all(type(v) is int for v in row[:3])
        and all(type(v) is str for v in row[3:7])
        and (row[COUNT] is None or type(row[COUNT]) is int)
        and type(row[8]) is str
    )


def is_problem(entry: object) -> bool:
    return type(entry) is list and len(entry) == 5 and type(entry[0]) is str


def same_file(row: list[Any], st: os.stat_result) -> bool:
    return row[0] == st.st_ino and row[1] == st.st_size and row[2] == st.st_mtime_ns
