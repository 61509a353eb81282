"""What the listing endpoints say about each deployment, in DIAL Core's shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A fixed timestamp keeps listings byte-stable across runs (snapshot-friendly).
CREATED_AT = 1_735_689_600  # 2025-01-01T00:00:00Z


@dataclass(frozen=True)
class Entry:
    """One deployment as the listings describe it."""

    id: str
    description: str
    kind: str = "model"  # "model" or "application"
    display_name: str | dict[str, str] = ""  # Core's LocalizedValue: text or {locale: text}
    features: dict[str, bool] = field(default_factory=dict)
    input_attachment_types: list[str] | None = None
    max_total_tokens: int = 128_000
    pricing: dict[str, str] | None = None  # {unit, prompt, completion}: USD per unit

    def to_json(self, object_name: str | None = None) -> dict[str, Any]:
        """The object DIAL Core would list for this deployment.

        ``object_name`` overrides ``object``: Core's ``/openai/deployments`` lists models
        as ``"deployment"`` (aidial-client accepts only "deployment" or "model" there).
        """
        features = {
            "rate": False,
            "tokenize": False,
            "truncate_prompt": False,
            "configuration": False,
            "system_prompt": True,
            "tools": False,
            "seed": False,
            "url_attachments": False,
            "folder_attachments": False,
            "allow_resume": True,
            "streaming": True,
            "attachments": False,
        }
        features.update(self.features)
        data: dict[str, Any] = {
            "id": self.id,
            self.kind: self.id,  # "model": id, or "application": id
            "display_name": self.display_name or self.id.replace("-", " ").title(),
            "description": self.description,
            "owner": "organization-owner",
            "object": object_name or self.kind,
            "status": "succeeded",
            "created_at": CREATED_AT,
            "updated_at": CREATED_AT,
            "lifecycle_status": "generally-available",
            "capabilities": {
                "scale_types": ["standard"],
                "completion": False,
                "chat_completion": True,
                "embeddings": False,
                "fine_tune": False,
                "inference": False,
            },
            "features": features,
            "limits": {
                "max_total_tokens": self.max_total_tokens,
                "max_prompt_tokens": self.max_total_tokens // 2,
                "max_completion_tokens": self.max_total_tokens // 2,
            },
        }
        if self.pricing is not None:
            data["pricing"] = dict(self.pricing)
        if self.input_attachment_types is not None:
            data["input_attachment_types"] = self.input_attachment_types
            data["max_input_attachments"] = 10
        return data
