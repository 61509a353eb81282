"""Who is calling: DIAL Core's rules for ``Api-Key`` and ``Authorization: Bearer``.

Follows ``Proxy.authorizeRequest`` in epam/ai-dial-core
(server/src/main/java/com/epam/aidial/core/server/Proxy.java): one of the two headers
is required (401 otherwise), and both together are a 400 unless the key is a
per-request key (which no client outside Core has). Core writes these errors as plain
text, not as its JSON error shape, and so does the emulator.
"""

from __future__ import annotations

import hmac

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dialcli.emulator.storage import ANONYMOUS, bucket_for

UNAUTHENTICATED_PATHS = frozenset({"/health"})
# What Core hands an application instead of the caller's credentials: a per-request key.
# aidial-sdk refuses a request without Api-Key (400 "Api-Key header is required").
PER_REQUEST_KEY = b"emulator-per-request-key"


def _same(sent: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(sent.encode(), expected.encode())


class CoreAuthMiddleware:
    """Checks credentials like DIAL Core and gives each identity its own bucket.

    ``api_key`` / ``token`` None: any key (or token) is accepted; both None also lets a
    request with neither through, as ``anonymous``. The identity and its bucket go into
    the ASGI scope's ``state`` (``request.state.dial_identity`` / ``dial_bucket``).
    """

    def __init__(self, app: ASGIApp, api_key: str | None, token: str | None) -> None:
        self.app = app
        self.api_key = api_key
        self.token = token

    def identify(self, key: str | None, authorization: str | None) -> tuple[int, str]:
        """(0, identity) for an accepted caller, else (status, plain-text message)."""
        open_mode = self.api_key is None and self.token is None
        if key is None and authorization is None:
            if open_mode:
                return 0, ANONYMOUS
            return 401, "At least API-KEY or Authorization header must be provided"
        if key is not None and authorization is not None:
            return 400, "Provided API key is not per request key"
        if key is not None:
            if open_mode or _same(key, self.api_key):
                return 0, f"key:{key}"
            # Never echo what was sent: it may be a real key typed by mistake.
            return 401, "Unknown api key"
        assert authorization is not None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, "Bad Authorization header"
        token = token.strip()
        if open_mode or _same(token, self.token):
            return 0, f"token:{token}"
        return 401, "Invalid access token"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNAUTHENTICATED_PATHS:
            await self.app(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope["headers"]]
        key = next((v.decode("latin-1") for k, v in headers if k == b"api-key"), None)
        authorization = next(
            (v.decode("latin-1") for k, v in headers if k == b"authorization"), None
        )
        status, identity = self.identify(key, authorization)
        if status:
            await PlainTextResponse(identity, status_code=status)(scope, receive, send)
            return
        # Like Core, the application sees a per-request key, never the caller's secret.
        headers = [(k, v) for k, v in headers if k not in (b"api-key", b"authorization")]
        headers.append((b"api-key", PER_REQUEST_KEY))
        state = dict(scope.get("state") or {})
        state.update(dial_identity=identity, dial_bucket=bucket_for(identity))
        await self.app({**scope, "headers": headers, "state": state}, receive, send)
