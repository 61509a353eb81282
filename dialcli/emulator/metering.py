"""Deployments that are priced, limited and count tokens, and Core's limits endpoint.

- ``priced``: token pricing, ``tokenize`` and ``truncate_prompt`` (features say so),
  configured rate limits, and ``max_prompt_tokens`` honoured with
  ``statistics.discarded_messages``; it answers as model ``priced-2025-01``.
- ``priced-chars``: priced per character without whitespace; no tokenize, no limits.

Tokens are the emulator's words (``text.prompt_tokens``), so ``tokenize`` of a request
equals the ``prompt_tokens`` its answer reports. How an aidial-sdk application offers
these endpoints: ``aidial_sdk/deployment/tokenize.py`` and ``truncate_prompt.py`` (the
request and response models) and ``ChatCompletion.tokenize``/``truncate_prompt``, whose
routes the sdk registers only when a deployment overrides them; an answer reports
discarded messages with ``Response.set_discarded_messages`` after its choices.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from aidial_sdk import HTTPException as DIALException
from aidial_sdk.chat_completion import ChatCompletion, Request, Response
from aidial_sdk.chat_completion.request import ChatCompletionRequest
from aidial_sdk.deployment.tokenize import (
    TokenizeInputRequest,
    TokenizeRequest,
    TokenizeResponse,
    TokenizeSuccess,
)
from aidial_sdk.deployment.truncate_prompt import (
    TruncatePromptRequest,
    TruncatePromptResponse,
    TruncatePromptSuccess,
)
from aidial_sdk.exceptions import TruncatePromptSystemAndLastUserError
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dialcli.emulator.catalog import Entry
from dialcli.emulator.text import last_user_text, message_text, tokenize

LONG_MAX = 9_223_372_036_854_775_807  # Core's total for a window nobody configured
TOKEN_PRICING = {"unit": "token", "prompt": "0.0000025", "completion": "0.00001"}
CHAR_PRICING = {"unit": "char_without_whitespace", "prompt": "0.0000005", "completion": "0.0000015"}
# Configured windows of `priced` (what a Core role's limits would give this key).
PRICED_LIMITS = {
    "minuteTokenStats": 10_000,
    "dayTokenStats": 1_000_000,
    "hourRequestStats": 100,
    "dayCostStats": 5,
}
_TOKEN_WINDOWS = ("minuteTokenStats", "dayTokenStats", "weekTokenStats", "monthTokenStats")
_REQUEST_WINDOWS = ("hourRequestStats", "dayRequestStats")
_COST_WINDOWS = ("minuteCostStats", "dayCostStats", "weekCostStats", "monthCostStats")


class Meter:
    """What each deployment has used since the emulator started (one key, one user)."""

    def __init__(self) -> None:
        self.tokens: dict[str, int] = defaultdict(int)
        self.requests: dict[str, int] = defaultdict(int)
        self.cost: dict[str, Decimal] = defaultdict(Decimal)

    def record(self, deployment: str, prompt: int, completion: int, price: dict[str, str]) -> None:
        self.requests[deployment] += 1
        self.tokens[deployment] += prompt + completion
        if price.get("unit") == "token":
            cost = Decimal(price["prompt"]) * prompt + Decimal(price["completion"]) * completion
            self.cost[deployment] += cost

    def limits(self, deployment: str, configured: dict[str, int]) -> dict[str, Any]:
        """Core's ``LimitStats``: every window, Long.MAX_VALUE where none is configured."""
        stats: dict[str, Any] = {}
        for window in (*_TOKEN_WINDOWS, *_REQUEST_WINDOWS, *_COST_WINDOWS):
            if window in _TOKEN_WINDOWS:
                used: int | float = self.tokens[deployment]
            elif window in _REQUEST_WINDOWS:
                used = self.requests[deployment]
            else:
                used = float(self.cost[deployment])
            stats[window] = {"total": configured.get(window, LONG_MAX), "used": used}
        return stats


def count_tokens(messages: list[Any]) -> int:
    return sum(len(message_text(m).split()) for m in messages)


def discarded_to_fit(messages: list[Any], limit: int) -> list[int]:
    """Indexes to drop, oldest first, keeping system messages and the last message.

    Fails like aidial-sdk's ``TruncatePromptSystemAndLastUserError`` (400) when what
    must stay is already over the limit.
    """
    keep = {i for i, m in enumerate(messages) if _role(m) == "system"} | {len(messages) - 1}
    kept = count_tokens([messages[i] for i in sorted(keep)])
    if kept > limit:
        raise TruncatePromptSystemAndLastUserError(limit, kept)
    total = count_tokens(messages)
    dropped: list[int] = []
    for i, message in enumerate(messages):
        if total <= limit:
            break
        if i not in keep:
            dropped.append(i)
            total -= count_tokens([message])
    return dropped


def _role(message: Any) -> str:
    role = message.get("role") if isinstance(message, dict) else message.role
    return str(getattr(role, "value", role))


