"""Plain-text rendering of DIAL extras (stages, attachments) for transcripts and stderr."""

from __future__ import annotations

from typing import Any


def stage_mark(status: str | None) -> str:
    return {"completed": "done", "failed": "failed"}.get(status or "", "…")


def format_stages(custom_content: dict[str, Any] | None) -> str:
    """Stages folded to one line each, e.g. ``[stage: Searching (done)]``."""
    if not custom_content or not custom_content.get("stages"):
        return ""
    lines = [
        f"[stage: {stage.get('name') or '?'} ({stage_mark(stage.get('status'))})]"
        for stage in custom_content["stages"]
    ]
    return "\n".join(lines) + "\n"
