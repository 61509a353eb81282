"""The sdk backend's async twin: aidial-client's ``AsyncDial``, kept in line like ``Dial``.

The same overrides as ``backends/sdk.py`` (see its docstring): no library retries (the
``Runner`` retries), our timeouts and headers, errors mapped by ``sdk_errors`` from the
chained originals. Many requests share one backend here, so the response of each
attempt is kept per task (a context variable), not on the backend.

Imported only when the sdk backend is chosen: ``import aidial_client`` loads openai.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

import httpx
import orjson
from aidial_client import AsyncDial
from openai import Omit

from dialcli import __version__
from dialcli.backends.base import ChatRequest, Delta, Reply
from dialcli.backends.replies import (
    ChunkParser,
    not_an_event_stream,
    reply_from_completion,
)
from dialcli.backends.sdk import as_sent
from dialcli.backends.sdk_errors import map_error, not_json_error
from dialcli.backends.transport import tls_verify
from dialcli.config import Settings
from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.engine.base import AsyncBackend
from dialcli.errors import DialError, ServerError

_USER_AGENT = f"dial/{__version__}"


def _private_async_client() -> Any | None:
    """aidial-client's AsyncHTTPClient, on the version backends/sdk.py checked, else None.

    It hands AsyncDial an httpx.AsyncClient of our own (otherwise AsyncDial builds its
    own, loading the CA bundle even for plain http). Chat goes through our client
    either way (openai's public with_options), which is all the engine asks of AsyncDial.
    """
    from dialcli.backends.sdk import PRIVATE_API

    if PRIVATE_API is None:  # not the checked version: keep to public APIs
        return None
    try:
        from aidial_client._http_client import AsyncHTTPClient
    except ImportError:
        return None
    return AsyncHTTPClient


PRIVATE_ASYNC_CLIENT = _private_async_client()
_OPENAI_EXTRA_HEADERS = ("x-stainless-retry-count", "x-stainless-read-timeout")

# The responses this task's current attempt received (the hook appends): tells "no
# answer at all" from "answer broke off", and gives the headers.
_RESPONSES: ContextVar[list[httpx.Response] | None] = ContextVar("dial_responses", default=None)


class AsyncSdkBackend(AsyncBackend):
    name = "sdk"

    def __init__(self, settings: Settings, log: DebugLog = NO_LOG, *, connections: int = 8) -> None:
        self._settings = settings
        self._log = log
        # One credential: a bearer token wins over the key (DIAL refuses both).
        self._token = settings.token
        self._key = None if self._token else settings.require_key()
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=None,  # waiting for a free connection is the Pacer's business
        )
        self._client = httpx.AsyncClient(
            headers={"User-Agent": _USER_AGENT},
            verify=tls_verify(settings.url),
            timeout=timeout,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )
        self._http: Any = None  # the library's HTTP client, where the private API is usable
        extra: dict[str, Any] = {}
        if PRIVATE_ASYNC_CLIENT is not None:
            self._http = extra["http_client"] = PRIVATE_ASYNC_CLIENT(
                base_url=settings.url,
                api_key=self._key,
                bearer_token=self._token,
                max_retries=0,
                timeout=timeout,
                internal_http_client=self._client,
            )
        self._dial = AsyncDial(
            base_url=settings.url,
            api_key=self._key,
            bearer_token=self._token,
            max_retries=0,
            timeout=timeout,
            api_version=settings.api_version,
            **extra,
        )
        completions = self._dial.chat.completions
        # Our client, no retries (the Runner retries) and our timeout, through openai's
        # public API, set again so a library change cannot bring retries back.
        completions.openai_client = completions.openai_client.with_options(
            max_retries=0, timeout=timeout, http_client=self._client
        )
        self._headers: dict[str, Any] = {"User-Agent": _USER_AGENT, "Accept": Omit()}
        for name in [*completions.openai_client.default_headers, *_OPENAI_EXTRA_HEADERS]:
            if name.lower().startswith("x-stainless"):
                self._headers[name] = Omit()

    async def aclose(self) -> None:
        await self._dial.aclose()
        await self._client.aclose()  # AsyncDial's own, on the public path; closing is idempotent

    async def _on_request(self, request: httpx.Request) -> None:
        self._log.request(request)

    async def _on_response(self, response: httpx.Response) -> None:
        seen = _RESPONSES.get()
        if seen is not None:
            seen.append(response)
        self._log.response(response)
        if _is_event_stream(response):
            return
        await response.aread()
        if self._log.enabled:
            self._log(f"< {response.content.decode('utf-8', 'replace')}", timed=True)

    def _error(self, err: Exception, model: str, *, started: bool) -> DialError:
        # A key the server echoes is masked by DialError itself (registered when built).
        return map_error(err, self._settings, model=model, started=started)

    async def _create(self, request: ChatRequest, *, stream: bool) -> Any:
        return await self._dial.chat.completions.create(
            deployment_name=quote(request.model, safe="/"),
            messages=request.messages,  # type: ignore[arg-type]  # plain dicts, as sent
            stream=stream,  # type: ignore[call-overload]
            api_version=self._settings.api_version,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            custom_fields=request.custom_fields or None,  # type: ignore[arg-type]
            extra_body={"model": Omit()},
            extra_headers={**self._headers, **request.headers()},
        )

    async def _open(
        self, request: ChatRequest, *, stream: bool
    ) -> tuple[Any, httpx.Response | None]:
        seen: list[httpx.Response] = []
        _RESPONSES.set(seen)
        try:
            result = await self._create(request, stream=stream)
        # The library's failure modes are not enumerable (openai, httpx, pydantic, and
        # its own catch-alls), and only DialError may leave a backend.
        except Exception as err:
            raise self._error(err, request.model, started=bool(seen)) from None
        return result, seen[-1] if seen else None

    async def astream(self, request: ChatRequest) -> AsyncIterator[Delta]:
        chunks, response = await self._open(request, stream=True)
        try:
            if response is not None and not _is_event_stream(response):
                await response.aread()
                content_type = response.headers.get("content-type", "")
                raise not_an_event_stream(content_type, response.content)
            async for delta in self._decode(chunks, request.model):
                yield delta
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()
            if response is not None:
                await response.aclose()

    async def _decode(self, chunks: Any, model: str) -> AsyncIterator[Delta]:
        """The sync backends' chunk parser (``replies.ChunkParser``), fed per chunk."""
        parser = ChunkParser()
        iterator = chunks.__aiter__()
        while not parser.done:
            try:
                chunk = await iterator.__anext__()
            except StopAsyncIteration:
                break
            except Exception as err:  # see _open
                raise self._error(err, model, started=True) from None
            data = as_sent(chunk)
            if self._log.enabled:
                self._log(f"< chunk: {orjson.dumps(data).decode()}", timed=True)
            for delta in parser.feed([data]):
                yield delta
        parser.end()

    async def acomplete(self, request: ChatRequest) -> Reply:
        completion, response = await self._open(request, stream=False)
        if not hasattr(completion, "model_dump"):
            # openai goes by the reply's content type: a stream comes back as chunks.
            close = getattr(completion, "aclose", None)
            if close is not None:
                await close()
            if response is None:
                raise ServerError("unexpected reply from the server: not a JSON object")
            raise not_json_error(response)
        return reply_from_completion(as_sent(completion), request.model)


def _is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")
