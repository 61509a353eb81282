"""httpx-level facts both backends share: TLS, timeouts, error bodies, reasons.

The sdk backend's library runs on httpx too, so the same exceptions arrive from both
sides; deciding what they mean once keeps the two backends' messages identical.
"""

from __future__ import annotations

import httpx

from dialcli.backends.retry import ConnectFailed
from dialcli.config import Settings
from dialcli.errors import DialError, NetworkError, ServerError

MAX_ERROR_BODY = 64 * 1024  # an error body is read only up to a size worth showing
# Failures before any byte of a reply: the request may not have reached the server, or
# it closed or reset the connection without answering. Retried (retry.py) alike.
BEFORE_REPLY = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def needs_tls(url: str) -> bool:
    """False for plain http with no proxy: no TLS can happen, so the CA bundle is not
    loaded (httpx parses it for every client, ~30 ms of start-up)."""
    import os

    if not url.startswith("http://"):
        return True
    # A proxy (https_proxy, all_proxy...) may itself speak TLS: keep verification then.
    proxies = (name.lower() for name in os.environ)
    return any(name.endswith("_proxy") and name != "no_proxy" for name in proxies)


def http_timeout(settings: Settings) -> httpx.Timeout:
    """The per-phase timeouts both backends give every request."""
    return httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout,
    )


def read_limited(response: httpx.Response) -> bytes:
    """An error body, read only up to a size worth showing."""
    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= MAX_ERROR_BODY:
                break
    except (httpx.TransportError, httpx.DecodingError):
        pass
    return body


def is_tls_failure(err: BaseException) -> bool:
    import ssl

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(err)


def reason(err: Exception) -> str:
    text = str(err) or type(err).__name__
    return text.split("\n", 1)[0]


def timeout_error(err: httpx.TimeoutException, settings: Settings) -> DialError:
    if isinstance(err, httpx.ConnectTimeout | httpx.PoolTimeout):
        return ConnectFailed(
            f"connect timeout: no connection to {settings.url} within "
            f"{settings.connect_timeout:g} s"
        )
    if isinstance(err, httpx.WriteTimeout):
        return NetworkError(
            f"write timeout: the request was not sent within {settings.read_timeout:g} s"
        )
    return NetworkError(f"read timeout: no data from the server for {settings.read_timeout:g} s")


def decoding_error(err: httpx.DecodingError) -> ServerError:
    """A body whose Content-Encoding (gzip, deflate, br) does not decode."""
    return ServerError(f"the server's reply could not be decoded: {reason(err)}")
