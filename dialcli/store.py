"""Conversations on disk: one JSON file each, atomic writes, locking, listing, search.

Layout under the data directory (``Settings.home``)::

    conversations/<uuid>.json     the conversation (Conversation.to_dict), mode 0600
    conversations/.locks/<uuid>.lock   flock'd while a writer re-reads and rewrites
    conversations/.cache/         index, journal, "latest" pointer (store_cache): derived
    conversations/.tmp/           writes in progress; never listed

Readers take no lock: every write is a whole-file ``os.replace``, so a reader sees the
old document or the new one. Writers lock one conversation only for the re-read,
modify and write, never across an HTTP request.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import NamedTuple

import orjson

from dialcli.conversation import Conversation, Message, Role, make_title, utc_now
from dialcli.errors import NotFoundError, StorageError, UsageError
from dialcli.private_dirs import private_dir
from dialcli.store_cache import LOCKS_DIR, SUBDIRS, TEMP_DIR
from dialcli.store_index import (
    TEMP_PREFIX,
    UUID_RE,
    BadFile,
    Problem,
    Summary,
    commit,
    decode,
    latest,
    listing,
    newest_first,
    parse,
    summarize,
)

__all__ = ["Hit", "Problem", "Store", "Summary"]

MIN_PREFIX = 4
_UNSET: str = "\0unset"  # sentinel: `system=None` means "remove the system prompt"


class Hit(NamedTuple):
    """A search result: the conversation, where the text matched, and a one-line excerpt."""

    summary: Summary
    snippet: str
    message: int | None  # index into messages; None when the system prompt matched


class Store:
    """The saved conversations of one data directory."""

    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self._dir = self.home / "conversations"
        self._problems: dict[Path, str] = {}

    @property
    def path(self) -> Path:
        """The directory holding the conversation files."""
        return self._dir

    @property
    def problems(self) -> list[Problem]:
        """Unreadable files met so far (each once): report them, they were skipped."""
        return [Problem(p, r) for p, r in self._problems.items()]

    # -- reading -----------------------------------------------------------------------

    def load(self, conv_id: str) -> Conversation:
        """The conversation with this full id; NotFoundError, or StorageError if unreadable."""
        path = self._file(conv_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"no saved conversation matches '{conv_id}'") from None
        except OSError as err:
            raise StorageError(f"could not read conversation: {err.strerror} ({path})") from None
        try:
            return decode(data, path.name)
        except BadFile as err:
            self._problems[path] = str(err)
            raise StorageError(f"could not read conversation: {err} ({path})") from None

    def summaries(self, limit: int | None = None) -> list[Summary]:
        """Summaries newest first (by ``updated``); unreadable files go to ``problems``."""
        summaries, problems = listing(self._dir, None if limit is None else max(limit, 0))
        for problem in problems:
            self._problems.setdefault(problem.path, problem.reason)
        return summaries

    def latest(self) -> str | None:
        """The id of the most recently updated conversation, if any (O(1) when the
        "latest" pointer holds; see store_index.latest)."""
        return latest(self._dir)

    def resolve(self, ref: str) -> str:
        """A full id from ``last``, a full id or a unique prefix of at least 4 characters."""
        if ref == "last":
            latest = self.latest()
            if latest is None:
                raise NotFoundError("no saved conversations yet")
            return latest
        wanted = ref.strip().lower()
        if len(wanted) < MIN_PREFIX:
            raise UsageError(
                f"conversation id '{ref}' is too short: give at least {MIN_PREFIX} characters"
            )
        if UUID_RE.fullmatch(wanted) and (self._dir / f"{wanted}.json").exists():
            return wanted
        # Match on file names, not the index: an unreadable file still gets its own error.
        names = [n.removesuffix(".json") for n in self._names() if n.startswith(wanted)]
        if len(names) == 1:
            return names[0]
        if not names:
            raise NotFoundError(f"no saved conversation matches '{ref}'")
        titles = {s.id: s.title for s in self.summaries()}
        width = _distinct_width(names)
        shown = ", ".join(f"{n[:width]} ({titles.get(n, '?')})" for n in sorted(names)[:10])
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        raise UsageError(f"'{ref}' matches {len(names)} conversations: {shown}{more}")

    def search(self, text: str, limit: int | None = None) -> list[Hit]:
        """Conversations whose system prompt or messages contain ``text`` (any case),
        newest first, at most ``limit``; see ``iter_search``."""
        return list(self.iter_search(text, limit))

    def iter_search(self, text: str, limit: int | None = None) -> Iterator[Hit]:
        """The hits one by one as the files are read, newest first; stops after ``limit``.

        The order comes from the index (no stat per file when it holds); each file is
        checked as raw bytes and parsed only when it may match (``store_search``).
        """
        if not text:
            raise UsageError("search text must not be empty")
        from dialcli import store_search

        pattern, maybe = store_search.matcher(text)
        ids, problems = newest_first(self._dir)
        for problem in problems:
            self._problems.setdefault(problem.path, problem.reason)
        found = 0
        folder = str(self._dir)
        for conv_id in ids:
            if limit is not None and found >= limit:
                return
            name = f"{conv_id}.json"
            data = store_search.read_bytes(f"{folder}/{name}")
            if data is None or not maybe(data):
                continue  # deleted since listing, or no match
            try:
                doc = parse(data, name)  # no Message objects: a match needs only text
            except BadFile as err:
                self._problems.setdefault(self._dir / name, str(err))
                continue
            hit = store_search.first_match(doc, pattern)
            if hit is not None:
                found += 1
                yield Hit(summarize(doc), *hit)

    # -- writing -----------------------------------------------------------------------

    def create(self, conv: Conversation) -> None:
        """Save a new conversation; StorageError if it cannot be written or already exists."""
        path = self._file(conv.id)
        with self._locked(conv.id):
            if path.exists():
                raise StorageError(f"could not save conversation: it already exists ({path})")
            self._write(path, conv)

    def save(self, conv: Conversation, *, expected: list[Message]) -> None:
        """Rewrite the whole conversation (e.g. adopting DIAL's copy), bumping ``updated``.

        ``expected`` is what the caller read: under the lock the file must still hold
        exactly those messages, or another process saved meanwhile and nothing is
        written (StorageError). An unreadable file is reported, never overwritten.
        """
        path = self._file(conv.id)
        with self._locked(conv.id):
            stored = self.load(conv.id)
            if [m.to_dict() for m in stored.messages] != [m.to_dict() for m in expected]:
                raise _changed(path)
            conv.updated = _later(utc_now(), stored.updated)
            self._write(path, conv)

    def append(
        self,
        conv_id: str,
        messages: list[Message],
        *,
        model: str | None = None,
        system: str | None = _UNSET,
    ) -> Conversation:
        """Add messages to the stored conversation as it is now, under its lock.

        The re-read matters: another process may have appended since the caller loaded
        it, and both exchanges must land, in the order they arrive. ``model`` (when
        given) becomes the conversation's model; ``system`` replaces the system prompt
        (``None`` removes it). Returns the conversation as written.
        """
        return self.replace_last(conv_id, [], messages, model=model, system=system)

    def replace_last(
        self,
        conv_id: str,
        old: list[Message],
        new: list[Message],
        *,
        model: str | None = None,
        system: str | None = _UNSET,
    ) -> Conversation:
        """Replace the stored conversation's last messages ``old`` by ``new`` (/retry).

        Applied to the file as it is now, under the lock, like ``append``. When the
        file's last messages are no longer ``old`` (another process appended or retried
        meanwhile), nothing is written: StorageError, and the caller re-reads.
        """
        path = self._file(conv_id)
        with self._locked(conv_id):
            conv = self.load(conv_id)
            keep = len(conv.messages) - len(old)
            tail = conv.messages[keep:] if old else []
            if keep < 0 or [m.to_dict() for m in tail] != [m.to_dict() for m in old]:
                raise _changed(path)
            del conv.messages[keep:]
            conv.messages.extend(new)
            if model:
                conv.model = model
            if system is not _UNSET:
                conv.system = system
            if not conv.title:
                first = next((m for m in conv.messages if m.role is Role.USER), None)
                conv.title = make_title(first.text) if first else ""
            conv.updated = _later(utc_now(), conv.updated)
            self._write(path, conv)
        return conv

    def delete(self, conv_id: str) -> None:
        """Remove one conversation; NotFoundError if it does not exist."""
        path = self._file(conv_id)
        with self._locked(conv_id, unlink=True):
            try:
                commit(self._dir, path.name, path.unlink, None)
            except FileNotFoundError:
                raise NotFoundError(f"no saved conversation matches '{conv_id}'") from None
            except OSError as err:
                raise StorageError(
                    f"could not delete conversation: {err.strerror} ({path})"
                ) from None
            _fsync_dir(self._dir)

    # -- internals ---------------------------------------------------------------------

    def _file(self, conv_id: str) -> Path:
        # Ids reach here from the command line: only a UUID may become a file name.
        if not UUID_RE.fullmatch(conv_id):
            raise NotFoundError(f"no saved conversation matches '{conv_id}'")
        return self._dir / f"{conv_id}.json"

    def _names(self) -> list[str]:
        try:
            with os.scandir(self._dir) as it:
                names = [e.name for e in it if e.name.endswith(".json")]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return [n for n in names if UUID_RE.fullmatch(n[:-5])]

    def _ensure_dirs(self, verb: str = "save") -> None:
        # All made before the first rename is recorded: creating them later would
        # change the folder's key and cost the next listing a full pass.
        for sub in SUBDIRS:
            try:
                private_dir(self._dir / sub, self.home)
            except OSError as err:
                if sub in (LOCKS_DIR, TEMP_DIR):  # not .cache: saving works without it
                    raise _save_error(err, Path(err.filename or self._dir / sub), verb) from None

    @contextmanager
    def _locked(self, conv_id: str, *, unlink: bool = False) -> Iterator[None]:
        """Hold the conversation's advisory lock (flock) for the block."""
        verb = "delete" if unlink else "save"  # only delete() asks to unlink the lock
        self._ensure_dirs(verb)
        lock_path = self._dir / LOCKS_DIR / f"{conv_id}.lock"
        while True:
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as err:
                raise _save_error(err, lock_path, verb) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                # delete() unlinks the lock file while holding it; whoever was waiting
                # now holds a lock on an orphan and must retry on the path's new file.
                if os.fstat(fd).st_ino == os.stat(lock_path).st_ino:
                    break
            except FileNotFoundError:
                pass
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        try:
            yield
        except NotFoundError:
            unlink = True  # no conversation: don't leave a lock file for it behind
            raise
        finally:
            if unlink:
                with suppress(OSError):
                    os.unlink(lock_path)  # safe while held: waiters re-check the inode
            os.close(fd)  # closing the descriptor releases the flock

    def _write(self, path: Path, conv: Conversation) -> None:
        data = orjson.dumps(conv.to_dict(), option=orjson.OPT_INDENT_2)
        summary = Summary(
            conv.id, conv.created, conv.updated or conv.created, conv.model or "",
            len(conv.messages), conv.title or "",
        )  # fmt: skip
        # The temp file in .tmp/, so that only the rename changes the folder (commit).
        write_atomic(path, data, tmp_dir=self._dir / TEMP_DIR, record=summary)


