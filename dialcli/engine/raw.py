"""The raw backend's async twin: ``httpx.AsyncClient`` and our SSE decoder.

Same URL, headers, body, chunk parsing and error wording as ``backends/raw.py``
(shared through ``backends/replies.py`` and ``backends/transport.py``); one attempt
per call, the ``Runner`` retries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import orjson

from dialcli import __version__
from dialcli.backends.base import ChatRequest, Delta, Reply
from dialcli.backends.replies import (
    ChunkParser,
    error_message_from_body,
    http_error,
    not_an_event_stream,
    not_json,
    reply_from_completion,
    tls_error,
)
from dialcli.backends.retry import ConnectFailed, parse_retry_after
from dialcli.backends.transport import (
    MAX_ERROR_BODY,
    is_tls_failure,
    reason,
    timeout_error,
    tls_verify,
)
from dialcli.config import Settings
from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.engine.base import AsyncBackend
from dialcli.errors import NetworkError, ServerError
from dialcli.sse import SSEDecoder


class AsyncRawBackend(AsyncBackend):
    name = "raw"

    def __init__(self, settings: Settings, log: DebugLog = NO_LOG, *, connections: int = 8) -> None:
        self._settings = settings
        self._log = log
        version = settings.api_version
        self._params = {"api-version": version} if version else {}
        self._client = httpx.AsyncClient(
            base_url=settings.url,
            headers=dict([settings.auth_header(), ("User-Agent", f"dial/{__version__}")]),
            verify=tls_verify(settings.url),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=None,  # waiting for a free connection is the Pacer's business
            ),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _chat_request(self, request: ChatRequest, *, stream: bool) -> httpx.Request:
        # A deployment id may contain '/', e.g. applications/public/gpt-4o.
        url = f"/openai/deployments/{quote(request.model, safe='/')}/chat/completions"
        return self._client.build_request(
            "POST",
            url,
            params=self._params,
            content=orjson.dumps(request.body(stream=stream)),
            headers={"Content-Type": "application/json", **request.headers()},
        )

    async def _open(self, request: httpx.Request, model: str) -> httpx.Response:
        """Send, and return a 2xx response with its body unread; errors mapped."""
        self._log.request(request)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except (httpx.ConnectError, httpx.RemoteProtocolError) as err:
            if is_tls_failure(err):
                raise tls_error(self._settings.url, err) from None
            raise ConnectFailed(
                f"cannot reach DIAL at {self._settings.url}: {reason(err)}"
            ) from None
        except httpx.TransportError as err:
            raise NetworkError(f"network error: {reason(err)}") from None
        if self._log.enabled:
            self._log.response(response)
        if response.is_success:
            return response
        try:
            body = await _read_limited(response)
        finally:
            await response.aclose()
        raise http_error(
            response.status_code,
            error_message_from_body(body, response.headers.get("content-type", "")),
            model=model,
            retry_after=parse_retry_after(dict(response.headers)),
        )

    async def astream(self, request: ChatRequest) -> AsyncIterator[Delta]:
        response = await self._open(self._chat_request(request, stream=True), request.model)
        try:
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                raise not_an_event_stream(content_type, await _read_limited(response))
            async for delta in self._decode(response):
                yield delta
        finally:
            await response.aclose()

    async def _decode(self, response: httpx.Response) -> AsyncIterator[Delta]:
        """The sync backends' chunk parser (``replies.ChunkParser``), fed per read."""
        decoder = SSEDecoder()
        parser = ChunkParser()
        try:
            async for chunk in response.aiter_bytes():
                payloads = decoder.feed_data(chunk)
                if self._log.enabled:
                    for data in payloads:
                        self._log(f"< data: {data.decode('utf-8', 'replace')}", timed=True)
                for delta in parser.feed(payloads):
                    yield delta
                if parser.done:
                    return
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        parser.end()

    async def acomplete(self, request: ChatRequest) -> Reply:
        response = await self._open(self._chat_request(request, stream=False), request.model)
        try:
            body = await response.aread()
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        finally:
            await response.aclose()
        if self._log.enabled:
            self._log(f"< {body.decode('utf-8', 'replace')}", timed=True)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise not_json(body, response.headers.get("content-type", "")) from None
        if not isinstance(data, dict):
            raise ServerError("unexpected reply from the server: not a JSON object")
        return reply_from_completion(data, request.model)


async def _read_limited(response: httpx.Response) -> bytes:
    """An error body, read only up to a size worth showing."""
    body = b""
    try:
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY:
                break
    except httpx.TransportError:
        pass
    return body
