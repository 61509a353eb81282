"""A short-lived cache of the model list, so that Tab after ``-m`` answers at once.

``<data dir>/cache/models.json`` holds the ids one DIAL URL listed::

    {"version": 1, "url": "https://dial.example.com", "checked": 1767000000.0,
     "models": ["gpt-4o", "gpt-4o-mini", ...]}

``dial models`` rewrites it on every listing. Completion reads it and, when it is
older than ``TTL`` seconds (or absent) and a key is at hand, asks DIAL once with a
short timeout; a failed ask still stamps ``checked``, so a DIAL that is down costs
one wait per TTL, not one per Tab press, and the stale list keeps being offered.
A cache written for another URL counts as absent. The cache is disposable: any
problem reading or writing it is ignored.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialcli.config import Settings

TTL = 600.0  # ten minutes: deployments change rarely, Tab must be instant
FETCH_TIMEOUT = 1.0  # connect and read each; a Tab press waits at most ~2 s
VERSION = 1


@dataclass(frozen=True)
class Cached:
    models: list[str]
    checked: float  # time.time() of the last listing or attempt

    def fresh(self, now: float) -> bool:
        return 0 <= now - self.checked < TTL


def cache_path(home: Path) -> Path:
    return Path(home) / "cache" / "models.json"


def load(home: Path, url: str) -> Cached | None:
    """The cached ids for ``url``, or None (absent, unreadable, or another URL's)."""
    import orjson

    try:
        doc = orjson.loads(cache_path(home).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or doc.get("url") != url:
        return None
    models, checked = doc.get("models"), doc.get("checked")
    if not isinstance(models, list) or not isinstance(checked, int | float):
        return None
    return Cached([m for m in models if isinstance(m, str)], float(checked))


def save(home: Path, url: str, models: list[str], checked: float | None = None) -> None:
    """Replace the cache (best effort: a read-only data directory just means no cache)."""
    import orjson

    from dialcli.private_dirs import private_dir

    path = cache_path(home)
    doc = {
        "version": VERSION,
        "url": url,
        "checked": time.time() if checked is None else checked,
        "models": models,
    }
    tmp: str | None = None
    try:
        private_dir(path.parent, home)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(orjson.dumps(doc))
        os.replace(tmp, path)  # a concurrent reader sees the old list or the new one
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)


def models_for_completion(settings: Settings, now: float | None = None) -> list[str]:
    """Model ids to offer on Tab: from a fresh cache without touching the network."""
    now = time.time() if now is None else now
    cached = load(settings.home, settings.url)
    if cached is not None and cached.fresh(now):
        return cached.models
    # Only a key that is already at hand: api_key_command may prompt for a passphrase,
    # which a Tab press must never trigger.
    if not (settings.api_key or settings.token):
        return cached.models if cached is not None else []
    fetched = _fetch(settings)
    if fetched is None:
        old = cached.models if cached is not None else []
        save(settings.home, settings.url, old, checked=now)
        return old
    save(settings.home, settings.url, fetched, checked=now)
    return fetched


def _fetch(settings: Settings) -> list[str] | None:
    """The deployment ids, or None on any failure (completion never reports errors)."""
    from dialcli.backends.raw import RawBackend  # httpx: only when the cache is stale
    from dialcli.errors import DialError

    quick = settings.with_overrides(
        connect_timeout=FETCH_TIMEOUT, read_timeout=FETCH_TIMEOUT, retries=0, verbose=False
    )
    try:
        with RawBackend(quick.for_requests()) as backend:
            return [m.id for m in backend.list_models()]
    except DialError:
        return None
