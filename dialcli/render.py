"""Plain-text rendering: transcripts of saved conversations, and DIAL stages in them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dialcli.sanitize import one_line

if TYPE_CHECKING:
    from dialcli.conversation import Conversation


def stage_mark(status: str | None) -> str:
    return {"completed": "done", "failed": "failed"}.get(status or "", "…")


def format_stages(custom_content: Any) -> str:
    """Stages folded to one line each, e.g. ``[stage: Searching (done)]``.

    Saved files may come from anywhere: stages that are not a list of objects are skipped.
    """
    stages = custom_content.get("stages") if isinstance(custom_content, dict) else None
    if not isinstance(stages, list):
        return ""
    lines = [
        f"[stage: {_name(stage.get('name'))} ({stage_mark(_name(stage.get('status')))})]"
        for stage in stages
        if isinstance(stage, dict)
    ]
    return "".join(line + "\n" for line in lines)


def _name(value: Any) -> str:
    return one_line(value) if isinstance(value, str) and value else "?"


def short_time(timestamp: str) -> str:
    """2026-11-25T19:40:01.123Z -> 2026-11-25 19:40 (UTC, as stored)."""
    return timestamp[:16].replace("T", " ")


def transcript(
    conv: Conversation,
    last: int | None = None,
    notes: Mapping[int, str] | None = None,
    footer: str = "",
) -> str:
    """A readable transcript; ``last`` keeps only the last N exchanges.

    ``notes`` adds a line under messages (by index: an answer's usage and cost) and
    ``footer`` a last line (the conversation's total).
    """
    head = [
        f"# {conv.title or '(untitled)'}",
        f"id: {conv.id}",
        f"model: {conv.model}   created: {short_time(conv.created)}"
        f"   updated: {short_time(conv.updated)}",
    ]
    start = 0
    if last is not None:
        users = [i for i, m in enumerate(conv.messages) if m.role == "user"]
        if len(users) > last:
            start = users[-last]
    body: list[str] = []
    if conv.system and last is None:
        body.append(f"System: {conv.system}")
    for index, message in enumerate(conv.messages[start:], start):
        label = "You" if message.role == "user" else "Assistant"
        text = message.text
        if message.interrupted:
            text += " [interrupted]"
        stages = format_stages(message.custom_content)
        note = notes.get(index) if notes else None
        body.append(f"{label}: {stages}{text}" + (f"\n  [{note}]" if note else ""))
    if footer:
        body.append(footer)
    return "\n".join(head) + "\n\n" + "\n\n".join(body) + "\n"
