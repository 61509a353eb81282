"""The async side: many requests in flight on one event loop.

``AsyncBackend`` (base.py) has one implementation per backend (raw.py over
``httpx.AsyncClient``, sdk.py over aidial-client's ``AsyncDial``); ``Runner``
(runner.py) sends requests through one ``Pacer`` (pacing.py) shared by every task.
Only ``dial batch`` and ``dial ask`` with several ``-m`` import this package: the
single-request path stays synchronous.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialcli.errors import UsageError

if TYPE_CHECKING:
    from dialcli.config import Settings
    from dialcli.engine.base import AsyncBackend
    from dialcli.output import IOStreams


def get_async_backend(
    settings: Settings, io: IOStreams | None = None, *, connections: int = 8
) -> AsyncBackend:
    """The chosen backend's async twin; the vendor client is imported only for ``sdk``.

    ``connections`` sizes the connection pool: as many as requests may be in flight.
    """
    from dialcli.debuglog import NO_LOG, DebugLog, add_request_secrets

    both = settings.has_both_credentials
    settings = settings.with_key()
    add_request_secrets(settings.url, settings.secrets())
    log = DebugLog(io.stderr, settings.secrets()) if settings.verbose and io else NO_LOG
    if both:
        log("both a token and an API key are configured: sending the token (Authorization: Bearer)")
    if settings.backend == "raw":
        from dialcli.engine.raw import AsyncRawBackend

        return AsyncRawBackend(settings, log, connections=connections)
    if settings.backend == "sdk":
        try:
            from dialcli.engine.sdk import AsyncSdkBackend
        except ModuleNotFoundError as err:
            raise UsageError(
                f"the sdk backend needs {err.name}: pip install aidial-client"
            ) from None
        return AsyncSdkBackend(settings, log, connections=connections)
    raise UsageError(f"unknown backend {settings.backend!r}; choose 'raw' or 'sdk'")
