"""``{{name}}`` and ``{{name|default}}`` placeholders, as DIAL Chat writes them in prompts.

The syntax is DIAL Chat's (epam/ai-dial-chat ``apps/chat/src/constants/folders.ts``,
``PROMPT_VARIABLE_REGEX_TEST = /{{([^|]+?)(\\|.*?)?}}/``; the default is the text after
``|``, trimmed, as ``parseVariablesFromContent`` in ``utils/app/prompts.ts`` reads it).
One difference: names are trimmed too, so ``{{ text }}`` is the variable ``text``.

Pure: no I/O. Used by ``dial batch`` and by local prompt templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The same pattern as DIAL Chat's: the name runs to the first '|' or '}}', the default
# (optional) to the first '}}' on the same line.
PLACEHOLDER = re.compile(r"\{\{([^|]+?)(\|.*?)?\}\}")


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None = None  # None: the value is required


class MissingVariables(ValueError):
    """Values for these required variables were not given."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        shown = ", ".join(repr(name) for name in names)
        super().__init__(f"no value for template field{'s' if len(names) > 1 else ''} {shown}")


def _variable(match: re.Match[str]) -> Variable:
    default = match.group(2)
    return Variable(match.group(1).strip(), None if default is None else default[1:].strip())


def variables(template: str) -> list[Variable]:
    """The distinct variables of ``template``, in first-seen order."""
    seen: dict[str, Variable] = {}
    for match in PLACEHOLDER.finditer(template):
        variable = _variable(match)
        seen.setdefault(variable.name, variable)
    return list(seen.values())


def as_text(value: Any) -> str:
    """A value from an item as prompt text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


def render(template: str, values: Mapping[str, Any]) -> str:
    """``template`` with each placeholder replaced by its value or default.

    A missing value (absent, or JSON null) takes the default; without one, every such
    name is reported at once in ``MissingVariables``.
    """
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        variable = _variable(match)
        value = values.get(variable.name)
        if value is not None:
            return as_text(value)
        if variable.default is not None:
            return variable.default
        if variable.name not in missing:
            missing.append(variable.name)
        return ""

    text = PLACEHOLDER.sub(replace, template)
    if missing:
        raise MissingVariables(missing)
    return text
