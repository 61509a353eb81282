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


# Below this many unindexed files a rebuild reads them in this process: starting
# worker processes costs more than it saves.
PARALLEL_MIN_FILES = 1000


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
    return Summary(*_fields(doc))


def _fields(doc: dict[str, Any]) -> list[Any]:
    # Same defaults as Conversation.from_dict, without building 20 Message objects.
    created = str(doc.get("created") or "")
    updated = str(doc.get("updated") or "") or created
    model = str(doc.get("model") or "")
    messages = len(doc.get("messages", []))
    return [doc["id"], created, updated, model, messages, str(doc.get("title") or "")]


def _read_entry(directory: Path, name: str) -> list[Any] | None:
    """A fresh index entry for one file, or None if it vanished meanwhile.

    An entry is ``[ino, size, mtime_ns, problem, id, created, updated, model, count,
    title]``, or just the first four when ``problem`` (a reason) is set.
    """
    try:
        fd = os.open(directory / name, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as err:
        return [0, 0, 0, f"cannot read: {err.strerror}"]  # key 0 never matches: retried
    st = os.fstat(fd)  # of the descriptor read, so the key matches these bytes
    if not stat.S_ISREG(st.st_mode):  # e.g. a directory named <uuid>.json
        os.close(fd)
        return [0, 0, 0, "not a regular file"]
    key = [st.st_ino, st.st_size, st.st_mtime_ns]
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read()
        except OSError as err:
            return [0, 0, 0, f"cannot read: {err.strerror}"]
    try:
        return [*key, None, *_fields(parse(data, name))]
    except BadFile as err:
        return [*key, str(err)]


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
        pass  # read-only or full disk: listing still works, only slower next time
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


def _sweep_temp(entry: os.DirEntry[str], now: float) -> None:
    with suppress(OSError):
        if now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
            os.unlink(entry.path)


def _refresh(directory: Path, old: dict[str, Any]) -> tuple[dict[str, list[Any]], bool]:
    """Entries for every ``*.json`` file now in the directory, and whether any changed.

    Reuses an old entry when its stat key still matches; one stat per file is the
    whole cost of a warm listing, so this loop is kept tight.
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
                if name.startswith(TEMP_PREFIX):
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
    for name, read in zip(stale, _read_entries(directory, stale), strict=True):
        if read is not None:  # None: the file vanished meanwhile
            new[name] = read
    return new, bool(stale) or len(new) != len(old)


def _read_entries(directory: Path, names: list[str]) -> list[list[Any] | None]:
    """Fresh entries for ``names``; a rebuild of many files is shared among the cores.

    Parsing is CPU-bound (orjson keeps the GIL), so only processes help: with 10,000
    files a cold listing takes ~0.3 s on two cores instead of ~0.55 s on one.
    """
    cores = os.cpu_count() or 1
    if len(names) < PARALLEL_MIN_FILES or cores < 2 or not hasattr(os, "fork"):
        return [_read_entry(directory, name) for name in names]
    import multiprocessing

    # fork: the children need nothing but this module, already loaded; no threads run
    # while a listing is made (it happens before any request or spinner starts).
    pool = multiprocessing.get_context("fork").Pool(min(cores, 4), initializer=_plain_worker)
    try:
        chunk = max(64, len(names) // (cores * 4))
        return pool.starmap(_read_entry, [(directory, n) for n in names], chunksize=chunk)
    finally:
        pool.terminate()  # SIGTERM, which _plain_worker made a quiet, immediate exit


def _plain_worker() -> None:
    """A worker inherits dial's SIGTERM handler; it must die quietly instead."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _summary(entry: list[Any]) -> Summary:
    fields = entry[4:10]
    if not all(type(v) is str for v in fields[:4]) or type(fields[4]) is not int:
        raise _BadIndex
    if type(fields[5]) is not str:
        raise _BadIndex
    return Summary(*fields)


def listing(directory: Path, limit: int | None) -> tuple[list[Summary], list[Problem]]:
    """The ``limit`` newest conversations (by ``updated``) and every unreadable file."""
    index_path = directory / INDEX_NAME
    old = _load_index(index_path)
    for attempt in range(2):
        entries, changed = _refresh(directory, old)
        try:
            good = [e for e in entries.values() if e[3] is None]
            good.sort(key=itemgetter(6, 4), reverse=True)
            summaries = [_summary(e) for e in (good if limit is None else good[:limit])]
            break
        except (_BadIndex, TypeError, IndexError):
            # Only an index we did not write gets here; on the second pass every
            # entry comes from the files themselves.
            if attempt:
                raise
            old, changed = {}, True
    if changed and directory.is_dir():
        _write_index(index_path, entries)
    problems = [Problem(directory / n, e[3]) for n, e in entries.items() if e[3] is not None]
    return summaries, problems
