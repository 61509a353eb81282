"""The local map: which local conversation is which DIAL resource, at which version.

``<data dir>/remote/links.json`` (mode 0600), written atomically under a lock:

- ``links``: local id -> remote url (``conversations/{bucket}/{encoded path}``), the
  ETag and ``updatedAt`` last seen, the name used there, and a digest of the local
  conversation as it was at that moment (so local changes can be told apart);
- ``imports``: source id in an import file -> local id, so importing twice does not
  duplicate.

Changes are kept in memory and applied to a fresh read of the file when saved, so two
``dial`` processes do not undo each other's links.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from dialcli.conversation import Conversation
from dialcli.errors import StorageError
from dialcli.remote.dialchat import text_of
from dialcli.store import write_atomic

_UNSET = object()


@dataclass
class Link:
    url: str
    etag: str
    name: str
    digest: str
    folder: str = ""
    remote_updated: int = 0


def digest(conv: Conversation) -> str:
    """What a push would change remotely: model, system prompt, messages."""
    body = {
        "model": conv.model,
        "system": conv.system or "",
        "messages": [
            [str(m.role), text_of(m.content), m.custom_content or {}] for m in conv.messages
        ],
    }
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


class Links:
    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "remote" / "links.json"
        self._links: dict[str, Link] = {}
        self._imports: dict[str, str] = {}
        self._changed_links: dict[str, Link | None] = {}
        self._changed_imports: dict[str, str] = {}
        self._links, self._imports = self._read()

    def _read(self) -> tuple[dict[str, Link], dict[str, str]]:
        try:
            data = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}, {}
        except (OSError, orjson.JSONDecodeError) as err:
            # Never rewritten: it is the only record of what was pushed where.
            raise StorageError(f"could not read {self.path}: {err}") from None
        try:
            links = {k: Link(**v) for k, v in (data.get("links") or {}).items()}
            imports = {str(k): str(v) for k, v in (data.get("imports") or {}).items()}
        except (AttributeError, TypeError) as err:
            raise StorageError(f"could not read {self.path}: {err}") from None
        return links, imports

    def get(self, local_id: str) -> Link | None:
        return self._links.get(local_id)

    def by_url(self, url: str) -> str | None:
        return next((k for k, v in self._links.items() if v.url == url), None)

    def set(self, local_id: str, link: Link) -> None:
        self._links[local_id] = self._changed_links[local_id] = link

    def drop(self, local_id: str) -> None:
        self._links.pop(local_id, None)
        self._changed_links[local_id] = None

    def imported(self, source_id: str) -> str | None:
        return self._imports.get(source_id)

    def remember_import(self, source_id: str, local_id: str) -> None:
        self._imports[source_id] = self._changed_imports[source_id] = local_id

    def save(self) -> None:
        """Apply this run's changes to the file as it is now."""
        if not self._changed_links and not self._changed_imports:
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._locked():
            links, imports = self._read()
            for local_id, link in self._changed_links.items():
                if link is None:
                    links.pop(local_id, None)
                else:
                    links[local_id] = link
            imports.update(self._changed_imports)
            document: dict[str, Any] = {
                "version": 1,
                "links": {k: asdict(v) for k, v in sorted(links.items())},
                "imports": dict(sorted(imports.items())),
            }
            write_atomic(self.path, orjson.dumps(document, option=orjson.OPT_INDENT_2))
        self._links, self._imports = links, imports
        self._changed_links.clear()
        self._changed_imports.clear()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = self.path.with_suffix(".lock")
        try:
            handle = open(lock_path, "a")  # noqa: SIM115 - held for the with-block
        except OSError as err:
            raise StorageError(f"could not lock {lock_path}: {err.strerror}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
