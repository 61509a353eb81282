"""Templates: a prompt with ``{{var}}``/``{{var|default}}`` fields and the settings to ask it
with, kept as ``templates/NAME.toml`` in the config directory or as a DIAL prompt.

The file format (docs/usage.md, "Templates")::

    description = "Translate text"
    model = "gpt-4o"
    system = "You are a careful translator."
    temperature = 0.2
    max_tokens = 400
    prompt = "Translate {{text}} to {{lang|French}}."

    [configuration]          # sent as custom_fields.configuration
    style = "formal"

Every key is optional; an unknown key or a value of the wrong type is a usage error
naming the file, so a typo never silently changes what is sent. Rendering is
``templating.render`` (DIAL Chat's placeholder syntax).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialcli.errors import NotFoundError, StorageError, UsageError

KEYS = ("description", "model", "system", "temperature", "max_tokens", "prompt", "configuration")
INPUT = "input"  # the variable that piped stdin (or the PROMPT argument) fills
REMOTE_PREFIX = "dial:"
# What `dial templates edit NEW` opens: every key, commented out but the prompt.
STARTER = """\
# A dial template: every key is optional (see docs/usage.md, "Templates").
# description = "What this template is for"
# model = "gpt-4o"
# system = "You are a helpful assistant."
# temperature = 0.2
# max_tokens = 800
prompt = '''
{{input}}'''

# [configuration]   # sent as custom_fields.configuration
# key = "value"
"""
_SEGMENT = re.compile(r"[^/\x00-\x1f:;,={}%&\\\"]+")


@dataclass(frozen=True)
class Template:
    name: str
    prompt: str = ""
    description: str | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    configuration: dict[str, Any] | None = field(default=None, hash=False)

    def settings(self) -> dict[str, Any]:
        """The settings this template sets (not the prompt), by file key."""
        values = {key: getattr(self, key) for key in KEYS if key not in ("prompt", "name")}
        return {key: value for key, value in values.items() if value is not None}


def check_name(name: str) -> str:
    """A template name: path segments DIAL Chat accepts, none hidden or relative."""
    segments = name.split("/")
    if not name or not all(
        _SEGMENT.fullmatch(s) and s == s.strip() and not s.startswith(".") and not s.endswith(".")
        for s in segments
    ):
        raise UsageError(
            f"invalid template name {name!r}: use letters, digits, spaces, '-', '_' "
            "and '/' between folders"
        )
    return name


def templates_dir(config_path: Path) -> Path:
    """``templates/`` beside config.toml."""
    return config_path.parent / "templates"


def from_mapping(name: str, data: dict[str, Any], source: str) -> Template:
    """A template from parsed TOML (or a DIAL prompt's settings), types checked."""
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise UsageError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    for key in ("description", "model", "system", "prompt"):
        if key in data and not isinstance(data[key], str):
            raise UsageError(f"{source}: {key} must be a string")
    temperature = data.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool)
        or not isinstance(temperature, int | float)
        or not 0 <= temperature <= 2
    ):
        raise UsageError(f"{source}: temperature must be a number from 0 to 2")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        raise UsageError(f"{source}: max_tokens must be a whole number of at least 1")
    configuration = data.get("configuration")
    if configuration is not None and not isinstance(configuration, dict):
        raise UsageError(f"{source}: configuration must be a table")
    return Template(
        name=name,
        prompt=data.get("prompt", ""),
        description=data.get("description"),
        model=data.get("model"),
        system=data.get("system"),
        temperature=float(temperature) if temperature is not None else None,
        max_tokens=max_tokens,
        configuration=configuration,
    )


class LocalTemplates:
    """``templates/**/NAME.toml`` under the config directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / f"{check_name(name)}.toml"

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = (
            p.relative_to(self.root).with_suffix("").as_posix() for p in self.root.rglob("*.toml")
        )
        return sorted(name for name in found if not name.startswith("."))

    def load(self, name: str) -> Template:
        import tomllib

        path = self.path(name)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFoundError(f"no template {name!r} (looked for {path})") from None
        except OSError as err:
            raise StorageError(f"cannot read {path}: {err.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{path}: not UTF-8") from None
        except tomllib.TOMLDecodeError as err:
            raise UsageError(f"{path}: invalid TOML: {err}") from None
        return from_mapping(name, data, str(path))

    def save(self, template: Template) -> Path:
        """Write atomically (a reader sees the old file or the new one, never half)."""
        path = self.path(template.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(dumps(template), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write {path}: {err.strerror}") from None
        return path

    def delete(self, name: str) -> None:
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise NotFoundError(f"no template {name!r} (looked for {path})") from None
        except OSError as err:
            raise StorageError(f"cannot delete {path}: {err.strerror}") from None


def compose(template: Template, params: dict[str, str], input_text: str | None) -> str:
    """The question: the prompt with its fields filled in.

    ``{{input}}`` takes ``input_text`` (piped stdin and/or the PROMPT argument); a
    template without it gets that text before its prompt, a blank line between, as a
    plain ``ask`` joins stdin and its argument. A field without a value or default is a
    usage error naming it; so is a ``-p`` the prompt has no field for (a typo).
    """
    from dialcli.templating import MissingVariables, render, variables

    fields = {variable.name for variable in variables(template.prompt)}
    unknown = sorted(set(params) - fields)
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise UsageError(
            f"template {template.name!r} has no field {unknown[0]!r} (its fields: {known})"
        )
    values: dict[str, str] = dict(params)
    uses_input = INPUT in fields
    if uses_input and input_text is not None:
        values.setdefault(INPUT, input_text)
    try:
        text = render(template.prompt, values)
    except MissingVariables as err:
        name = err.names[0]
        hint = "pipe it on stdin or add -p input TEXT" if name == INPUT else f"add -p {name} VALUE"
        raise UsageError(
            f"template {template.name!r} needs a value for {{{{{name}}}}}: {hint}"
        ) from None
    if not uses_input and input_text and input_text.strip():
        text = f"{input_text.rstrip()}\n\n{text}" if text.strip() else input_text
    if not text.strip():
        raise UsageError(
            f"template {template.name!r} has no prompt: give one as an argument or pipe it"
        )
    return text


# --- TOML out: the few value kinds a template holds ----------------------------------


def dumps(template: Template) -> str:
    """The template as the TOML file ``LocalTemplates.load`` reads back the same."""
    lines = []
    for key in KEYS:
        value = getattr(template, key)
        if value is None or key == "configuration" or (key == "prompt" and not value):
            continue
        lines.append(f"{key} = {_value(value)}")
    if template.configuration:
        lines.append("")
        lines.append("[configuration]")
        lines.extend(f"{_key(k)} = {_value(v)}" for k, v in template.configuration.items())
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    """A TOML basic string; control characters escaped (TOML allows none but tab)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError("a template cannot hold an infinite or NaN number")
        return repr(value)
    if isinstance(value, str):
        if "\n" in value and "'''" not in value and _literal_ok(value):
            return "'''\n" + value + "'''"
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise UsageError(f"a template cannot hold the value {value!r} (TOML has no null)")


def _literal_ok(text: str) -> bool:
    """A multi-line literal string shows the prompt as written; it cannot hold control
    characters other than tab and newline, and a final quote would close it early."""
    return not text.endswith("'") and not any(
        (ord(c) < 0x20 and c not in "\t\n") or ord(c) == 0x7F for c in text
    )
