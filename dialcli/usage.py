"""Usage, prices, cost and limits: pure arithmetic and wording, no I/O.

Shapes follow DIAL Core's OpenAPI spec (epam/ai-dial-core ``docs/open_api_core.yaml``):

- an answer's ``usage`` is ``{prompt_tokens, completion_tokens, total_tokens}``;
- a listing's ``pricing`` is ``{unit, prompt, completion}``, the prices USD per unit as
  decimal *strings*; ``unit`` is ``token`` or ``char_without_whitespace``;
- ``GET /v1/deployments/{id}/limits`` answers ``LimitStats``: windows such as
  ``minuteTokenStats`` of ``{total, used, resetsAt?}``. Core reports a window nobody
  configured with ``total`` = Long.MAX_VALUE (its ``LimitApiTest``), so only a window
  with a real total counts as configured.

Cost is never stored: it is computed from the saved usage when shown, so history is
re-priced when prices change. It is never guessed either: no price, or a price that does
not parse, means no cost at all. A character price is billed by DIAL on the characters
of the request and the answer without whitespace (Core's ``ModelCostCalculator``); we
count them from the saved text, which is close but not exact, so such a cost is marked
approximate, as is a total that lacks the usage of some answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where prices are read: decimal costs every `dial ask` ~5 ms
    from decimal import Decimal

TOKEN = "token"
CHARS = "char_without_whitespace"
# Long.MAX_VALUE, as JSON numbers arrive (DIAL Chat sees 9223372036854776000 in JS).
UNLIMITED = 9_000_000_000_000_000_000


@dataclass(frozen=True)
class Tokens:
    """The token counts of one answer (or a sum of several)."""

    prompt: int
    completion: int

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    @classmethod
    def of(cls, usage: Mapping[str, Any] | None) -> Tokens | None:
        """From an answer's ``usage``; None when absent or not numbers."""
        if not isinstance(usage, Mapping):
            return None
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if not _count(prompt) or not _count(completion):
            return None
        return cls(int(prompt), int(completion))  # type: ignore[arg-type]

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(self.prompt + other.prompt, self.completion + other.completion)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Pricing:
    unit: str
    prompt: Decimal  # USD per unit
    completion: Decimal

    @classmethod
    def of(cls, pricing: Any) -> Pricing | None:
        """From a listing's ``pricing``; None when absent, unknown or not numbers.

        A missing ``unit`` means tokens, as DIAL Chat reads it; any other unit
        (``none`` switches cost tracking off in Core's config) prices nothing.
        """
        if not isinstance(pricing, Mapping):
            return None
        unit = pricing.get("unit") or TOKEN
        if unit not in (TOKEN, CHARS):
            return None
        prompt, completion = _price(pricing.get("prompt")), _price(pricing.get("completion"))
        if prompt is None or completion is None:
            return None
        return cls(str(unit), prompt, completion)

    @property
    def unit_name(self) -> str:
        return "token" if self.unit == TOKEN else "character (no whitespace)"


def _price(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    from decimal import Decimal, InvalidOperation

    try:
        price = Decimal(str(value))
    except InvalidOperation:
        return None
    return price if price.is_finite() and price >= 0 else None


@dataclass(frozen=True)
class Cost:
    usd: Decimal
    approximate: bool = False

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.usd + other.usd, self.approximate or other.approximate)


def chars_without_whitespace(text: str) -> int:
    """The billing unit of ``char_without_whitespace`` prices."""
    return sum(1 for ch in text if not ch.isspace())


def answer_cost(
    pricing: Pricing | None,
    usage: Mapping[str, Any] | None,
    *,
    prompt_text: str = "",
    answer_text: str = "",
) -> Cost | None:
    """The cost of one answer, or None when it cannot be known.

    Token prices need the answer's usage; character prices count the text sent
    (``prompt_text``: every message of the request) and the answer, approximately.
    """
    if pricing is None:
        return None
    if pricing.unit == TOKEN:
        tokens = Tokens.of(usage)
        if tokens is None:
            return None
        return Cost(pricing.prompt * tokens.prompt + pricing.completion * tokens.completion)
    prompt = chars_without_whitespace(prompt_text)
    answer = chars_without_whitespace(answer_text)
    return Cost(pricing.prompt * prompt + pricing.completion * answer, approximate=True)


def total_cost(costs: Iterable[Cost | None]) -> Cost | None:
    """The sum of what is known; approximate when any part is, or is missing."""
    total: Cost | None = None
    missing = False
    for cost in costs:
        if cost is None:
            missing = True
        else:
            total = cost if total is None else total + cost
    if total is None:
        return None
    return Cost(total.usd, total.approximate or missing) if missing else total


# -- wording --------------------------------------------------------------------------


def count(n: int) -> str:
    """1204 -> "1,204"."""
    return f"{n:,}"


def usd(cost: Cost) -> str:
    """Cents from a dollar up, else two significant digits ($0.0041, $0.000075): small
    costs keep their size, and a non-zero cost is never shown as $0."""
    value = cost.usd
    sign = "~" if cost.approximate else ""
    if value == 0:
        return f"{sign}$0"
    if value >= 1:
        return f"{sign}${value:,.2f}"
    digits = max(2, -value.adjusted() + 1)
    return f"{sign}${value:.{digits}f}"


def seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


