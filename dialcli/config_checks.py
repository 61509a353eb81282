"""Checks of configuration values: every bad value is a usage error naming where it is.

config.toml is TOML, so any key may hold any type; environment variables and options
are text that may carry blanks or control characters. Each helper takes the value and
``where`` (``'retries' in /path/config.toml``, ``DIAL_URL``, ``--timeout``) and returns
the checked value or raises UsageError. Secrets are never repeated in a message.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from dialcli.errors import UsageError

MAX_RETRIES = 10  # as --retries
_KINDS = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "a table",
}
# Keys of config.toml and the type each must hold (tables and numbers checked apart).
_STRINGS = (
    "url",
    "api_key",
    "api_key_command",
    "token",
    "token_command",
    "model",
    "backend",
    "api_version",
    "system",
)


def kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def file_where(key: str, path: Path) -> str:
    return f"'{key}' in {path}"


def _bad(where: str, why: str) -> UsageError:
    return UsageError(f"invalid value for {where}: {why}")


def check_file(data: dict[str, Any], path: Path) -> None:
    """Type- and range-check every known key of a parsed config.toml (unknown keys are
    only warned about, elsewhere)."""
    for key in _STRINGS:
        if key in data and not isinstance(data[key], str):
            raise _bad(file_where(key, path), f"expected a string, not {kind(data[key])}")
    if "home" in data:
        home(data["home"], file_where("home", path))
    if "retries" in data:
        retries(data["retries"], file_where("retries", path))
    for key in ("markdown", "system_question"):
        if key in data and not isinstance(data[key], bool):
            raise _bad(file_where(key, path), f"expected true or false, not {kind(data[key])}")
    _check_tables(data, path)


def _check_tables(data: dict[str, Any], path: Path) -> None:
    """``[timeouts]`` and ``[aliases]``, and the secrets' text."""
    for table in ("timeouts", "aliases"):
        if table in data and not isinstance(data[table], dict):
            raise _bad(file_where(table, path), f"expected a table, not {kind(data[table])}")
    for name, value in data.get("aliases", {}).items():
        if not isinstance(value, str):
            raise _bad(file_where(f"aliases.{name}", path), f"expected a string, not {kind(value)}")
    for name in ("connect", "read"):
        if name in data.get("timeouts", {}):
            seconds(data["timeouts"][name], file_where(f"timeouts.{name}", path))
    if isinstance(data.get("api_key"), str) and data["api_key"]:
        secret(data["api_key"], file_where("api_key", path))
    if isinstance(data.get("token"), str) and data["token"]:
        secret(data["token"], file_where("token", path), "token")


def seconds(value: Any, where: str) -> float:
    """A timeout: a finite number of seconds above 0 (nan and inf are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(where, f"expected a number of seconds, not {kind(value)}")
    try:
        number = float(value)
    except ValueError:
        raise _bad(where, f"expected a number of seconds, not {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise _bad(where, f"{value!r} is not a finite number of seconds above 0")
    return number


def retries(value: Any, where: str) -> int:
    """A retry count: a whole number from 0 to MAX_RETRIES, as --retries takes."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(where, f"expected a whole number, not {kind(value)}")
    if not 0 <= value <= MAX_RETRIES:
        raise _bad(where, f"{value} is not between 0 and {MAX_RETRIES}")
    return value


def home(value: Any, where: str) -> Path:
    """The data directory, with ``~`` expanded."""
    if not isinstance(value, str) or not value.strip():
        raise _bad(where, f"expected a directory path, not {kind(value)}")
    try:
        return Path(value).expanduser()
    except RuntimeError:  # ~user for a user that does not exist
        raise _bad(where, f"cannot expand {value!r}: no such user") from None


def secret(value: str, where: str, what: str = "API key") -> str:
    """A key or token as it goes into an HTTP header; its text is never shown.

    A control character is most often the CR of a file saved with CRLF line ends; a
    header cannot carry it, nor non-ASCII text (httpx would fail with the key in the
    message).
    """
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise UsageError(
            f"the {what} from {where} contains a control character"
            " (a line ending copied from a file?); it was not sent"
        )
    if not value.isascii():
        raise UsageError(f"the {what} from {where} contains non-ASCII characters; it was not sent")
    return value
