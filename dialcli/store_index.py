"""Decoding conversation files; listing them fast; finding the latest in O(1).

The derived files (``store_cache``) are never the only copy of anything:

- **Listing.** The index holds one row per conversation (the stat key it was read at
  and the fields ``history list`` shows), newest first, and the key of the folder it
  was read at. Each write of dial adds a journal line with the folder's key before and
  after its rename. When the keys chain from the index to the folder as it is now,
  nothing but dial's own writes changed it: the newest N are the first N rows merged
  with the journal's, and only those N files are stat'ed (a file edited in place that
  is shown is caught; see docs/architecture.md for one that is not shown). Otherwise
  every file is stat'ed, the changed ones re-read (their heads only), and the listing
  writes a fresh index.
- **Latest.** A pointer names the newest conversation with the folder's key at the
  time; it is trusted when the key is unchanged and the file it names still says so.
"""

from __future__ import annotations

import heapq
import os
import re
import time
from collections.abc import Callable, Iterable
from contextlib import suppress
from operator import itemgetter
from pathlib import Path
from typing import Any

from dialcli import store_cache as cache
from dialcli.store_cache import TEMP_DIR
from dialcli.store_rows import (
    COUNT,
    FOREIGN_NAME,
    HEAD_BYTES,
    ID,
    UPDATED,
    UUID_RE,
    BadFile,
    Problem,
    Summary,
    decode,
    is_problem,
    is_row,
    order,
    parse,
    read_row,
    same_file,
    summarize,
)

__all__ = ["HEAD_BYTES", "UUID_RE", "BadFile", "Problem", "Summary", "decode", "parse"]
__all__ += ["commit", "latest", "listing", "newest_first", "rebuild", "summarize"]

TEMP_PREFIX = ".tmp-"
# A temp file this old belongs to a writer that was killed; nothing will rename it.
STALE_TEMP_SECONDS = 3600


class _Stale(Exception):
    """A trusted row turned out not to match its file: list the slow, sure way."""


def _chained(header: dict[str, Any], journal: list[dict[str, Any]], key: list[int]) -> bool:
    """Whether the folder went from the index's key to ``key`` by dial's writes only."""
    at = header.get("dir")
    for entry in journal:
        if entry.get("before") != at:
            return False
        at = entry.get("after")
    return at == key


def _take_shown(
    directory: Path, rows: Iterable[Any], limit: int | None, problems: list[Any], *, trust: bool
) -> list[Summary]:
    """Summaries of the first ``limit`` rows that still hold: each shown file is stat'ed
    when ``trust`` (_Stale if it changed) and read whole when its count is unknown."""
    folder = str(directory)
    shown: list[Summary] = []
    for row in rows:
        if limit is not None and len(shown) >= limit:
            break
        if not is_row(row):
            raise _Stale
        name = f"{row[ID]}.json"
        if trust:
            try:
                if not same_file(row, os.stat(f"{folder}/{name}")):
                    raise _Stale
            except OSError:
                raise _Stale from None
        if row[COUNT] is None:
            read = read_row(f"{folder}/{name}", name, head_only=False)
            if read is None:
                continue  # removed meanwhile
            if len(read) == 5:
                problems.append(read)
                continue
            row[:] = read  # the caller's index gets the count too
        shown.append(Summary(*row[3:9]))
    return shown


def _problems(directory: Path, entries: Iterable[Any]) -> list[Problem]:
    return [Problem(directory / e[0], e[4]) for e in entries]


# Bytes of the index read for a listing of N: the header (the unreadable files) and
# about N rows (a row is about 200 bytes), with room for rows a journal replaces.
_PREFIX_BASE, _PREFIX_ROW = 64 << 10, 1024


def listing(directory: Path, limit: int | None) -> tuple[list[Summary], list[Problem]]:
    """The ``limit`` newest conversations (by ``updated``) and every unreadable file."""
    cache.ensure_dir(directory)
    key = cache.dir_key(directory)
    if key is None:
        return [], []
    prefix = None if limit is None else _PREFIX_BASE + _PREFIX_ROW * limit
    index = cache.read_index(directory, prefix)
    journal = cache.read_journal(directory)
    if index is not None and journal[0] is not None and _chained(index[0], journal[0], key):
        with suppress(_Stale):
            shown, problems = _trusted(directory, index, journal[0], limit)
            if index[2] or len(shown) >= (limit or 0):
                return shown, problems
            index = cache.read_index(directory)  # more rows were needed than read
            if index is not None:
                return _trusted(directory, index, journal[0], limit)
    if index is not None and not index[2]:
        index = cache.read_index(directory)
    shown, problems, _ = _refresh(directory, key, index, journal, limit)
    return shown, problems


