"""Model-style deployments: plain answers, slow and long streams, failures on demand."""

from __future__ import annotations

import asyncio
import json
import re

from aidial_sdk import HTTPException as DIALException
from aidial_sdk.chat_completion import ChatCompletion, FinishReason, Request, Response
from aidial_sdk.chat_completion.chunks import BaseChunk

from dialcli.emulator.text import last_user_text, prompt_tokens, tokenize


async def stream_text(
    request: Request, response: Response, text: str, *, delay: float = 0.0
) -> None:
    """Answer ``text`` token by token in one choice, then report usage."""
    tokens = tokenize(text)
    with response.create_single_choice() as choice:
        for token in tokens:
            if delay:
                await asyncio.sleep(delay)
            choice.append_content(token)
    response.set_usage(prompt_tokens(request), len(tokens))


class Echo(ChatCompletion):
    """Streams the last user message back, token by token."""

    async def chat_completion(self, request: Request, response: Response) -> None:
        await stream_text(request, response, last_user_text(request))


class Slow(ChatCompletion):
    """Like echo, with ~50 ms before each token (for Ctrl-C and timeout tests)."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay

    async def chat_completion(self, request: Request, response: Response) -> None:
        await stream_text(request, response, last_user_text(request), delay=self.delay)


class Long(ChatCompletion):
    """Tens of thousands of tokens: "word1 word2 ..."; a prompt "N" asks for N words."""

    default_words = 30_000

    async def chat_completion(self, request: Request, response: Response) -> None:
        prompt = last_user_text(request).strip()
        count = int(prompt) if prompt.isdecimal() else self.default_words
        with response.create_single_choice() as choice:
            for i in range(1, count + 1):
                choice.append_content(f"word{i}" if i == 1 else f" word{i}")
                if i % 1000 == 0:
                    # Let the response task drain the queue so memory stays flat.
                    await asyncio.sleep(0)
        response.set_usage(prompt_tokens(request), count)


class Inspect(ChatCompletion):
    """Answers with one token: the JSON of what the request carried (never the key)."""

    async def chat_completion(self, request: Request, response: Response) -> None:
        # The raw body (cached by Starlette) shows the messages exactly as sent,
        # unknown fields included, which the parsed model would normalise.
        body = await request.original_request.json()
        report = {
            "messages": body.get("messages"),
            "temperature": body.get("temperature"),
            "max_tokens": body.get("max_tokens"),
            "custom_fields": body.get("custom_fields"),
            "headers": {
                "api-version": request.api_version,
                # DIAL Chat sends it with every completion; Core logs it.
                "x-conversation-id": request.original_request.headers.get("x-conversation-id"),
            },
            "stream": bool(request.stream),
        }
        text = json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        with response.create_single_choice() as choice:
            choice.append_content(text)
        response.set_usage(prompt_tokens(request), 1)


# status -> (message, type, extra headers). Raised before the first chunk, so the
# sdk answers with the real HTTP status and DIAL's error JSON even when streaming.
FAILURES: dict[int, tuple[str, str, dict[str, str]]] = {
    400: ("Bad request (emulator)", "invalid_request_error", {}),
    403: ("Access to this deployment is denied (emulator)", "invalid_request_error", {}),
    429: (
        "Rate limit exceeded (emulator)",
        "rate_limit_error",
        {"Retry-After": "1", "retry-after-ms": "1000"},
    ),
    500: ("Internal server error (emulator)", "runtime_error", {}),
    503: ("Service unavailable (emulator)", "runtime_error", {}),
}


class Fail(ChatCompletion):
    """Always fails with ``status`` before streaming starts."""

    def __init__(self, status: int) -> None:
        self.status = status

    async def chat_completion(self, request: Request, response: Response) -> None:
        message, kind, headers = FAILURES[self.status]
        raise DIALException(
            message, status_code=self.status, type=kind, headers=dict(headers) or None
        )


class Midstream(ChatCompletion):
    """Streams a few tokens, then fails: a 200 whose stream carries an error event."""

    tokens_before_failure = 3

    async def chat_completion(self, request: Request, response: Response) -> None:
        text = last_user_text(request) or "partial answer before failure"
        with response.create_single_choice() as choice:
            for token in tokenize(text)[: self.tokens_before_failure]:
                choice.append_content(token)
            # Let the tokens leave before the error, as a real upstream failure would.
            await asyncio.sleep(0.01)
            raise DIALException("Upstream failed mid-stream (emulator)", status_code=503)


_FAIL_PREFIX = re.compile(r"^fail (\d+):\s?")


class Flaky(ChatCompletion):
    """Fails the first K requests per prompt text, then echoes (see docs/emulator.md).

    ``fail N: rest`` sets K=N (default 1) and the answer is ``rest``; a ``rest``
    starting with "429" fails with 429 and ``Retry-After: 0``, anything else with 503.
    """

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}

    async def chat_completion(self, request: Request, response: Response) -> None:
        text = last_user_text(request)
        match = _FAIL_PREFIX.match(text)
        limit = int(match.group(1)) if match else 1
        rest = text[match.end() :] if match else text
        done = self.failures.get(text, 0)
        if done < limit:
            self.failures[text] = done + 1
            where = f"(emulator flaky, failure {done + 1} of {limit})"
            if rest.startswith("429"):
                raise DIALException(
                    f"Rate limit exceeded {where}",
                    status_code=429,
                    type="rate_limit_error",
                    headers={"Retry-After": "0", "retry-after-ms": "0"},
                )
            raise DIALException(f"Service unavailable {where}", status_code=503)
        await stream_text(request, response, rest)


class Cut(ChatCompletion):
    """Streams part of an answer, then stops with ``finish_reason`` (see FinishReason.yaml
    in epam/ai-dial-core: stop, length, function_call, tool_calls, content_filter)."""

    def __init__(self, reason: FinishReason, default: str, refusal: str | None = None) -> None:
        self.reason = reason
        self.default = default
        self.refusal = refusal

    async def chat_completion(self, request: Request, response: Response) -> None:
        text = last_user_text(request) or self.default
        limit = request.max_tokens or 3
        tokens = tokenize(text)[:limit]
        with response.create_single_choice() as choice:
            for token in tokens:
                choice.append_content(token)
            if self.refusal is not None:
                choice.send_chunk(RefusalChunk(self.refusal, choice.index))
            choice.close(self.reason)
        response.set_usage(prompt_tokens(request), len(tokens))


class RefusalChunk(BaseChunk):
    """``delta.refusal``: the model's reason for not answering (OpenAI's field)."""

    def __init__(self, refusal: str, choice_index: int) -> None:
        self.refusal = refusal
        self.choice_index = choice_index

    def to_dict(self) -> dict[str, object]:
        choice = {"index": self.choice_index, "finish_reason": None}
        return {"choices": [{**choice, "delta": {"refusal": self.refusal}}], "usage": None}
