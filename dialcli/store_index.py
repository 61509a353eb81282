"""Decoding conversation files, and the derived index that makes listing fast.

The index (``conversations/.index.json``) maps each file name to the stat key it was
read at and the few fields ``history list`` shows. It is never the only copy of
anything: a missing, corrupt or foreign index is rebuilt, and an entry whose file
changed (inode, size or mtime differ) is re-read. No locking: writers replace it
atomically, and a stale index written by a racing reader is healed the same way.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson

from dialcli.conversation import Conversation, Role

INDEX_NAME = ".index.json"
INDEX_VERSION = 1
TEMP_PREFIX = ".tmp-"
# A temp file this old belongs to a writer that was killed; nothing will rename it.
STALE_TEMP_SECONDS = 3600
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ROLES = frozenset(str(r) for r in Role)
FOREIGN_NAME = "not a conversation file (dial names them <lowercase uuid>.json); ignored"


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


class _BadIndex(Exception):
    """The index parsed but holds something we did not write: rebuild it."""


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


def _head_fields(head: bytes, name: str) -> list[Any] | None:
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


def _read_entry(path: str, name: str, *, head_only: bool) -> list[Any] | None:
    """A fresh index entry for the file at ``path``, or None if it vanished meanwhile.

    An entry is ``[ino, size, mtime_ns, problem, id, created, updated, model, count,
    title]``, or just the first four when ``problem`` (a reason) is set. With
    ``head_only`` only the first HEAD_BYTES are read when they hold the fields, and
    ``count`` is None: the file is read whole only if it is shown. Plain ``os`` calls on
    a ``str`` path: a cold listing makes 10,000 of them, and pathlib and file objects
    would double its cost.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        return [0, 0, 0, f"cannot read: {err.strerror}"]  # key 0 never matches: retried
    try:
        st = os.fstat(fd)  # of the descriptor read, so the key matches these bytes
        if not stat.S_ISREG(st.st_mode):  # e.g. a directory named <uuid>.json
            return [0, 0, 0, "not a regular file"]
        key = [st.st_ino, st.st_size, st.st_mtime_ns]
        if head_only and st.st_size > HEAD_BYTES:
            fields = _head_fields(os.read(fd, HEAD_BYTES), name)
            if fields is not None:
                return [*key, None, *fields]
            os.lseek(fd, 0, os.SEEK_SET)
        with open(fd, "rb", closefd=False) as f:
            data = f.read()
    except OSError as err:
        return [0, 0, 0, f"cannot read: {err.strerror}"]
    finally:
        os.close(fd)
    try:
        doc = parse(data, name)
    except BadFile as err:
        return [*key, str(err)]
    return [*key, None, *_fields(doc, len(doc.get("messages", [])))]


def _load_index(path: Path) -> dict[str, Any]:
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
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".index", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps({"version": INDEX_VERSION, "files": files}))
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # read-only or full disk: listing still works, only slower
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


def _sweep_temp(entry: os.DirEntry[str], now: float) -> None:
    with suppress(OSError):
        if now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
            os.unlink(entry.path)


def _refresh(
    directory: Path, old: dict[str, Any], *, writing: bool
) -> tuple[dict[str, list[Any]], bool]:
    """Entries for every ``*.json`` file now in the directory, and whether any changed.

    Reuses an old entry when its stat key still matches; one stat per file is the
    whole cost of a warm listing, so this loop is kept tight. A reader reads only the
    heads of changed files; a writer (``writing``) reads them whole, so that the index
    it saves has every count, and removes temp files that killed writers left behind.
    """
    new: dict[str, list[Any]] = {}
    stale: list[str] = []
    now = time.time()
    try:
        it = os.scandir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return new, bool(old)
    with it:
        for dirent in it:
            name = dirent.name
            if name[0] == ".":
                if writing and name.startswith(TEMP_PREFIX):
                    _sweep_temp(dirent, now)
                continue
            if not name.endswith(".json"):
                continue
            if not UUID_RE.fullmatch(name[:-5]):
                # dial addresses conversations by lowercase UUID only: a file it could
                # list but never load (notes.json, an uppercase id) is reported instead.
                new[name] = [0, 0, 0, FOREIGN_NAME]
                continue
            entry = old.get(name)
            if entry is None:  # not indexed: no stat here, the read takes one (fstat)
                stale.append(name)
                continue
            try:
                st = dirent.stat()
                fresh = (
                    type(entry) is list
                    and len(entry) in (4, 10)
                    and entry[0] == st.st_ino
                    and entry[1] == st.st_size
                    and entry[2] == st.st_mtime_ns
                )
            except OSError:
                fresh = False
            if not fresh:
                stale.append(name)
                continue
            new[name] = entry  # type: ignore[assignment]
    folder = str(directory)
    for name in stale:
        read = _read_entry(f"{folder}/{name}", name, head_only=not writing)
        if read is not None:  # None: the file vanished meanwhile
            new[name] = read
    return new, bool(stale) or len(new) != len(old)


def _summary(entry: list[Any]) -> Summary:
    fields = entry[4:10]
    if not all(type(v) is str for v in fields[:4]) or type(fields[4]) is not int:
        raise _BadIndex
    if type(fields[5]) is not str:
        raise _BadIndex
    return Summary(*fields)


def _newest(directory: Path, entries: dict[str, list[Any]], limit: int | None) -> list[Summary]:
    """Summaries of the ``limit`` newest good entries, reading whole the ones shown
    whose count is unknown; a file found bad then becomes a problem entry."""
    good = [e for e in entries.values() if e[3] is None]
    good.sort(key=itemgetter(6, 4), reverse=True)
    summaries: list[Summary] = []
    for entry in good:
        if limit is not None and len(summaries) >= limit:
            break
        if entry[8] is None:
            name = f"{entry[4]}.json"
            read = _read_entry(str(directory / name), name, head_only=False)
            if read is None:
                del entries[name]
                continue
            entries[name] = entry = read
            if entry[3] is not None:
                continue
        summaries.append(_summary(entry))
    return summaries


def listing(directory: Path, limit: int | None) -> tuple[list[Summary], list[Problem]]:
    """The ``limit`` newest conversations (by ``updated``) and every unreadable file.

    Reads the index and the files; never writes (``update`` does, on the write path).
    """
    old = _load_index(directory / INDEX_NAME)
    for attempt in range(2):
        entries, _ = _refresh(directory, old, writing=False)
        try:
            summaries = _newest(directory, entries, limit)
            break
        except (_BadIndex, TypeError, IndexError):
            # Only an index we did not write gets here; on the second pass every
            # entry comes from the files themselves.
            if attempt:
                raise
            old = {}
    problems = [Problem(directory / n, e[3]) for n, e in entries.items() if e[3] is not None]
    return summaries, problems


def update(directory: Path) -> None:
    """Bring the index up to date after a write: called by the store's write path."""
    index_path = directory / INDEX_NAME
    entries, changed = _refresh(directory, _load_index(index_path), writing=True)
    if changed:
        _write_index(index_path, entries)
