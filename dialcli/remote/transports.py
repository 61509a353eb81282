"""The wire under ``StorageClient``, one per backend.

- raw: httpx, as the raw backend talks to DIAL.
- sdk: aidial-client. It has a bucket call (used) but no conversation calls, and its
  ``metadata.get`` cannot ask for a recursive listing, so resources and listings go
  through the library's own HTTP client (``SyncHTTPClient.request``), with its auth.

Both answer every HTTP status as an ``HttpReply`` (412 and 404 are answers the caller
acts on) and raise our errors only for failures below HTTP, worded the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from dialcli import __version__
from dialcli.errors import ServerError

if TYPE_CHECKING:
    import httpx

    from dialcli.config import Settings
    from dialcli.debuglog import DebugLog
    from dialcli.remote.storage import HttpReply, Transport

_USER_AGENT = f"dial/{__version__}"


def make_transport(settings: Settings, log: DebugLog) -> Transport:
    """The transport of the chosen backend (``settings.backend``)."""
    if settings.backend == "sdk":
        return SdkTransport(settings, log)
    return RawTransport(settings, log)


def _timeout(settings: Settings) -> httpx.Timeout:
    import httpx

    return httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout,
    )


def auth_headers(settings: Settings) -> dict[str, str]:
    """The one credential header: a bearer token wins over a key (Core refuses both)."""
    name, value = settings.auth_header()
    return {name: value}


def _log_response(log: DebugLog, response: httpx.Response) -> None:
    if log.enabled:
        response.read()  # a storage reply is small JSON; the caller reads it whole anyway
        log(f"< HTTP {response.status_code} {response.reason_phrase}", timed=True)
        log.headers("<", response.headers.multi_items())
        log(f"< {response.content.decode('utf-8', 'replace')}", timed=True)


def _reply(response: httpx.Response) -> HttpReply:
    from dialcli.remote.storage import HttpReply

    headers = {k.lower(): v for k, v in response.headers.items()}
    return HttpReply(response.status_code, headers, response.content)


def _parse_bucket(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not data.get("bucket"):
        raise ServerError("unexpected reply from /v1/bucket: no bucket")
    return str(data["bucket"])


class RawTransport:
    def __init__(self, settings: Settings, log: DebugLog) -> None:
        import httpx

        from dialcli.backends.transport import tls_verify

        self._settings = settings
        self._log = log
        self._client = httpx.Client(
            base_url=settings.url,
            headers={**auth_headers(settings), "User-Agent": _USER_AGENT},
            verify=tls_verify(settings.url),
            timeout=_timeout(settings),
        )

    def close(self) -> None:
        self._client.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> HttpReply:
        import httpx

        from dialcli.backends.replies import tls_error
        from dialcli.backends.retry import ConnectFailed
        from dialcli.backends.transport import is_tls_failure, reason, timeout_error
        from dialcli.errors import NetworkError

        all_headers = dict(headers or {})
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        request = self._client.build_request(
            method,
            path,
            params=params,
            headers=all_headers,
            content=orjson.dumps(body) if body is not None else None,
        )
        self._log.request(request)
        try:
            response = self._client.send(request)
        except httpx.TimeoutException as err:
            raise timeout_error(err, self._settings) from None
        except (httpx.ConnectError, httpx.RemoteProtocolError) as err:
            if is_tls_failure(err):
                raise tls_error(self._settings.url, err) from None
            url = self._settings.url
            raise ConnectFailed(f"cannot reach DIAL at {url}: {reason(err)}") from None
        except httpx.TransportError as err:
            raise NetworkError(f"network error: {reason(err)}") from None
        _log_response(self._log, response)
        return _reply(response)

    def bucket(self) -> str:
        from dialcli.remote.storage import _checked

        return _parse_bucket(_checked(self.send("GET", "/v1/bucket")).body)


class SdkTransport:
    def __init__(self, settings: Settings, log: DebugLog) -> None:
        import httpx
        from aidial_client import Dial
        from aidial_client._http_client import SyncHTTPClient

        from dialcli.backends.transport import tls_verify

        self._settings = settings
        self._log = log
        token = settings.token
        key = None if token else settings.require_key()
        timeout = _timeout(settings)
        self._http = SyncHTTPClient(
            base_url=settings.url,
            api_key=key,
            bearer_token=token,
            max_retries=0,  # ours wrap every call (StorageClient)
            timeout=timeout,
            internal_http_client=httpx.Client(
                headers={"User-Agent": _USER_AGENT},
                verify=tls_verify(settings.url),
                timeout=timeout,
                # The library's calls (the bucket) are logged as ours are.
                event_hooks={
                    "request": [log.request],
                    "response": [lambda response: _log_response(log, response)],
                },
            ),
        )
        self._dial = Dial(
            base_url=settings.url,
            api_key=key,
            bearer_token=token,
            max_retries=0,
            timeout=timeout,
            http_client=self._http,
        )

    def close(self) -> None:
        self._dial.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> HttpReply:
        import httpx
        from aidial_client._internal_types._http_request import FinalRequestOptions

        options = FinalRequestOptions(
            method=method,  # type: ignore[arg-type]  # the callers send GET/PUT/DELETE only
            url=path.lstrip("/"),
            params=params,
            headers=headers,
            json_data=body,
        )
        try:
            response = self._http.request(cast_to=httpx.Response, options=options)
        except Exception as err:  # the library's failures are not enumerable
            status_response = _status_response(err)
            if status_response is None:
                raise self._mapped(err) from None
            response = status_response
        return _reply(response)

    def _mapped(self, err: Exception) -> Exception:
        from dialcli.backends.sdk_errors import map_error

        return map_error(err, self._settings, model=None, started=False)

    def bucket(self) -> str:
        try:
            return str(self._dial.bucket.get_bucket())
        except Exception as err:
            response = _status_response(err)
            if response is None:
                raise self._mapped(err) from None
            from dialcli.remote.storage import _checked

            return _parse_bucket(_checked(_reply(response)).body)


def _status_response(err: BaseException) -> httpx.Response | None:
    """The HTTP response under a library error (it raises for every non-2xx)."""
    import httpx

    link: BaseException | None = err
    while link is not None:
        if isinstance(link, httpx.HTTPStatusError):
            return link.response
        link = link.__cause__ or link.__context__
    return None
