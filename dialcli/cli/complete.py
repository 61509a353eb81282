"""What Tab offers beyond commands and options: model names, aliases, conversation ids.

Each function is a Typer ``autocompletion`` callback and runs in a fresh ``dial`` on
every Tab press, so it reads local files only (config.toml, the model cache, the
conversation index); the network is touched only when the model cache is stale (see
``dialcli.model_cache``). A failure offers nothing: printing an error would land in
the middle of the user's command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialcli.config import Settings


def _settings() -> Settings | None:
    from dialcli.config import resolve_settings
    from dialcli.errors import DialError

    try:
        return resolve_settings({})
    except DialError:
        return None


def model_names(incomplete: str) -> list[tuple[str, str]]:
    """Aliases from config.toml, then the deployment ids of the (cached) model list."""
    settings = _settings()
    if settings is None:
        return []
    from dialcli.model_cache import models_for_completion

    items = [(name, f"alias for {target}") for name, target in sorted(settings.aliases.items())]
    items += [(model, "") for model in models_for_completion(settings)]
    return [item for item in items if item[0].startswith(incomplete)]


def conversation_ids(incomplete: str) -> list[tuple[str, str]]:
    """'last' and every saved conversation id, newest first, titled."""
    settings = _settings()
    if settings is None:
        return []
    from dialcli.errors import DialError
    from dialcli.store import Store

    try:
        summaries = Store(settings.home).summaries()
    except (DialError, OSError):
        return []
    items = [("last", "the latest conversation")]
    items += [(s.id, f"{s.title} ({s.model}, {s.updated[:10]})") for s in summaries]
    return [item for item in items if item[0].startswith(incomplete)]
