"""httpx-level facts both backends share: TLS, timeouts, error bodies, reasons.

The sdk backend's library runs on httpx too, so the same exceptions arrive from both
sides; deciding what they mean once keeps the two backends' messages identical.
"""

from __future__ import annotations

import os
import ssl
import zlib
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx

from dialcli.backends.retry import ConnectFailed
from dialcli.config import Settings
from dialcli.errors import DialError, NetworkError, ServerError

MAX_ERROR_BODY = 64 * 1024  # an error body is read only up to a size worth showing
# Failures before any byte of a reply: the request may not have reached the server, or
# it closed or reset the connection without answering. Retried (retry.py) alike.
BEFORE_REPLY = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


E = TypeVar("E", bound=BaseException)

# A TLS server answers a ClientHello within a round trip; a plain-HTTP server waits
# silently for a line end that never comes, so an https:// URL on it would otherwise
# hang for the whole connect timeout.
HANDSHAKE_TIMEOUT = 3.0


def needs_tls(url: str) -> bool:
    """False for plain http with no proxy: no TLS can happen, so the CA bundle is not
    loaded (httpx parses it for every client, ~30 ms of start-up)."""
    if not url.startswith("http://"):
        return True
    # A proxy (https_proxy, all_proxy...) may itself speak TLS: keep verification then.
    proxies = (name.lower() for name in os.environ)
    return any(name.endswith("_proxy") and name != "no_proxy" for name in proxies)


class HandshakeTimeout(ssl.SSLError):
    """No TLS handshake within HANDSHAKE_TIMEOUT after the TCP connection was made."""


class _BoundedHandshakeContext(ssl.SSLContext):
    """A client context whose blocking handshake (wrap_socket) has its own, shorter
    deadline; httpx gives the handshake the connect timeout (connect + handshake)."""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> ssl.SSLSocket:  # type: ignore[override]
        budget = sock.gettimeout()
        limit = HANDSHAKE_TIMEOUT if budget is None else min(budget, HANDSHAKE_TIMEOUT)
        sock.settimeout(limit)
        try:
            wrapped = super().wrap_socket(sock, *args, **kwargs)  # detaches sock
        except TimeoutError:
            raise HandshakeTimeout(f"no TLS handshake within {limit:g} s") from None
        wrapped.settimeout(budget)
        return wrapped


def tls_verify(url: str) -> ssl.SSLContext | bool:
    """What every httpx client of ours gets as ``verify``: no TLS on plain http (see
    needs_tls), else the CAs httpx itself would trust (SSL_CERT_FILE, SSL_CERT_DIR,
    certifi) in a context whose handshake is bounded."""
    if not needs_tls(url):
        return False
    context = _BoundedHandshakeContext(ssl.PROTOCOL_TLS_CLIENT)
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if not cafile and not capath:
        import certifi

        cafile = certifi.where()
    context.load_verify_locations(cafile=cafile or None, capath=None if cafile else capath)
    keylog = os.environ.get("SSLKEYLOGFILE")  # as ssl.create_default_context does
    if keylog:
        context.keylog_filename = keylog
    return context


def _in_chain(err: BaseException, kind: type[E]) -> E | None:
    """The first exception of ``kind`` among ``err`` and what it was raised from."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def handshake_timeout_in(err: BaseException) -> HandshakeTimeout | None:
    return _in_chain(err, HandshakeTimeout)


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
    return _in_chain(err, ssl.SSLError) is not None or "CERTIFICATE_VERIFY_FAILED" in str(err)


def reason(err: BaseException) -> str:
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


class DecodedStream(httpx.SyncByteStream):
    """A gzip or deflate body, decoded as it arrives (httpx's own decoders are private).

    The sdk backend's event-stream watcher must see the bytes openai's decoder will see;
    with this in front of it, the response goes on without its Content-Encoding.
    """

    ENCODINGS = ("gzip", "deflate")  # what httpx asks for without brotli/zstd installed

    def __init__(self, inner: Any, encoding: str) -> None:
        self._inner = inner
        self._gzip = encoding == "gzip"
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._first = True

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._inner:
            if piece:
                yield self._decode(piece)
        yield self._decode(b"", flush=True)

    def _decode(self, piece: bytes, *, flush: bool = False) -> bytes:
        first, self._first = self._first, False
        # Raised outside the except block: a zlib.error left as the context would read,
        # to sdk_errors, as a bug in our code rather than the server's bad body.
        problem = ""
        try:
            return self._zlib.flush() if flush else self._zlib.decompress(piece)
        except zlib.error as err:
            problem = str(err)
        if first and not self._gzip:
            # "deflate" is sent both zlib-wrapped (RFC 1950) and raw; httpx takes both.
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._decode(piece)
        raise httpx.DecodingError(problem)

    def close(self) -> None:
        self._inner.close()
