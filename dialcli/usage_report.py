"""Usage and cost of saved answers: per turn for ``history show``, summed for ``history stats``.

Pure: conversations and prices in, rows and text out. Costs are computed here, from
the usage saved with each answer and today's prices, never read from the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from dialcli.errors import UsageError
from dialcli.usage import Cost, Pricing, Tokens, answer_cost, count, total_cost, usage_line, usd

if TYPE_CHECKING:
    from dialcli.conversation import Conversation


@dataclass(frozen=True)
class Answer:
    """The facts of one saved answer."""

    turn: int  # 1-based: the question before it
    index: int  # in conversation.messages
    model: str  # the deployment asked
    at: str  # UTC ISO 8601: the answer's own time, else the conversation's last update
    tokens: Tokens | None
    cost: Cost | None
    total_ms: float | None


def answers(conv: Conversation, prices: Mapping[str, Any]) -> list[Answer]:
    """Every assistant message of ``conv`` with its usage and cost at ``prices``."""
    out: list[Answer] = []
    # Text only: a content list (other tools, imports) counts by its text parts.
    sent = [conv.system] if isinstance(conv.system, str) and conv.system else []
    turn = 0
    for index, message in enumerate(conv.messages):
        if message.role == "user":
            turn += 1
        if message.role != "assistant":
            sent.append(message.text)
            continue
        model = message.model or conv.model
        cost = answer_cost(
            Pricing.of(prices.get(model)),
            message.usage,
            prompt_text="\n".join(sent),
            answer_text=message.text,
        )
        latency = message.latency_ms if isinstance(message.latency_ms, dict) else {}
        total = latency.get("total")
        out.append(
            Answer(
                turn=turn,
                index=index,
                model=model,
                at=message.created or conv.updated,
                tokens=Tokens.of(message.usage),
                cost=cost,
                total_ms=float(total) if isinstance(total, int | float) else None,
            )
        )
        sent.append(message.text)
    return out


def turn_notes(conv: Conversation, prices: Mapping[str, Any]) -> tuple[dict[int, str], str]:
    """``history show``: a usage line per answer (by message index) and a total line."""
    facts = answers(conv, prices)
    notes = {a.index: usage_line(conv.messages[a.index].usage, a.cost, a.total_ms) for a in facts}
    if not facts:
        return notes, ""
    row = summarize("total", facts)
    return notes, "Total: " + row.text()


@dataclass
class Row:
    """Answers grouped under one key (a model, a day, or the total)."""

    key: str
    answers: int = 0
    tokens: Tokens = field(default_factory=lambda: Tokens(0, 0))
    without_usage: int = 0
    costs: list[Cost | None] = field(default_factory=list)

    @property
    def cost(self) -> Cost | None:
        return total_cost(self.costs)

    def add(self, answer: Answer) -> None:
        self.answers += 1
        if answer.tokens is None:
            self.without_usage += 1
        else:
            self.tokens = self.tokens + answer.tokens
        self.costs.append(answer.cost)

    def text(self) -> str:
        """``3 answers · 1,204 in · 356 out · $0.0041``."""
        parts = [f"{count(self.answers)} answer{'s' if self.answers != 1 else ''}"]
        parts += [f"{count(self.tokens.prompt)} in", f"{count(self.tokens.completion)} out"]
        if self.without_usage:
            parts.append(f"{count(self.without_usage)} without usage")
        cost = self.cost
        if cost is not None:
            parts.append(usd(cost))
        return " · ".join(parts)

    def to_json(self, key_name: str) -> dict[str, Any]:
        cost = self.cost
        return {
            key_name: self.key,
            "answers": self.answers,
            "prompt_tokens": self.tokens.prompt,
            "completion_tokens": self.tokens.completion,
            "total_tokens": self.tokens.total,
            "answers_without_usage": self.without_usage,
            "cost_usd": float(cost.usd) if cost is not None else None,
            "cost_approximate": cost.approximate if cost is not None else None,
        }


def summarize(key: str, facts: Iterable[Answer]) -> Row:
    row = Row(key)
    for answer in facts:
        row.add(answer)
    return row


def group(facts: Iterable[Answer], by: str) -> list[Row]:
    """Rows by model (most answers first) or by day (oldest first)."""
    rows: dict[str, Row] = {}
    for answer in facts:
        key = answer.model if by == "model" else answer.at[:10]
        rows.setdefault(key, Row(key)).add(answer)
    if by == "model":
        return sorted(rows.values(), key=lambda r: (-r.answers, r.key))
    return [rows[k] for k in sorted(rows)]


def stats_table(rows: list[Row], total: Row, by: str) -> str:
    """An aligned table with a TOTAL line."""
    header = ("MODEL" if by == "model" else "DAY (UTC)", "ANSWERS", "IN", "OUT", "COST")
    lines = [header] + [_cells(r) for r in rows] + [_cells(total)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip() + "\n")
    return "".join(out)


def _cells(row: Row) -> tuple[str, str, str, str, str]:
    cost = row.cost
    return (
        row.key,
        count(row.answers),
        count(row.tokens.prompt),
        count(row.tokens.completion),
        usd(cost) if cost is not None else "-",
    )


_SINCE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def since_cutoff(value: str, now: datetime | None = None) -> str:
    """``7d``, ``24h``, ``30m``, ``2w`` or an ISO date/time -> a UTC ISO cutoff string."""
    now = now or datetime.now(UTC)
    match = _SINCE.match(value.strip())
    if match:
        moment = now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    else:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"invalid --since {value!r}: use a span like 7d, 24h, 30m, 2w or a date "
                "like 2026-11-01"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def conversation_usage(conv: Conversation, prices: Mapping[str, Any]) -> str:
    """chat's /usage: the last answer's line and the conversation's total."""
    facts = answers(conv, prices)
    if not facts:
        return "(no answers yet)\n"
    last = facts[-1]
    line = usage_line(conv.messages[last.index].usage, last.cost, last.total_ms)
    return f"last answer:  {line}\nconversation: {summarize('total', facts).text()}\n"
