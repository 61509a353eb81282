"""``dial config set`` / ``unset``: one key of config.toml changed, the rest kept as written.

The file is edited with tomlkit, which keeps comments, blank lines, key order and
quoting, so a hand-written config.toml stays the user's. A value is checked by the
same checks that reading the file applies (``config_checks.check_file``, and the URL
and backend checks a request makes) on the whole edited file before anything is
written; the file is then replaced atomically, mode 0600.
"""

from __future__ import annotations

import difflib
from contextlib import suppress
from pathlib import Path
from typing import Any

from dialcli import config_checks as checks
from dialcli.config import BACKENDS, CONFIG_KEYS, TIMEOUT_KEYS, validate_url
from dialcli.errors import UsageError

TABLES = ("timeouts", "aliases")
# Keys whose value is not a string, and how VALUE on the command line becomes one.
_INTEGERS = frozenset({"retries", "max_prompt_tokens"})
_BOOLEANS = frozenset({"markdown", "system_question"})
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def settable_keys() -> list[str]:
    """Every key ``config set`` takes, as docs/configuration.md names them."""
    plain = sorted(k for k in CONFIG_KEYS if k not in TABLES)
    return [*plain, *(f"timeouts.{k}" for k in sorted(TIMEOUT_KEYS)), "aliases.NAME"]


def split_key(key: str) -> tuple[str, ...]:
    """``url`` -> ("url",); ``timeouts.read`` -> ("timeouts", "read"); else a usage error."""
    head, dot, name = key.partition(".")
    if not dot and key in CONFIG_KEYS and key not in TABLES:
        return (key,)
    if dot and head == "timeouts" and name in TIMEOUT_KEYS:
        return (head, name)
    if dot and head == "aliases" and name and "." not in name:
        return (head, name)
    known = settable_keys()
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(f"unknown setting {key!r}: {hint}known: {', '.join(known)}")


def parse_value(parts: tuple[str, ...], text: str) -> Any:
    """The TOML value VALUE stands for, by the key's type (a usage error if it cannot be)."""
    key = ".".join(parts)
    if parts[0] in _INTEGERS:
        if not text.strip().lstrip("-").isdigit():
            raise UsageError(f"invalid value for {key}: expected a whole number, not {text!r}")
        return int(text)
    if parts[0] in _BOOLEANS:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise UsageError(f"invalid value for {key}: expected true or false, not {text!r}")
    if parts[0] == "timeouts":
        try:
            return float(text)
        except ValueError:
            raise UsageError(
                f"invalid value for {key}: expected a number of seconds, not {text!r}"
            ) from None
    return text


def check(data: dict[str, Any], path: Path) -> None:
    """Every check config.toml gets when it is read, and those a request makes."""
    checks.check_file(data, path)
    if "url" in data:
        validate_url(data["url"], checks.file_where("url", path))
    if "backend" in data and data["backend"] not in BACKENDS:
        raise UsageError(f"invalid value for backend: {data['backend']!r}; choose 'raw' or 'sdk'")
    limit = data.get("max_prompt_tokens")
    if limit is not None and limit < 1:
        raise UsageError(f"invalid value for max_prompt_tokens: {limit} is not a positive integer")


def _load(path: Path) -> Any:
    """The tomlkit document of ``path``; an absent file is an empty document."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    from dialcli.config import read_config_file

    config = read_config_file(path)  # the same size and encoding limits as a run
    if config.error is not None:
        raise config.error
    try:
        return tomlkit.parse(path.read_text("utf-8")) if path.exists() else tomlkit.document()
    except (OSError, ParseError) as err:
        raise UsageError(f"cannot edit config file {path}: {err}") from None


def set_value(path: Path, key: str, text: str) -> Any:
    """Set KEY to VALUE in ``path`` (created if absent); returns the value written."""
    import tomlkit

    parts = split_key(key)
    value = parse_value(parts, text)
    doc = _load(path)
    if len(parts) == 1:
        doc[parts[0]] = value
    else:
        table = doc.get(parts[0])
        if table is None:
            table = doc[parts[0]] = tomlkit.table()
        elif not isinstance(table, dict):
            raise UsageError(f"'{parts[0]}' in {path} is not a table; fix the file first")
        table[parts[1]] = value
    check(doc.unwrap(), path)
    _write(path, tomlkit.dumps(doc))
    return value


def unset_value(path: Path, key: str) -> bool:
    """Remove KEY from ``path``; False when it was not set (the file is left alone)."""
    import tomlkit

    parts = split_key(key)
    doc = _load(path)
    holder = doc if len(parts) == 1 else doc.get(parts[0])
    if not isinstance(holder, dict) or parts[-1] not in holder:
        return False
    del holder[parts[-1]]
    if len(parts) == 2 and not holder:
        del doc[parts[0]]  # an empty [timeouts] would only puzzle a reader
    text = tomlkit.dumps(doc).rstrip("\n")
    _write(path, text + "\n" if text else "")  # no blank lines left where a table was
    return True


def _write(path: Path, text: str) -> None:
    """Atomically, mode 0600; a missing directory is made 0700. A symlinked config.toml
    (dotfiles) stays a link: its target is what gets replaced."""
    import os
    import tempfile

    from dialcli.config import user_config_path
    from dialcli.private_dirs import private_dir

    target = path.resolve() if path.is_symlink() else path
    tmp: str | None = None
    try:
        # Our own directory is tightened when it exists; DIAL_CONFIG's is the user's.
        own = target.parent == user_config_path().parent
        private_dir(target.parent, home=target.parent if own else None)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:  # mkstemp: mode 0600
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)  # atomic: a run reads the old file or the new, never half
        tmp = None
    except OSError as err:
        raise UsageError(f"cannot write config file {target}: {err.strerror or err}") from None
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
