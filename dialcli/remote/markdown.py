"""``dial history export --format md``: a conversation as a readable Markdown file.

A heading per turn, the model and token usage of each answer where known, the times
the conversation has, attachments as links (inline data is named, not inlined).
"""

from __future__ import annotations

from typing import Any

from dialcli.conversation import Conversation, Message, Role
from dialcli.remote.dialchat import text_of
from dialcli.render import format_stages, short_time


def to_markdown(convs: list[Conversation]) -> str:
    return "\n---\n\n".join(_one(conv) for conv in convs)


def _one(conv: Conversation) -> str:
    lines = [
        f"# {conv.title or '(untitled)'}",
        "",
        f"- id: `{conv.id}`",
        f"- model: `{conv.model}`",
        f"- created: {short_time(conv.created)} UTC, updated: {short_time(conv.updated)} UTC",
        "",
    ]
    if conv.system:
        lines += ["## System prompt", "", _quote(conv.system), ""]
    turn = 0
    for message in conv.messages:
        if message.role is Role.USER:
            turn += 1
            lines += [f"## Turn {turn}", "", "**You**", ""]
        elif message.role is Role.ASSISTANT:
            lines += [f"**Assistant** ({_details(message, conv)})", ""]
        else:
            lines += ["**System**", ""]
        stages = format_stages(message.custom_content)
        if stages:
            lines += [stages.rstrip("\n"), ""]
        text = text_of(message.content)
        if message.interrupted:
            text += " [interrupted]"
        lines += [text, ""]
        lines += _attachments(message.custom_content)
    return "\n".join(lines).rstrip("\n") + "\n"


def _details(message: Message, conv: Conversation) -> str:
    parts = [f"`{message.model or conv.model}`"]
    usage = message.usage or {}
    if isinstance(usage, dict) and usage.get("total_tokens") is not None:
        parts.append(
            f"{usage.get('prompt_tokens', '?')} prompt + "
            f"{usage.get('completion_tokens', '?')} completion tokens"
        )
    # When the answer was saved, for files that record it (older ones do not).
    created = message.to_dict().get("created")
    if isinstance(created, str) and created:
        parts.append(f"{short_time(created)} UTC")
    return ", ".join(parts)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _attachments(custom: dict[str, Any] | None) -> list[str]:
    items = (custom or {}).get("attachments") or []
    lines = []
    for item in items:
        if not isinstance(item, dict):
            continue
        title = str(item.get("title") or item.get("url") or "attachment")
        url = item.get("url") or item.get("reference_url")
        if url:
            lines.append(f"- [{title}]({url})")
        else:
            lines.append(f"- {title} ({item.get('type') or 'inline data'}, inline)")
    return [*lines, ""] if lines else []
