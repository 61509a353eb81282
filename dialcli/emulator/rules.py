"""What DIAL Core checks in a chat completion request before any application sees it.

- Attachment urls (``files/<bucket>/<path>``) are parsed segment by segment as URIs
  (``UrlUtil.decodePath`` in epam/ai-dial-core storage/.../util/UrlUtil.java:
  ``new URI(segment)``, and a fragment or query is refused). A failure there is not an
  ``HttpException``, so ``CollectRequestAttachmentsFn`` answers 400 with an empty body.
  A file in a bucket the caller cannot read is a 403, plain text
  ``Access denied to the file <url>``.
- Stages are read-only: the request schema of an assistant message's custom_content has
  ``state``, ``attachments``, ``form_schema`` and no ``stages``
  (openapi-generator/.../ChatCompletionRequestAssistantMessageCustomContent.yaml), and an
  aidial-sdk application refuses a stage whose ``status`` is null (its ``Stage.status`` is
  required), which is what an interrupted answer carries. The emulator refuses any
  stages sent back, so a client that sends them fails here first.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialcli.emulator.storage import ANONYMOUS, bucket_for

# One URI path segment as java.net.URI accepts it: unreserved, sub-delims, ':' '@',
# valid %XX escapes, and non-ASCII ("other" characters). No space, '#', '?', '"', ...
_SEGMENT = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}|[^\x00-\x7f])*")
_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def attachment_urls(body: dict[str, Any]) -> list[str]:
    """Every attachment url in the messages (stages' attachments included)."""
    urls: list[str] = []
    for message in body.get("messages") or []:
        custom = message.get("custom_content") if isinstance(message, dict) else None
        if not isinstance(custom, dict):
            continue
        attachments = list(custom.get("attachments") or [])
        for stage in custom.get("stages") or []:
            if isinstance(stage, dict):
                attachments += stage.get("attachments") or []
        urls += [a["url"] for a in attachments if isinstance(a, dict) and a.get("url")]
    return urls


def check_url(url: str, bucket: str) -> Response | None:
    """Core's verdict on one attachment url, or None when it passes."""
    if _ABSOLUTE.match(url) or url.startswith("data:"):
        return None  # Core skips public urls and data urls
    segments = url.split("/")
    if len(segments) < 3 or not all(_SEGMENT.fullmatch(s) for s in segments):
        return Response(status_code=400)
    if unquote(segments[1]) != bucket:
        return PlainTextResponse(f"Access denied to the file {url}", status_code=403)
    return None


def check_request(raw: bytes, bucket: str) -> Response | None:
    """The response Core (or the application behind it) would refuse ``raw`` with."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None  # left to the application's own validation
    if not isinstance(body, dict):
        return None
    for index, message in enumerate(body.get("messages") or []):
        custom = message.get("custom_content") if isinstance(message, dict) else None
        if isinstance(custom, dict) and custom.get("stages") is not None:
            error = {
                "message": f"messages.{index}.custom_content.stages: stages are read-only "
                "and must not be sent back (send an assistant message's state only)",
                "type": "invalid_request_error",
                "code": "400",
            }
            return JSONResponse({"error": error}, status_code=400)
    for url in attachment_urls(body):
        verdict = check_url(url, bucket)
        if verdict is not None:
            return verdict
    return None


class CoreRequestRules:
    """Applies ``check_request`` to chat completion requests; passes the body on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].endswith("/chat/completions")
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        bucket = (scope.get("state") or {}).get("dial_bucket") or bucket_for(ANONYMOUS)
        refusal = check_request(body, bucket)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # from here on: only the disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
