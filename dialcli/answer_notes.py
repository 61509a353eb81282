"""An answer just received: what dial says on stderr after it (the turns the
deployment left out; with ``-u`` the usage line), and its cost (``-u``, ``--json``).

Apart from ``usage_report`` (saved answers), and with the price arithmetic imported
only when there is something to say: this runs after every ``dial ask``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialcli.backends.base import Backend, Reply
    from dialcli.config import Settings
    from dialcli.output import IOStreams
    from dialcli.usage import Cost


def after_answer(
    io: IOStreams,
    settings: Settings,
    backend: Backend,
    reply: Reply,
    *,
    max_prompt_tokens: int | None,
    show_usage: bool,
    label: str = "",
) -> None:
    """On stderr: the turns the deployment left out (always), and with ``-u`` the
    answer's usage line (``1,204 in · 356 out · $0.0041 · 2.3 s``); ``label`` names
    the model when several answered (``priced: 2 in · …``)."""
    named = f"{label}: " if label else ""
    dropped = dropped_line(reply.statistics, reply.sent or [], max_prompt_tokens)
    if dropped:
        io.err(f"dial: {named}{dropped}")
    if show_usage:
        from dialcli.usage import usage_line

        total = (reply.latency_ms or {}).get("total")
        io.err(named + usage_line(reply.usage, cost_of(reply, backend, settings), total))


def dropped_line(
    statistics: Any, messages: Sequence[Mapping[str, Any]], limit: int | None
) -> str | None:
    """``dropped turns 1-3 to fit 8,000 tokens`` when the answer says messages were left
    out (``statistics.discarded_messages``); None otherwise."""
    if limit is None or not isinstance(statistics, Mapping):
        return None
    discarded = statistics.get("discarded_messages")
    if not isinstance(discarded, list) or not discarded:
        return None
    from dialcli.usage import count, dropped_notice, dropped_turns

    turns = dropped_turns(discarded, messages)
    if not turns:  # only a system prompt: no turn to name
        return f"dropped {count(len(discarded))} message(s) to fit {count(limit)} tokens"
    return dropped_notice(turns, limit)


def request_text(messages: Iterable[Mapping[str, Any]]) -> str:
    """The text of a request's messages, for character prices (text parts joined)."""
    texts = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [p.get("text") or "" for p in content if isinstance(p, dict)]
    return "\n".join(texts)


def reply_cost(
    model: str,
    usage: Mapping[str, Any] | None,
    messages: Iterable[Mapping[str, Any]],
    answer: str,
    prices: Mapping[str, Any],
) -> Cost | None:
    """The cost of an answer to ``messages`` from deployment ``model`` at ``prices``."""
    from dialcli.usage import Pricing, answer_cost

    return answer_cost(
        Pricing.of(prices.get(model)),
        usage,
        prompt_text=request_text(messages),
        answer_text=answer,
    )


def cost_of(reply: Reply, backend: Backend, settings: Settings) -> Cost | None:
    """The cost of an answer just received, at the listing's prices (cached, or listed
    again through ``backend`` when stale)."""
    from dialcli import model_cache

    prices = model_cache.prices_via(backend, settings)
    return reply_cost(reply.model, reply.usage, reply.sent or [], reply.content, prices)