def write_atomic(
    path: Path, data: bytes, *, tmp_dir: Path | None = None, record: Summary | None = None
) -> None:
    """Replace ``path`` with ``data`` so that readers and crashes see old or new, never half.

    With ``record`` (a conversation's summary) the rename is recorded for listing and
    the "latest" pointer (store_index.commit).
    """
    tmp: str | None = None
    try:
        # mkstemp opens with O_EXCL and mode 0600, on the same filesystem so that
        # os.replace is a rename.
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".json", dir=tmp_dir or path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # the data must be on disk before the name points at it
        source = tmp
        # atomic: a reader sees the old file or the new, never half
        if record is None:
            os.replace(source, path)
        else:
            commit(path.parent, path.name, lambda: os.replace(source, path), record)
        tmp = None
        _fsync_dir(path.parent)  # make the rename itself survive a power cut
    except OSError as err:
        raise _save_error(err, path) from None
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename still happened
    finally:
        os.close(fd)


def _save_error(err: OSError, path: Path, verb: str = "save") -> StorageError:
    reason = err.strerror or str(err)
    return StorageError(f"could not {verb} conversation: {reason} ({path})")


def _changed(path: Path) -> StorageError:
    return StorageError(
        "could not save conversation: it changed in another process meanwhile;"
        f" nothing was overwritten ({path})"
    )


def _distinct_width(ids: list[str], shortest: int = 8) -> int:
    """How many leading characters tell these ids apart (at least ``shortest``)."""
    width = shortest
    while width < 36 and len({i[:width] for i in ids}) < len(ids):
        width += 1
    return width


def _later(now: str, previous: str) -> str:
    # A clock stepping back must not make an appended conversation look older.
    return now if now > previous else previous