def _trusted(
    directory: Path, index: cache.Index, journal: list[dict[str, Any]], limit: int | None
) -> tuple[list[Summary], list[Problem]]:
    """The newest from the index's first rows and the journal's; no sort of everything."""
    header, body, _ = index
    changed: dict[str, Any] = {entry["name"]: entry.get("row") for entry in journal}
    fresh = sorted((r for r in changed.values() if is_row(r)), key=order, reverse=True)
    rows = cache.index_rows(body) if limit is None else cache.iter_index_rows(body)
    older = (r for r in rows if not (is_row(r) and f"{r[ID]}.json" in changed))
    problems = [p for p in header["problems"] if is_problem(p) and p[0] not in changed]
    merged = heapq.merge(fresh, older, key=_order_or_stale, reverse=True)
    shown = _take_shown(directory, merged, limit, problems, trust=True)
    return shown, _problems(directory, problems)


def _order_or_stale(row: Any) -> tuple[str, str]:
    if not is_row(row):
        raise _Stale
    return order(row)


def _old_entries(
    index: cache.Index | None, journal: tuple[list[Any] | None, int]
) -> dict[str, list[Any]]:
    """name -> row or problem, as the index and journal last saw each file."""
    old: dict[str, list[Any]] = {}
    if index is not None:
        rows = cache.index_rows(index[1])
        old = {f"{r[ID]}.json": r for r in rows if is_row(r)}
        old.update((p[0], p) for p in index[0]["problems"] if is_problem(p))
    for entry in journal[0] or []:
        if is_row(entry.get("row")):
            old[entry["name"]] = entry["row"]
        else:  # deleted
            old.pop(entry["name"], None)
    return old


def _refresh(
    directory: Path,
    key: list[int],
    index: cache.Index | None,
    journal: tuple[list[Any] | None, int],
    limit: int | None,
) -> tuple[list[Summary], list[Problem], list[Any]]:
    """Stat every file, re-read the heads of the changed ones, then save the index.
    Returns the shown summaries, the problems and every row, newest first."""
    old = _old_entries(index, journal)
    rows, problems = _scan(directory, old)
    rows.sort(key=itemgetter(UPDATED, ID), reverse=True)  # the same order as ``order``
    known = len(problems)
    shown = _take_shown(directory, rows, limit, problems, trust=False)
    if len(problems) > known:  # a shown file's tail was bad: a problem now, not a row
        bad = {p[0] for p in problems[known:]}
        rows = [r for r in rows if f"{r[ID]}.json" not in bad]
    sweep_temp_dir(directory)
    cache.write_index(directory, key, rows, problems, journal[1])
    return shown, _problems(directory, problems), rows


def newest_first(directory: Path) -> tuple[list[str], list[Problem]]:
    """Every conversation id, newest first, without a stat per file when the index
    holds (for search, which reads each file anyway), and the unreadable files."""
    cache.ensure_dir(directory)
    key = cache.dir_key(directory)
    if key is None:
        return [], []
    index = cache.read_index(directory)
    journal = cache.read_journal(directory)
    if index is not None and journal[0] is not None and _chained(index[0], journal[0], key):
        header, body, _ = index
        changed: dict[str, Any] = {entry["name"]: entry.get("row") for entry in journal[0]}
        # Only (updated, id) of each row, by a pattern over the lines: parsing 100,000
        # rows whole would cost more time and memory than the order is worth.
        pairs = [(u, i) for i, u in _ID_UPDATED.findall(body)]
        if len(pairs) == body.count(b"\n"):
            fresh = sorted(
                ((r[UPDATED].encode(), r[ID].encode()) for r in changed.values() if is_row(r)),
                reverse=True,
            )
            skip = {name.encode() for name in changed}
            older = (p for p in pairs if p[1] + b".json" not in skip)
            merged = heapq.merge(fresh, older, reverse=True)
            problems = [p for p in header["problems"] if is_problem(p) and p[0] not in changed]
            return [i.decode() for _, i in merged], _problems(directory, problems)
    _, problems, rows = _refresh(directory, key, index, journal, 0)
    return [r[ID] for r in rows], problems


# The id and updated of an index row: [ino,size,mtime,"id","created","updated",...]
_ID_UPDATED = re.compile(
    rb'^\[\d+,\d+,\d+,"([0-9a-f-]{36})","(?:[^"\\]|\\.)*","((?:[^"\\]|\\.)*)",', re.M
)


def _scan(directory: Path, old: dict[str, list[Any]]) -> tuple[list[Any], list[Any]]:
    """Rows and problems of every ``*.json`` file now in ``directory``.

    Reuses an old row when the file's stat key still matches: one stat per file is
    the whole cost when few changed, so this loop is kept tight. New or changed files
    are read up to their head. Temp files a killed writer left are removed.
    """
    rows: list[Any] = []
    problems: list[Any] = []
    stale: list[str] = []
    now = time.time()
    try:
        it = os.scandir(directory)
    except OSError:
        return rows, problems
    with it:
        for dirent in it:
            name = dirent.name
            if name[0] == ".":
                if name.startswith(TEMP_PREFIX):
                    _sweep_temp(dirent.path, now)
                continue
            if not name.endswith(".json"):
                continue
            if not UUID_RE.fullmatch(name[:-5]):
                # dial addresses conversations by lowercase UUID only: a file it could
                # list but never load (notes.json, an uppercase id) is reported instead.
                problems.append([name, 0, 0, 0, FOREIGN_NAME])
                continue
            entry = old.get(name)
            if entry is None:
                stale.append(name)  # no stat here: the read takes one (fstat)
            elif _still(entry, dirent, rows, problems):
                stale.append(name)
    folder = str(directory)
    for name in stale:
        read = read_row(f"{folder}/{name}", name, head_only=True)
        if read is not None:
            (problems if len(read) == 5 else rows).append(read)
    return rows, problems


