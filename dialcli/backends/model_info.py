"""One entry of the deployment listing (``/openai/models``, ``/openai/applications``).

Its own module: only ``dial models`` and the model cache need it, not a question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelInfo:
    id: str
    display_name: str = ""
    owner: str = ""
    kind: str = "model"
    capabilities: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        """From DIAL's ModelData / deployment object; missing fields stay empty."""
        from dialcli.localized import localized

        caps = data.get("capabilities") or data.get("features") or {}
        return cls(
            id=str(data.get("id", "")),
            # Core's display_name is a LocalizedValue: a string or {locale: text}.
            display_name=localized(data.get("display_name")) or str(data.get("model") or ""),
            owner=str(data.get("owner") or ""),
            kind=str(data.get("object") or "model"),
            capabilities=caps if isinstance(caps, dict) else {},
            raw=data,
        )
