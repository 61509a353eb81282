"""``dial config show``: every effective setting, the place it came from, secrets hidden."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialcli.config import Settings
    from dialcli.output import IOStreams

HIDDEN = "(hidden)"  # a key or token is set; its text is never printed
SECRETS = ("api_key", "token")


@dataclass(frozen=True)
class Row:
    key: str
    value: Any  # None: not set
    source: str  # flag, env, file or default
    origin: str | None  # the flag, the variable or the file; None for a default


def _row(key: str, value: Any, where: str) -> Row:
    """A row from a value and ``where`` as resolve_settings words it."""
    if where.startswith("--"):
        return Row(key, value, "flag", where)
    if where.startswith("'"):  # "'url' in /home/me/.config/dial/config.toml"
        return Row(key, value, "file", where.split(" in ", 1)[1])
    if where and where != "the default":
        return Row(key, value, "env", where)
    return Row(key, value, "default", None)


def report(settings: Settings) -> list[Row]:
    """The settings in docs/configuration.md's order; secrets replaced by ``HIDDEN``."""
    where = settings.sources
    config = str(settings.config_path)
    from_env = bool(os.environ.get("DIAL_CONFIG"))
    rows = [
        Row("config", config, "env" if from_env else "default", "DIAL_CONFIG" if from_env else None)
    ]
    values = {
        "url": _without_credentials(settings.url),
        "api_key": HIDDEN if settings.api_key else None,
        "api_key_command": settings.api_key_command,
        "token": HIDDEN if settings.token else None,
        "token_command": settings.token_command,
        "model": settings.model,
        "backend": settings.backend,
        "api_version": settings.api_version,
        "home": str(settings.home),
        "retries": settings.retries,
        "timeouts.connect": settings.connect_timeout,
        "timeouts.read": settings.read_timeout,
        "system": settings.system,
        "markdown": settings.markdown,
        "system_question": settings.system_question,
        "max_prompt_tokens": settings.max_prompt_tokens,
    }
    rows += [_row(key, value, where.get(key, "")) for key, value in values.items()]
    rows += [
        Row(f"aliases.{name}", target, "file", config)
        for name, target in sorted(settings.aliases.items())
    ]
    return rows


def _without_credentials(url: str) -> str:
    """``http://user:pass@host`` shown as ``http://host``, as the -v log shows it."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    _, at, host = parts.netloc.rpartition("@")
    return parts._replace(netloc=host).geturl() if at else url


def _text(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_report(io: IOStreams, rows: list[Row], *, as_json: bool) -> None:
    """A table on a terminal, tab-separated lines in a pipe, or one JSON object."""
    from dialcli.sanitize import one_line

    if as_json:
        import orjson

        document = {r.key: {"value": r.value, "source": r.source, "from": r.origin} for r in rows}
        io.out(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    cells = [
        (r.key, one_line(_text(r.value)), r.source + (f" ({r.origin})" if r.origin else ""))
        for r in rows
    ]
    if not io.stdout_is_tty:
        io.out("".join("\t".join(c) + "\n" for c in cells))
        return
    cells.insert(0, ("KEY", "VALUE", "SOURCE"))
    key_w = max(len(c[0]) for c in cells)
    value_w = min(max(len(c[1]) for c in cells), 48)
    io.out("".join(f"{k:<{key_w}}  {v:<{value_w}}  {s}\n".rstrip() + "\n" for k, v, s in cells))