class Metered(ChatCompletion):
    """Echo that is priced, metered, truncates to ``max_prompt_tokens`` and counts tokens."""

    answered_as: str | None = "priced-2025-01"

    def __init__(self, deployment: str, pricing: dict[str, str], meter: Meter) -> None:
        self.deployment = deployment
        self.pricing = pricing
        self.meter = meter

    async def chat_completion(self, request: Request, response: Response) -> None:
        messages = list(request.messages)
        discarded: list[int] = []
        if request.max_prompt_tokens is not None:
            discarded = discarded_to_fit(messages, request.max_prompt_tokens)
        if self.answered_as:
            response.set_model(self.answered_as)
        tokens = tokenize(last_user_text(request))
        with response.create_single_choice() as choice:
            for token in tokens:
                choice.append_content(token)
        if request.max_prompt_tokens is not None:
            # The spec: returned only when max_prompt_tokens was set in the request.
            response.set_discarded_messages(discarded)
        prompt = count_tokens([m for i, m in enumerate(messages) if i not in set(discarded)])
        response.set_usage(prompt, len(tokens))
        self.meter.record(self.deployment, prompt, len(tokens), self.pricing)

    async def tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        outputs: list[Any] = []  # the sdk's lists are invariant: success | error
        for item in request.inputs:
            if isinstance(item, TokenizeInputRequest):
                count = count_tokens(list(item.value.messages))
            else:
                count = len(item.value.split())
            outputs.append(TokenizeSuccess(token_count=count))
        return TokenizeResponse(outputs=outputs)

    async def truncate_prompt(self, request: TruncatePromptRequest) -> TruncatePromptResponse:
        outputs: list[Any] = []  # the sdk's lists are invariant: success | error
        for item in request.inputs:
            outputs.append(TruncatePromptSuccess(discarded_messages=_truncation(item)))
        return TruncatePromptResponse(outputs=outputs)


def _truncation(item: ChatCompletionRequest) -> list[int]:
    limit = item.max_prompt_tokens
    if limit is None:
        return []
    return discarded_to_fit(list(item.messages), limit)


class MeteredChars(ChatCompletion):
    """Echo priced per character: no tokenize endpoint (the sdk registers none)."""

    def __init__(self, deployment: str, pricing: dict[str, str], meter: Meter) -> None:
        self.deployment = deployment
        self.pricing = pricing
        self.meter = meter

    async def chat_completion(self, request: Request, response: Response) -> None:
        tokens = tokenize(last_user_text(request))
        with response.create_single_choice() as choice:
            for token in tokens:
                choice.append_content(token)
        prompt = count_tokens(list(request.messages))
        response.set_usage(prompt, len(tokens))
        self.meter.record(self.deployment, prompt, len(tokens), self.pricing)


def deployments(meter: Meter) -> list[tuple[Entry, ChatCompletion]]:
    """The metered deployments and their listing entries."""
    return [
        (
            Entry(
                "priced",
                "Echo with token prices, rate limits, tokenize and truncate_prompt.",
                features={"tokenize": True, "truncate_prompt": True},
                pricing=TOKEN_PRICING,
                max_total_tokens=8_192,
            ),
            Metered("priced", TOKEN_PRICING, meter),
        ),
        (
            Entry(
                "priced-chars",
                "Echo priced per character without whitespace.",
                pricing=CHAR_PRICING,
            ),
            MeteredChars("priced-chars", CHAR_PRICING, meter),
        ),
    ]


RATE_LIMITS: dict[str, dict[str, int]] = {"priced": PRICED_LIMITS}


def add_limits_route(app: FastAPI, known: set[str], meter: Meter) -> None:
    """``GET /v1/deployments/{id}/limits`` for every deployment, as Core answers it."""

    @app.get("/v1/deployments/{deployment_id:path}/limits")
    async def limits(deployment_id: str) -> JSONResponse:
        if deployment_id not in known:
            raise DIALException(
                f"Deployment {deployment_id} is not found",
                status_code=404,
                type="invalid_request_error",
            )
        return JSONResponse(meter.limits(deployment_id, RATE_LIMITS.get(deployment_id, {})))


_FEATURE_ENDPOINTS = ("tokenize", "truncate_prompt")


class FeatureRoutes:
    """``POST /v1/deployments/{id}/tokenize|truncate_prompt`` as DIAL Core routes them.

    Core forwards these to the deployment's own endpoint (aidial-sdk serves it under
    ``/openai/deployments/{id}/``) and answers 403 "Forbidden deployment" when the
    deployment has none configured, i.e. when its ``features`` flag is false (ai-dial-core
    ``DeploymentFeatureController.handleRequestBody`` with ``requireEndpoint``).
    """

    def __init__(self, app: ASGIApp, features: dict[str, dict[str, bool]]) -> None:
        self.app = app
        self.features = features

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        endpoint = next((e for e in _FEATURE_ENDPOINTS if path.endswith("/" + e)), None)
        if endpoint is None or not path.startswith("/v1/deployments/"):
            await self.app(scope, receive, send)
            return
        deployment = path[len("/v1/deployments/") : -len(endpoint) - 1]
        features = self.features.get(deployment)
        if features is None:
            status, message = 404, f"Deployment {deployment} is not found"
        elif not features.get(endpoint):
            status, message = 403, "Forbidden deployment"
        else:
            target = f"/openai/deployments/{deployment}/{endpoint}"
            await self.app({**scope, "path": target, "raw_path": target.encode()}, receive, send)
            return
        body = {"error": {"message": message, "type": "invalid_request_error", "code": str(status)}}
        await JSONResponse(body, status_code=status)(scope, receive, send)
