"""The files under ``conversations/.cache/``: listing index, journal, "latest" pointer.

All three are derived data: each may be missing, stale, corrupt or foreign, and the
reader then falls back to the conversation files themselves. They live in a
subdirectory so that writing them never changes the mtime of ``conversations/``, the
one value that says whether any conversation file was added, replaced or removed:

- ``index``: the first line a header (``dir``: the key of ``conversations/`` the rows
  were read at, and the unreadable files), then one JSON array per conversation,
  newest first, so the newest N are the first N lines;
- ``journal``: one line per write of dial since the index (``before`` and ``after``:
  the directory's key around the rename, so a reader can tell that nothing else
  changed the folder in between);
- ``latest``: the id and ``updated`` of the newest conversation, with the key the
  directory had when that was true;
- ``lock``: flock'd by a writer around its rename and the lines it adds here, and by a
  reader replacing the index, so that journal, index and pointer change in order.

Nothing here is fsync'd: a file lost in a crash is rebuilt from the conversations.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

CACHE_DIR = ".cache"
LOCKS_DIR = ".locks"  # one flock'd file per conversation being rewritten
TEMP_DIR = ".tmp"  # temp files of writes in progress: creating one leaves the folder's key
# Every subfolder a write of dial's needs. Making one changes the folder's key, so each is
# made before a key is recorded (ensure_dir): made by the first save after a listing,
# it would break the chain from the index and cost the next listing a pass over every file.
SUBDIRS = (CACHE_DIR, LOCKS_DIR, TEMP_DIR)
INDEX_VERSION = 2
# A journal this long is not appended to: the next listing rebuilds the index instead
# (the chain of keys is then broken, which is always safe).
JOURNAL_LIMIT = 4 << 20


def dir_key(directory: Path) -> list[int] | None:
    """What changes whenever a file is added, renamed over or removed in ``directory``."""
    try:
        st = os.stat(directory)
    except OSError:
        return None
    return [st.st_ino, st.st_mtime_ns]


def cache_dir(directory: Path) -> Path:
    return directory / CACHE_DIR


@contextmanager
def locked(directory: Path) -> Iterator[bool]:
    """Hold ``.cache/lock`` for the block; yields False when it cannot be had (read-only
    or missing folder): the caller then skips the derived files, never the real write."""
    fd = -1
    with suppress(OSError):
        folder = cache_dir(directory)
        if not folder.is_dir():
            os.mkdir(folder, 0o700)
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield fd >= 0
    finally:
        if fd >= 0:
            os.close(fd)  # releases the flock


def _replace(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Best effort: written to a temp file beside it and renamed, or not at all."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "wb", buffering=1 << 16) as f:
            if isinstance(data, bytes):
                f.write(data)
            else:
                f.writelines(data)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # read-only or full disk: listing still works, only slower
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


# -- the index ---------------------------------------------------------------------------


def ensure_dir(directory: Path) -> None:
    """Make dial's subfolders (SUBDIRS) before the folder's key is taken."""
    for sub in SUBDIRS:
        with suppress(OSError):
            if not (directory / sub).is_dir() and directory.is_dir():
                os.mkdir(directory / sub, 0o700)


Index = tuple[dict[str, Any], bytes, bool]  # header, rows' bytes, whether all rows


def read_index(directory: Path, prefix: int | None = None) -> Index | None:
    """The header, the rows' bytes (one JSON array a line), and whether that is every
    row; None if unusable.

    With ``prefix``, only about that many bytes are read: the rows are newest first, so
    the newest N need only the first lines (the body then ends at a whole row).
    """
    complete = True
    try:
        with open(cache_dir(directory) / "index", "rb") as f:
            data = f.read() if prefix is None else f.read(prefix)
    except OSError:
        return None
    if prefix is not None and len(data) == prefix:
        complete = False
        data = data[: data.rfind(b"\n") + 1]
    head, _, body = data.partition(b"\n")
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(header, dict) or header.get("version") != INDEX_VERSION:
        return None
    if not isinstance(header.get("problems"), list):
        return None
    return header, body, complete


def index_rows(body: bytes) -> list[Any]:
    """Every row of the index body (its lines are JSON arrays; newlines in strings are
    escaped, so a raw newline only ever ends a row)."""
    if not body.strip():
        return []
    try:
        rows = orjson.loads(b"[" + body.rstrip(b"\n").replace(b"\n", b",") + b"]")
    except orjson.JSONDecodeError:
        return []
    return rows if isinstance(rows, list) else []


def iter_index_rows(body: bytes) -> Iterator[Any]:
    """The rows one by one, parsing only as many as the caller takes."""
    start = 0
    while start < len(body):
        end = body.find(b"\n", start)
        if end < 0:
            end = len(body)
        line = body[start:end]
        start = end + 1
        if line:
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                yield None  # the caller treats it as a foreign index


def write_index(
    directory: Path, key: list[int], rows: list[Any], problems: list[Any], journal_size: int
) -> None:
    """Replace the index and empty the journal, unless a writer journaled meanwhile
    (``journal_size`` is what the caller read): its line would be lost."""
    header = {"version": INDEX_VERSION, "dir": key, "problems": problems}
    # Row by row into the file: orjson's result keeps about 4 KiB each, and a list of
    # 100,000 of them would cost 400 MB.
    lines = (orjson.dumps(row) + b"\n" for row in rows)
    with locked(directory) as ok:
        if not ok or _size(cache_dir(directory) / "journal") != journal_size:
            return
        _replace(
            cache_dir(directory) / "index", itertools.chain([orjson.dumps(header) + b"\n"], lines)
        )
        if journal_size:
            with suppress(OSError):
                os.truncate(cache_dir(directory) / "journal", 0)
    with suppress(OSError):  # the index of earlier versions, now unused
        os.unlink(directory / ".index.json")


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


# -- the journal ---------------------------------------------------------------------------


def read_journal(directory: Path) -> tuple[list[dict[str, Any]] | None, int]:
    """The journal's entries (None when a line is not ours) and its size in bytes."""
    try:
        data = (cache_dir(directory) / "journal").read_bytes()
    except FileNotFoundError:
        return [], 0
    except OSError:
        return None, -1  # -1: never matches, so the journal is left alone
    entries = []
    for line in data.splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None, len(data)  # e.g. a line torn by a crash: rebuild from the files
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None, len(data)
        entries.append(entry)
    return entries, len(data)


def append_journal(directory: Path, entry: dict[str, Any]) -> None:
    """Add one line (the caller holds the lock); skipped when the journal is too long."""
    path = cache_dir(directory) / "journal"
    with suppress(OSError):
        if _size(path) > JOURNAL_LIMIT:
            return
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, orjson.dumps(entry) + b"\n")
        finally:
            os.close(fd)


# -- the "latest" pointer ---------------------------------------------------------------


def read_pointer(directory: Path) -> dict[str, Any] | None:
    try:
        doc = orjson.loads((cache_dir(directory) / "latest").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in ("id", "updated")):
        return None
    return doc


def write_pointer(directory: Path, conv_id: str, updated: str, key: list[int]) -> None:
    """Replace the pointer (the caller holds the lock); mode 0600 like every file here."""
    _replace(
        cache_dir(directory) / "latest",
        orjson.dumps({"id": conv_id, "updated": updated, "dir": key}),
    )


def drop_pointer(directory: Path) -> None:
    with suppress(OSError):
        os.unlink(cache_dir(directory) / "latest")
