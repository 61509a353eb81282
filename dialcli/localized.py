"""Text that DIAL may send in several languages (Core's ``LocalizedValue``)."""

from __future__ import annotations

import os
from typing import Any


def user_locales(env: dict[str, str] | None = None) -> list[str]:
    """The user's locale from LC_ALL / LC_MESSAGES / LANG, most specific first:
    ``uk_UA.UTF-8`` gives ``["uk-ua", "uk"]``."""
    source = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = source.get(name, "")
        tag = value.split(".", 1)[0].split("@", 1)[0].replace("_", "-").lower()
        if tag and tag not in ("c", "posix"):
            base = tag.split("-", 1)[0]
            return [tag, base] if base != tag else [tag]
    return []


def localized(value: Any, env: dict[str, str] | None = None) -> str:
    """A string as it is; a ``{locale: text}`` map in the user's locale, else ``en``, else
    the first entry; anything else as an empty string (never a Python repr)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or not value:
        return ""
    by_tag = {str(k).replace("_", "-").lower(): v for k, v in value.items()}
    for tag in [*user_locales(env), "en"]:
        text = by_tag.get(tag)
        if isinstance(text, str) and text:
            return text
    first = next(iter(value.values()))
    return first if isinstance(first, str) else ""
