"""A short-lived cache of the model list, so that Tab after ``-m`` answers at once.

``<data dir>/cache/models.json`` holds the ids one DIAL URL listed::

    {"version": 1, "url": "https://dial.example.com", "checked": 1767000000.0,
     "models": ["gpt-4o", "gpt-4o-mini", ...],
     "pricing": {"gpt-4o": {"unit": "token", "prompt": "0.0000025", ...}}}

``pricing`` holds the listing's prices (deployments without one are absent), for the
cost that ``usage.py`` computes when it is shown; ``prices()`` refreshes them when stale.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialcli.backends.base import Backend
    from dialcli.backends.model_info import ModelInfo
    from dialcli.config import Settings

TTL = 600.0  # ten minutes: deployments change rarely, Tab must be instant
FETCH_TIMEOUT = 1.0  # connect and read each; a Tab press waits at most ~2 s
VERSION = 1


@dataclass(frozen=True)
class Cached:
    models: list[str]
    checked: float  # time.time() of the last listing or attempt
    pricing: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    pricing = doc.get("pricing")
    prices = (
        {k: v for k, v in pricing.items() if isinstance(v, dict)}
        if isinstance(pricing, dict)
        else {}
    )
    return Cached([m for m in models if isinstance(m, str)], float(checked), prices)


def pricing_of(models: list[ModelInfo]) -> dict[str, dict[str, Any]]:
    """The ``pricing`` objects of a listing, by deployment id."""
    return {m.id: m.raw["pricing"] for m in models if isinstance(m.raw.get("pricing"), dict)}


def save(
    home: Path,
    url: str,
    models: list[str],
    checked: float | None = None,
    pricing: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Replace the cache (best effort: a read-only data directory just means no cache)."""
    import orjson

    from dialcli.private_dirs import private_dir

    path = cache_path(home)
    doc = {
        "version": VERSION,
        "url": url,
        "checked": time.time() if checked is None else checked,
        "models": models,
        "pricing": pricing or {},
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
    return _refresh(settings, cached, now).models


def prices(settings: Settings, now: float | None = None) -> dict[str, dict[str, Any]]:
    """The listing's ``pricing`` by deployment id: cached, refreshed when stale.

    Refreshing needs a key at hand (never api_key_command's prompt for a local command
    such as ``history stats``); without one, or when DIAL cannot be reached, the stale
    prices serve, and none at all means no cost is shown.
    """
    now = time.time() if now is None else now
    cached = load(settings.home, settings.url)
    if cached is not None and cached.fresh(now):
        return cached.pricing
    if not (settings.api_key or settings.token):
        return cached.pricing if cached is not None else {}
    return _refresh(settings, cached, now).pricing


def prices_via(backend: Backend, settings: Settings) -> dict[str, dict[str, Any]]:
    """The prices for an answer just received: cached, or listed again through the open
    ``backend`` when stale (its failure leaves the stale prices, or none)."""
    from dialcli.errors import DialError

    now = time.time()
    cached = load(settings.home, settings.url)
    if cached is not None and cached.fresh(now):
        return cached.pricing
    try:
        models = backend.list_models()
    except DialError:
        return cached.pricing if cached is not None else {}
    pricing = pricing_of(models)
    save(settings.home, settings.url, [m.id for m in models], checked=now, pricing=pricing)
    return pricing


def _refresh(settings: Settings, cached: Cached | None, now: float) -> Cached:
    fetched = _fetch(settings)
    if fetched is None:
        old = cached or Cached([], now)
        save(settings.home, settings.url, old.models, checked=now, pricing=old.pricing)
        return old
    fresh = Cached([m.id for m in fetched], now, pricing_of(fetched))
    save(settings.home, settings.url, fresh.models, checked=now, pricing=fresh.pricing)
    return fresh


def _fetch(settings: Settings) -> list[ModelInfo] | None:
    """The deployments, or None on any failure (completion never reports errors)."""
    from dialcli.backends.raw import RawBackend  # httpx: only when the cache is stale
    from dialcli.errors import DialError

    quick = settings.with_overrides(
        connect_timeout=FETCH_TIMEOUT, read_timeout=FETCH_TIMEOUT, retries=0, verbose=False
    )
    try:
        with RawBackend(quick.for_requests()) as backend:
            return backend.list_models()
    except DialError:
        return None


def cached_models(settings: Settings) -> list[str]:
    """The ids in the cache, whatever their age; never asks DIAL (for error hints)."""
    cached = load(settings.home, settings.url)
    return cached.models if cached is not None else []


def close_names(name: str, known: list[str]) -> list[str]:
    """Listed ids that look like ``name`` (a typo, another case), best first."""
    import difflib

    lowered = {k.lower(): k for k in known}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return [lowered[name.lower()]]
    return difflib.get_close_matches(name, known, n=3, cutoff=0.6)


def did_you_mean(name: str, known: list[str]) -> str:
    """``did you mean 'echo'?`` for a name close to listed ones, else ``""``."""
    close = close_names(name, known)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def hint_unknown_model(err: Exception, settings: Settings, model: str) -> None:
    """A 404 for ``model``: add close names from the cache to the error's message."""
    from dialcli.errors import NotFoundError

    if not isinstance(err, NotFoundError) or err.status != 404:
        return
    hint = did_you_mean(model, cached_models(settings))
    if hint:
        err.message = f"{err.message}; {hint}"
