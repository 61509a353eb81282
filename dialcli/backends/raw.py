"""The raw backend: httpx and our own SSE decoder, with detailed logging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from dialcli import __version__
from dialcli.backends.base import Backend, ChatRequest, Delta, ModelInfo, Reply
from dialcli.backends.replies import (
    delta_from_chunk,
    error_message_from_body,
    http_error,
    reply_from_completion,
    stream_error,
    tls_error,
)
from dialcli.backends.retry import ConnectFailed, RetryPolicy, parse_retry_after, with_retries
from dialcli.backends.transport import (
    is_tls_failure,
    needs_tls,
    read_limited,
    reason,
    timeout_error,
)
from dialcli.config import Settings
from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.errors import (
    DialError,
    IncompleteAnswerError,
    NetworkError,
    NotFoundError,
    ServerError,
)
from dialcli.sse import SSEDecoder


class RawBackend(Backend):
    name = "raw"

    def __init__(self, settings: Settings, log: DebugLog = NO_LOG) -> None:
        self._settings = settings
        self._log = log
        self._policy = RetryPolicy(retries=settings.retries)
        self._client = httpx.Client(
            base_url=settings.url,
            headers={"Api-Key": settings.require_key(), "User-Agent": f"dial/{__version__}"},
            verify=needs_tls(settings.url),
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
        )

    def close(self) -> None:
        self._client.close()

    # -- requests -----------------------------------------------------------------

    def _chat_url(self, model: str) -> str:
        # A deployment id may contain '/', e.g. applications/public/gpt-4o.
        return f"/openai/deployments/{quote(model, safe='/')}/chat/completions"

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
        except (httpx.ConnectError, httpx.RemoteProtocolError) as err:
            if is_tls_failure(err):
                raise tls_error(self._settings.url, reason(err)) from None
            raise ConnectFailed(
                f"cannot reach DIAL at {self._settings.url}: {reason(err)}"
            ) from None
        except httpx.TransportError as err:
            raise NetworkError(f"network error: {reason(err)}") from None
        if log.enabled:
            log(f"< HTTP {response.status_code} {response.reason_phrase}", timed=True)
            log.headers("<", response.headers.multi_items())
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
        )

    def _request(self, method: str, url: str, body: Any = None) -> httpx.Request:
        content = orjson.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else None
        return self._client.build_request(
            method, url, params=self._params(), content=content, headers=headers
        )

    def _open_with_retries(
        self, method: str, url: str, body: Any, model: str | None
    ) -> httpx.Response:
        return with_retries(
            lambda: self._open(self._request(method, url, body), model), self._policy, self._log
        )

    # -- DIAL file storage and deployment details ---------------------------------

    def bucket(self) -> str:
        data = self._read_json(self._open_with_retries("GET", "/v1/bucket", None, None))
        if not isinstance(data, dict) or not data.get("bucket"):
            raise ServerError("unexpected reply from /v1/bucket: no bucket")
        return str(data["bucket"])

    def upload_file(self, path: str, data: bytes, content_type: str) -> str:
        url = f"/v1/files/{quote(path, safe='/')}"
        name = path.rsplit("/", 1)[-1]

        def attempt() -> httpx.Response:
            request = self._client.build_request(
                "PUT", url, files={"file": (name, data, content_type)}
            )
            return self._open(request, None)

        self._read_json(with_retries(attempt, self._policy, self._log))
        return f"files/{path}"

    def download_file(self, url: str) -> bytes:
        response = self._open_with_retries("GET", f"/v1/{url}", None, None)
        try:
            return response.read()
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        finally:
            response.close()

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        quoted = quote(deployment_id, safe="/")
        try:
            response = self._open_with_retries(
                "GET", f"/openai/deployments/{quoted}", None, deployment_id
            )
        except NotFoundError:
            # DIAL Core lists applications apart from model deployments.
            response = self._open_with_retries(
                "GET", f"/openai/applications/{quoted}", None, deployment_id
            )
        data = self._read_json(response)
        return data if isinstance(data, dict) else {}

    def configuration_schema(self, deployment_id: str) -> dict[str, Any] | None:
        path = f"/v1/deployments/{quote(deployment_id, safe='/')}/configuration"
        try:
            data = self._read_json(self._open_with_retries("GET", path, None, None))
        except DialError as err:
            if err.status in (404, 405, 501):
                return None  # the deployment offers no configuration
            raise
        return data if isinstance(data, dict) else None

    # -- the contract -------------------------------------------------------------

    def stream(self, request: ChatRequest) -> Iterator[Delta]:
        response = self._open_with_retries(
            "POST", self._chat_url(request.model), request.body(stream=True), request.model
        )
        try:
            content_type = response.headers.get("content-type", "")
            if not content_type.startswith("text/event-stream"):
                body = read_limited(response)
                raise ServerError(
                    f"expected an event stream, got {content_type or 'no content type'}: "
                    f"{error_message_from_body(body, content_type) or 'empty body'}"
                )
            yield from self._decode(response)
        finally:
            response.close()

    def _decode(self, response: httpx.Response) -> Iterator[Delta]:
        """Deltas from the event stream, as they arrive.

        The text of plain-text chunks that came in one network read is joined into one
        Delta, so the writer makes one write and flush per read, not one per token.
        """
        log = self._log
        decoder = SSEDecoder()
        finished = False
        loads = orjson.loads
        try:
            for chunk in response.iter_bytes():
                texts: list[str] = []
                done = False
                for data in decoder.feed_data(chunk):
                    if log.enabled:
                        log(f"< data: {data.decode('utf-8', 'replace')}", timed=True)
                    if data == b"[DONE]":
                        done = True
                        break
                    try:
                        parsed = loads(data)
                    except orjson.JSONDecodeError:
                        parsed = None
                    text = _plain_text(parsed) if isinstance(parsed, dict) else None
                    if text is not None:
                        if text:
                            texts.append(text)
                        continue
                    if texts:  # what came before this chunk is written first
                        yield Delta(text="".join(texts))
                        texts = []
                    if not isinstance(parsed, dict):
                        shown = data.decode("utf-8", "replace")[:80]
                        raise ServerError(f"malformed chunk in the event stream: {shown!r}")
                    if parsed.get("error") is not None:
                        raise stream_error(parsed["error"])
                    delta = delta_from_chunk(parsed)
                    if delta is not None:
                        finished = finished or delta.finish_reason is not None
                        yield delta
                if texts:
                    yield Delta(text="".join(texts))
                if done:
                    return
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        if not finished:
            raise IncompleteAnswerError("the stream ended before the answer was finished")

    def complete(self, request: ChatRequest) -> Reply:
        response = self._open_with_retries(
            "POST", self._chat_url(request.model), request.body(stream=False), request.model
        )
        data = self._read_json(response)
        if not isinstance(data, dict):
            raise ServerError("unexpected reply from the server: not a JSON object")
        return reply_from_completion(data, request.model)

    def list_models(self) -> list[ModelInfo]:
        return [ModelInfo.from_dict(item) for item in self._list("/openai/models")]

    def list_applications(self) -> list[ModelInfo]:
        return [ModelInfo.from_dict(item) for item in self._list("/openai/applications")]

    def _list(self, path: str) -> list[dict[str, Any]]:
        data = self._read_json(self._open_with_retries("GET", path, None, None))
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ServerError(f"unexpected reply from {path}: no 'data' list")
        return [item for item in items if isinstance(item, dict)]

    def _get_json(self, path: str, model: str | None = None) -> Any:
        return self._read_json(self._open_with_retries("GET", f"/{path}", None, model))

    def _post_json(self, path: str, body: Any, model: str | None = None) -> Any:
        return self._read_json(self._open_with_retries("POST", f"/{path}", body, model))

    def _read_json(self, response: httpx.Response) -> Any:
        try:
            body = response.read()
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except httpx.TransportError as err:
            raise NetworkError(f"connection dropped: {reason(err)}") from None
        finally:
            response.close()
        if self._log.enabled:
            self._log(f"< {body.decode('utf-8', 'replace')}", timed=True)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            content_type = response.headers.get("content-type", "")
            shown = error_message_from_body(body, content_type) or "empty body"
            raise ServerError(f"expected JSON from the server, got {shown}") from None


def _plain_text(chunk: dict[str, Any]) -> str | None:
    """The text of a chunk that carries only text (or nothing), else None.

    The common case, read without building a Delta; whatever else a chunk may carry
    (finish reason, usage, custom content, an error) goes through delta_from_chunk.
    """
    if "error" in chunk or chunk.get("usage") is not None:
        return None
    choices = chunk.get("choices")
    if type(choices) is not list or not choices:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") is not None:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or delta.get("custom_content") is not None:
        return None
    text = delta.get("content")
    if text is None:
        return ""
    return text if type(text) is str else None