def usage_line(
    usage: Mapping[str, Any] | None, cost: Cost | None, total_ms: float | None = None
) -> str:
    """One line: ``1,204 in · 356 out · $0.0041 · 2.3 s`` (parts unknown are left out)."""
    tokens = Tokens.of(usage)
    parts = (
        [f"{count(tokens.prompt)} in", f"{count(tokens.completion)} out"]
        if tokens is not None
        else ["usage not reported"]
    )
    if cost is not None:
        parts.append(usd(cost))
    if total_ms is not None:
        parts.append(seconds(total_ms))
    return " · ".join(parts)


# -- long conversations ---------------------------------------------------------------


def dropped_turns(discarded: Iterable[Any], messages: Sequence[Mapping[str, Any]]) -> list[int]:
    """The turns (1-based, one per user message) whose messages the deployment left out.

    ``discarded`` are indexes into the request's ``messages`` (``statistics.
    discarded_messages``); an answer belongs to the turn of the question before it. A
    discarded system prompt is no turn.
    """
    turn_of: list[int] = []
    turn = 0
    for message in messages:
        if message.get("role") == "user":
            turn += 1
        turn_of.append(turn if message.get("role") != "system" else 0)
    turns = {
        turn_of[i] for i in discarded if isinstance(i, int) and 0 <= i < len(turn_of) and turn_of[i]
    }
    return sorted(turns)


def ranges(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 5] -> "1-3, 5"."""
    spans: list[list[int]] = []
    for n in sorted(set(numbers)):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def dropped_notice(turns: Sequence[int], limit: int) -> str:
    """``dropped turns 1-3 to fit 8,000 tokens``."""
    word = "turn" if len(turns) == 1 else "turns"
    return f"dropped {word} {ranges(turns)} to fit {count(limit)} tokens"


# -- limits ---------------------------------------------------------------------------

WINDOWS: tuple[tuple[str, str], ...] = (
    ("minuteTokenStats", "tokens per minute"),
    ("dayTokenStats", "tokens per day"),
    ("weekTokenStats", "tokens per week"),
    ("monthTokenStats", "tokens per month"),
    ("hourRequestStats", "requests per hour"),
    ("dayRequestStats", "requests per day"),
    ("minuteCostStats", "cost per minute"),
    ("dayCostStats", "cost per day"),
    ("weekCostStats", "cost per week"),
    ("monthCostStats", "cost per month"),
)


@dataclass(frozen=True)
class Window:
    """One configured limit window of a deployment."""

    key: str
    label: str
    used: Decimal
    total: Decimal
    resets_at: str | None = None

    @property
    def percent(self) -> float:
        return float(self.used * 100 / self.total)

    @property
    def is_cost(self) -> bool:
        return self.key.endswith("CostStats")

    def amount(self, value: Decimal) -> str:
        if self.is_cost:
            return usd(Cost(value))
        return count(int(value))

    def to_json(self) -> dict[str, Any]:
        return {
            "window": self.key,
            "used": _plain_number(self.used),
            "total": _plain_number(self.total),
            "percent": round(self.percent, 2),
            "resets_at": self.resets_at,
        }


def _plain_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def configured_windows(limits: Any) -> list[Window]:
    """The windows of a ``LimitStats`` document that have a real limit, in a fixed order.

    Absent windows, the Long.MAX_VALUE sentinel and a zero total (which DIAL Chat also
    leaves out) are not configured limits.
    """
    if not isinstance(limits, Mapping):
        return []
    from decimal import Decimal

    windows = []
    for key, label in WINDOWS:
        stats = limits.get(key)
        if not isinstance(stats, Mapping):
            continue
        total, used = _price(stats.get("total")), _price(stats.get("used"))
        if total is None or total <= 0 or total >= UNLIMITED:
            continue
        resets = stats.get("resetsAt")
        resets_at = resets if isinstance(resets, str) else None
        windows.append(Window(key, label, used or Decimal(0), total, resets_at))
    return windows


def window_line(window: Window) -> str:
    """``tokens per minute   1,204 of 10,000  (12.0%)``."""
    used = f"{window.amount(window.used)} of {window.amount(window.total)}"
    line = f"{window.label:<18} {used:<20} {window.percent:5.1f}%"
    if window.resets_at:
        line += f"  resets {window.resets_at}"
    return line


# -- prices and limits in `dial models` -----------------------------------------------


def price_text(pricing: Pricing) -> str:
    """``$2.50 / $10.00 per 1M tokens`` (in / out), or per 1M characters."""
    from decimal import Decimal

    per = "1M tokens" if pricing.unit == TOKEN else "1M characters (no whitespace)"
    million = Decimal(1_000_000)
    prompt = _trim(pricing.prompt * million)
    completion = _trim(pricing.completion * million)
    return f"${prompt} in / ${completion} out per {per}"


def _trim(value: Decimal) -> str:
    """At least cents, more digits only where the price has them: 2.5 -> 2.50."""
    whole, _, frac = f"{value:f}".partition(".")
    frac = frac.rstrip("0")
    return f"{whole}.{frac:0<2}"


def token_limits_text(limits: Any) -> str:
    """``128,000 total · 64,000 prompt · 4,096 completion`` from a listing's ``limits``."""
    if not isinstance(limits, Mapping):
        return ""
    parts = []
    for key, name in (
        ("max_total_tokens", "total"),
        ("max_prompt_tokens", "prompt"),
        ("max_completion_tokens", "completion"),
    ):
        value = limits.get(key)
        if isinstance(value, int) and _count(value):
            parts.append(f"{count(value)} {name}")
    return " · ".join(parts)
