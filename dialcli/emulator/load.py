"""Deployments for load: a fixed latency, and a limit on requests in flight.

``dial batch`` and ``dial ask`` with several ``-m`` are tested and measured against
these. ``limited`` refuses what is over its limit the way DIAL Core reports a limit
hit: 429 with a ``Retry-After`` header (epam/ai-dial-core ``docs/error_codes.md``,
"429 TOO MANY REQUESTS": "A Retry-After header may be included to this response to
indicate how long a client should wait"). ``GET /emulator/load`` shows what each saw
(in flight now, the most at once, served, refused); ``DELETE`` starts the counts anew.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aidial_sdk import DIALApp
from aidial_sdk import HTTPException as DIALException
from aidial_sdk.chat_completion import ChatCompletion, Request, Response
from fastapi.responses import JSONResponse

from dialcli.emulator.basic import stream_text
from dialcli.emulator.catalog import Entry
from dialcli.emulator.text import last_user_text

DEFAULT_LATENCY = 0.5
DEFAULT_LIMIT = 4
RETRY_AFTER = "1"


@dataclass
class LoadSettings:
    latency: float = DEFAULT_LATENCY  # seconds before the first token
    limit: int = DEFAULT_LIMIT  # requests in flight that ``limited`` accepts


@dataclass
class Counts:
    in_flight: int = 0
    peak: int = 0  # the most requests inside the deployment at once (refused included)
    served: int = 0
    refused: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Latency(ChatCompletion):
    """Echo after a fixed latency; with ``limit``, refuses requests over it (429)."""

    latency: float
    limit: int | None = None
    counts: Counts = field(default_factory=Counts)

    async def chat_completion(self, request: Request, response: Response) -> None:
        counts = self.counts
        counts.in_flight += 1
        counts.peak = max(counts.peak, counts.in_flight)
        try:
            if self.limit is not None and counts.in_flight > self.limit:
                counts.refused += 1
                # Raised before the first chunk: a real 429 status, not an error event.
                raise DIALException(
                    f"Too many requests in flight: the limit is {self.limit} (emulator)",
                    status_code=429,
                    type="rate_limit_error",
                    headers={"Retry-After": RETRY_AFTER},
                )
            await asyncio.sleep(self.latency)
            await stream_text(request, response, last_user_text(request))
            counts.served += 1
        finally:
            counts.in_flight -= 1


def deployments(settings: LoadSettings) -> list[tuple[Entry, Latency]]:
    """The load deployments with their listing entries."""
    shown = f"{settings.latency:g} s"
    table = [
        (
            Entry(name, f"Echo after a fixed {shown} (dial-emulator --latency)."),
            Latency(settings.latency),
        )
        for name in ("latency", "latency-2", "latency-3")
    ]
    limited = Latency(settings.latency, settings.limit)
    description = (
        f"Echo after {shown}; over {settings.limit} requests in flight (--limit) "
        f"it answers 429 with Retry-After: {RETRY_AFTER}."
    )
    table.append((Entry("limited", description), limited))
    return table


def add_load_routes(app: DIALApp, table: list[tuple[Entry, Latency]]) -> None:
    """``/emulator/load``: the counts of each load deployment, and their reset."""
    by_id = {entry.id: impl for entry, impl in table}

    @app.get("/emulator/load")
    async def load_counts() -> JSONResponse:
        return JSONResponse({name: impl.counts.to_json() for name, impl in by_id.items()})

    @app.delete("/emulator/load")
    async def reset_counts() -> JSONResponse:
        for impl in by_id.values():
            impl.counts = Counts(in_flight=impl.counts.in_flight)
        return JSONResponse({})
