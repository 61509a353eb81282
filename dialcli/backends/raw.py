"""The raw backend: httpx and our own SSE decoder, with detailed logging.

Only the primitives live here (send a request, read JSON, open a stream, files); what
to request and what a reply must look like is ``base.Backend``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson

from dialcli import __version__
from dialcli.backends.base import (
    Backend,
    ChatRequest,
    OpenStream,
    encoded_url,
    files_url,
    quote_deployment,
)
from dialcli.backends.replies import error_message_from_body, http_error, not_json, tls_error
from dialcli.backends.retry import ConnectFailed, RetryPolicy, parse_retry_after, with_retries
from dialcli.backends.transport import (
    BEFORE_REPLY,
    decoding_error,
    http_timeout,
    is_tls_failure,
    read_limited,
    reason,
    timeout_error,
    tls_verify,
)
from dialcli.config import Settings
from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.errors import NetworkError, ServerError
from dialcli.sse import EventTooLarge, SSEDecoder


class RawBackend(Backend):
    def __init__(self, settings: Settings, log: DebugLog = NO_LOG) -> None:
        self._settings = settings
        self._log = log
        self._policy = RetryPolicy(retries=settings.retries)
        self._client = httpx.Client(
            base_url=settings.url,
            headers=dict([settings.auth_header(), ("User-Agent", f"dial/{__version__}")]),
            verify=tls_verify(settings.url),
            timeout=http_timeout(settings),
        )

    def close(self) -> None:
        self._client.close()

    # -- requests -----------------------------------------------------------------

    def _chat_url(self, model: str) -> str:
        # A deployment id may contain '/', e.g. applications/public/gpt-4o.
        return f"/openai/deployments/{quote_deployment(model)}/chat/completions"

    def _params(self) -> dict[str, str]:
        version = self._settings.api_version
        return {"api-version": version} if version else {}

    def _open(self, request: httpx.Request, model: str | None) -> httpx.Response:
        """Send, and return a 2xx response with its body unread; errors mapped."""
        log = self._log
        log.request(request)
        try:
            response = self._client.send(request, stream=True)
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except BEFORE_REPLY as err:
            if is_tls_failure(err):
                raise tls_error(self._settings.url, err) from None
            raise ConnectFailed(
                f"cannot reach DIAL at {self._settings.url}: {reason(err)}"
            ) from None
        except httpx.TransportError as err:
            raise NetworkError(f"network error: {reason(err)}") from None
        log.response(response)
        if response.is_success:
            return response
        try:
            body = read_limited(response)
        finally:
            response.close()
        if log.enabled:
            log(f"< {body.decode('utf-8', 'replace')}", timed=True)
        content_type = response.headers.get("content-type", "")
        raise http_error(
            response.status_code,
            error_message_from_body(body, content_type),
            model=model,
            retry_after=parse_retry_after(dict(response.headers)),
            path=request.url.path,
        )

    def _request(
        self, method: str, url: str, body: Any = None, extra: dict[str, str] | None = None
    ) -> httpx.Request:
        content = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers.update(extra or {})
        return self._client.build_request(
            method, url, params=self._params(), content=content, headers=headers or None
        )

    def _open_with_retries(
        self,
        method: str,
        url: str,
        body: Any,
        model: str | None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return with_retries(
            lambda: self._open(self._request(method, url, body, headers), model),
            self._policy,
            self._log,
        )

    def _read_json(self, response: httpx.Response) -> Any:
        try:
            body = response.read()
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        except httpx.DecodingError as err:
            raise decoding_error(err) from None
        finally:
            response.close()
        if self._log.enabled:
            self._log(f"< {body.decode('utf-8', 'replace')}", timed=True)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise not_json(body, response.headers.get("content-type", "")) from None

    # -- the primitives base.Backend builds on --------------------------------------

    def _get_json(self, path: str, *, model: str | None = None) -> Any:
        return self._read_json(self._open_with_retries("GET", f"/{path}", None, model))

    def _send_json(self, path: str, body: Any, *, model: str | None = None) -> Any:
        return self._read_json(self._open_with_retries("POST", f"/{path}", body, model))

    def _post_json(self, request: ChatRequest) -> Any:
        response = self._open_with_retries(
            "POST",
            self._chat_url(request.model),
            request.body(stream=False),
            request.model,
            request.headers(),
        )
        return self._read_json(response)

    def _open_stream(self, request: ChatRequest) -> OpenStream:
        response = self._open_with_retries(
            "POST",
            self._chat_url(request.model),
            request.body(stream=True),
            request.model,
            request.headers(),
        )
        return OpenStream(
            content_type=response.headers.get("content-type", ""),
            body=lambda: read_limited(response),
            reads=self._reads(response),
            close=response.close,
        )

    def _reads(self, response: httpx.Response) -> Iterator[list[bytes]]:
        """The event-stream payloads of each network read, as they arrive."""
        log = self._log
        decoder = SSEDecoder()
        try:
            for chunk in response.iter_bytes():
                payloads = decoder.feed_data(chunk)
                if log.enabled:
                    for data in payloads:
                        log(f"< data: {data.decode('utf-8', 'replace')}", timed=True)
                if payloads:
                    yield payloads
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        except httpx.DecodingError as err:
            raise decoding_error(err) from None
        except EventTooLarge as err:
            raise ServerError(str(err)) from None

    # -- DIAL file storage ----------------------------------------------------------

    def bucket(self) -> str:
        data = self._get_json("v1/bucket")
        if not isinstance(data, dict) or not data.get("bucket"):
            raise ServerError("unexpected reply from /v1/bucket: no bucket")
        return str(data["bucket"])

    def upload_file(self, path: str, data: bytes, content_type: str) -> str:
        url = files_url(path)
        name = path.rsplit("/", 1)[-1]

        def attempt() -> httpx.Response:
            request = self._client.build_request(
                "PUT", f"/v1/{url}", files={"file": (name, data, content_type)}
            )
            return self._open(request, None)

        reply = self._read_json(with_retries(attempt, self._policy, self._log))
        # The upload reply's url is the one Core will accept back; ours if it gives none.
        given = reply.get("url") if isinstance(reply, dict) else None
        return given if isinstance(given, str) and given else url

    def download_file(self, url: str) -> bytes:
        response = self._open_with_retries("GET", f"/v1/{encoded_url(url)}", None, None)
        try:
            return response.read()
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        except httpx.DecodingError as err:
            raise decoding_error(err) from None
        finally:
            response.close()
