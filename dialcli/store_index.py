"""Decoding conversation files and the derived index that makes listing fast.

The index (``conversations/.index.json``) maps each file name to the stat key it was
read at and the few fields ``history list`` shows. It is never the only copy of
anything: a missing, corrupt or foreign index is rebuilt, and an entry whose file
changed (inode, size or mtime differ) is re-read. No locking: writers replace it
atomically, and a stale index written by a racing reader is healed the same way.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from dialcli.conversation import Conversation

INDEX_NAME = ".index.json"
INDEX_VERSION = 1
TEMP_PREFIX = ".tmp-"
# A temp file this old belongs to a writer that was killed; nothing will rename it.
STALE_TEMP_SECONDS = 3600
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, slots=True)
class Summary:
    """What `history list` shows for one conversation."""

    id: str
    created: str
    updated: str
    model: str
    messages: int
    title: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that could not be read as a conversation; it is skipped, never touched."""

    path: Path
    reason: str


class BadFile(Exception):
    """The bytes of a conversation file are not a conversation; ``str()`` says why."""


def decode(data: bytes, name: str) -> Conversation:
    """Parse and check one file's bytes; raise BadFile with a one-line reason."""
    if not data.strip():
        raise BadFile("empty file")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        if "UTF-8" in str(err):
            raise BadFile("not UTF-8 text") from None
        raise BadFile(f"not valid JSON (corrupt or truncated): {err}") from None
    if not isinstance(doc, dict):
        raise BadFile(f"not a conversation (top level is {type(doc).__name__}, not object)")
    stem = name.removesuffix(".json")
    if doc.get("id") != stem:
        raise BadFile(f"not a conversation (its 'id' is not {stem!r})")
    if not isinstance(doc.get("messages", []), list):
        raise BadFile("not a conversation ('messages' is not a list)")
    try:
        return Conversation.from_dict(doc)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise BadFile(f"not a conversation (bad message: {err!r})") from None


def summarize(conv: Conversation) -> Summary:
    return Summary(conv.id, conv.created, conv.updated, conv.model, len(conv.messages), conv.title)


def _stat_key(st: os.stat_result) -> list[int]:
    # os.replace always brings a new inode, so the store's own writes never keep a key;
    # size and mtime catch edits in place by other programs.
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _load_index(path: Path) -> dict[str, list[Any]]:
    try:
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(doc, dict) or doc.get("version") != INDEX_VERSION:
        return {}
    files = doc.get("files")
    return files if isinstance(files, dict) else {}


def _write_index(path: Path, files: dict[str, list[Any]]) -> None:
    """Best effort and without fsync: a lost or torn index is simply rebuilt."""
    data = orjson.dumps({"version": INDEX_VERSION, "files": files})
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".index", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # read-only or full disk: listing still works, just slower next time
    finally:
        if tmp is not None:
            _unlink_quietly(tmp)


def _unlink_quietly(path: str | Path) -> None:
    with suppress(OSError):
        os.unlink(path)


def _read_entry(directory: Path, name: str) -> list[Any] | None:
    """A fresh index entry for one file, or None if it vanished meanwhile."""
    try:
        fd = os.open(directory / name, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        return [0, 0, 0, f"cannot read: {err.strerror}"]
    with os.fdopen(fd, "rb") as f:
        # fstat of the descriptor read from, so the key matches exactly these bytes.
        key = _stat_key(os.fstat(f.fileno()))
        data = f.read()
    try:
        conv = decode(data, name)
    except BadFile as err:
        return [*key, str(err)]
    return [*key, None, conv.id, conv.created, conv.updated, conv.model,
            len(conv.messages), conv.title]  # fmt: skip


def _scan(directory: Path) -> Iterator[tuple[str, list[int] | None]]:
    """(name, stat key) of each conversation file; sweeps temp files of killed writers."""
    try:
        it = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return
    now = time.time()
    with it:
        for entry in it:
            name = entry.name
            if name.startswith(TEMP_PREFIX):
                try:
                    if now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                        _unlink_quietly(entry.path)
                except OSError:
                    pass
                continue
            if name.startswith(".") or not name.endswith(".json"):
                continue
            try:
                yield name, _stat_key(entry.stat())
            except FileNotFoundError:
                continue
            except OSError:
                yield name, None


def _from_entry(directory: Path, name: str, entry: list[Any]) -> Summary | Problem | None:
    """The value an index entry stands for, or None if the entry is malformed."""
    if len(entry) == 4 and isinstance(entry[3], str):
        return Problem(directory / name, entry[3])
    if len(entry) != 10 or entry[3] is not None or not isinstance(entry[8], int):
        return None
    if not all(isinstance(v, str) for v in (*entry[4:8], entry[9])):
        return None
    return Summary(*entry[4:10])


def refresh(directory: Path) -> tuple[list[Summary], list[Problem]]:
    """Summaries of every readable conversation (unsorted) and the files that are not.

    Reuses index entries whose stat key still matches, re-reads the rest, and rewrites
    the index only when something changed.
    """
    index_path = directory / INDEX_NAME
    old = _load_index(index_path)
    new: dict[str, list[Any]] = {}
    summaries: list[Summary] = []
    problems: list[Problem] = []
    changed = False
    for name, key in _scan(directory):
        entry = old.get(name)
        item = None
        if key is not None and isinstance(entry, list) and entry[:3] == key:
            item = _from_entry(directory, name, entry)
        if item is None:
            changed = True
            entry = _read_entry(directory, name)
            if entry is None:
                continue
            item = _from_entry(directory, name, entry)
        new[name] = entry  # type: ignore[assignment]
        if isinstance(item, Summary):
            summaries.append(item)
        elif item is not None:
            problems.append(item)
    if (changed or len(new) != len(old)) and directory.is_dir():
        _write_index(index_path, new)
    return summaries, problems