def _still(
    entry: list[Any], dirent: os.DirEntry[str], rows: list[Any], problems: list[Any]
) -> bool:
    """Keep ``entry`` when its file is unchanged; True when the file must be read again."""
    try:
        st = dirent.stat()
    except OSError:
        return False  # removed meanwhile
    if len(entry) == 9 and same_file(entry, st):
        rows.append(entry)
    elif len(entry) == 5 and entry[1:4] == [st.st_ino, st.st_size, st.st_mtime_ns]:
        problems.append(entry)
    else:
        return True
    return False


def _sweep_temp(path: str, now: float) -> None:
    with suppress(OSError):
        if now - os.stat(path).st_mtime > STALE_TEMP_SECONDS:
            os.unlink(path)


def sweep_temp_dir(directory: Path) -> None:
    """Remove temp files of writers killed long ago (a writer calls this now and then)."""
    now = time.time()
    with suppress(OSError), os.scandir(directory / TEMP_DIR) as it:
        for dirent in it:
            _sweep_temp(dirent.path, now)


def rebuild(directory: Path) -> None:
    """Bring the index up to date now (a full listing does it; used by benchmarks)."""
    listing(directory, 0)


# -- the write path ----------------------------------------------------------------------


def commit(directory: Path, name: str, move: Callable[[], None], summary: Summary | None) -> None:
    """Run ``move`` (the rename, or the unlink of a delete) and record it.

    Under the cache lock: the folder's key before and after, the new row (None for a
    delete) as a journal line, and the "latest" pointer moved on when it was current.
    When the lock cannot be had the write still happens; the chain of keys breaks, and
    the next listing stats every file.
    """
    with cache.locked(directory) as ok:
        before = cache.dir_key(directory) if ok else None
        move()
        if not ok:
            return
        after = cache.dir_key(directory)
        row = None
        if summary is not None:
            with suppress(OSError):
                st = os.stat(directory / name)
                row = [st.st_ino, st.st_size, st.st_mtime_ns, *_summary_fields(summary)]
        cache.append_journal(
            directory, {"name": name, "row": row, "before": before, "after": after}
        )
        if after is not None:
            _move_pointer(directory, name, summary, before, after)


def _summary_fields(s: Summary) -> list[Any]:
    return [s.id, s.created, s.updated, s.model, s.messages, s.title]


def _move_pointer(
    directory: Path, name: str, summary: Summary | None, before: list[int] | None, after: list[int]
) -> None:
    pointer = cache.read_pointer(directory)
    if pointer is None or pointer.get("dir") != before:
        if pointer is not None:
            cache.drop_pointer(directory)  # stale already: the next reader rebuilds it
        return
    if summary is not None and (summary.updated, summary.id) >= (
        pointer["updated"],
        pointer["id"],
    ):
        cache.write_pointer(directory, summary.id, summary.updated, after)
    elif summary is None and name == f"{pointer['id']}.json":
        cache.drop_pointer(directory)  # the latest was deleted: the next reader lists
    else:  # still the latest, and still sure of it
        cache.write_pointer(directory, pointer["id"], pointer["updated"], after)


def latest(directory: Path) -> str | None:
    """The id of the most recently updated conversation: from the pointer when it holds,
    else from a listing (which then sets the pointer)."""
    cache.ensure_dir(directory)
    key = cache.dir_key(directory)
    if key is None:
        return None
    pointer = cache.read_pointer(directory)
    if pointer is not None and pointer.get("dir") == key and _names(directory, pointer):
        return str(pointer["id"])
    newest, _ = listing(directory, 1)
    if not newest:
        return None
    with cache.locked(directory) as ok:
        if ok and cache.dir_key(directory) == key:
            cache.write_pointer(directory, newest[0].id, newest[0].updated, key)
    return newest[0].id


def _names(directory: Path, pointer: dict[str, Any]) -> bool:
    """Whether the file the pointer names exists and says the id and ``updated`` it does."""
    conv_id = pointer["id"]
    if not UUID_RE.fullmatch(conv_id):
        return False
    name = f"{conv_id}.json"
    row = read_row(f"{directory}/{name}", name, head_only=True)
    return row is not None and len(row) == 9 and row[UPDATED] == pointer["updated"]
