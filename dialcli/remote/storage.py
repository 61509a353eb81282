"""DIAL storage for conversations: resources with ETags and metadata listings.

What DIAL Core does (epam/ai-dial-core ``ResourceController``, ``EtagHeader``,
``ResourceService.getFolderMetadata``):

- ``GET /v1/conversations/{bucket}/{path}`` answers the document with an ``ETag``.
- ``PUT`` stores it and answers its metadata with the new ``ETag``. ``If-None-Match: *``
  makes it create-only (412 "Resource already exists"); ``If-Match: <etag>`` makes it
  update-only-that-version (412 "ETag … is rejected").
- ``GET /v1/metadata/conversations/{bucket}/{folder}/?limit=&recursive=&token=`` lists
  a folder, ``nextToken`` when there is more; a folder with nothing in it is a 404.

The wire itself is a ``Transport`` (``transports.py``): one per backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson

from dialcli.backends.replies import error_message_from_body
from dialcli.backends.retry import RetryPolicy, with_retries
from dialcli.debuglog import NO_LOG, DebugLog
from dialcli.errors import DialError, ServerError, error_for_status

T = TypeVar("T")
PAGE_SIZE = 100  # Core's default; it accepts 0-1000


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""


class Transport(Protocol):
    """Sends one request; raises DialError only for failures below HTTP."""

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> HttpReply: ...

    def bucket(self) -> str: ...

    def close(self) -> None: ...


class Conflict(DialError):
    """412: the resource exists (create) or changed since our ETag (update)."""

    exit_code = 1


@dataclass
class Resource:
    doc: dict[str, Any]
    etag: str


class StorageClient:
    """Conversations in DIAL storage, over any Transport."""

    def __init__(
        self,
        transport: Transport,
        policy: RetryPolicy | None = None,
        log: DebugLog = NO_LOG,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._transport = transport
        self._page_size = page_size
        self._policy = policy or RetryPolicy()
        self._log = log

    def close(self) -> None:
        self._transport.close()

    def _retried(self, call: Callable[[], T]) -> T:
        return with_retries(call, self._policy, self._log)

    def bucket(self) -> str:
        return self._retried(self._transport.bucket)

    def get(self, url: str) -> Resource:
        """The document at ``url`` (``conversations/{bucket}/{encoded path}``)."""

        def attempt() -> HttpReply:
            return _checked(self._transport.send("GET", f"/v1/{url}"))

        reply = self._retried(attempt)
        try:
            doc = orjson.loads(reply.body)
        except orjson.JSONDecodeError:
            raise ServerError(f"{url} is not JSON") from None
        if not isinstance(doc, dict):
            raise ServerError(f"{url} is not a JSON object")
        return Resource(doc, reply.headers.get("etag", ""))

    def etag(self, url: str) -> str | None:
        """The current ETag of ``url`` (from its metadata), or None if it is gone."""

        def attempt() -> HttpReply:
            reply = self._transport.send("GET", f"/v1/metadata/{url}")
            return reply if reply.status == 404 else _checked(reply)

        reply = self._retried(attempt)
        if reply.status == 404:
            return None
        return str(_json_object(reply, url).get("etag") or "")

    def put(self, url: str, doc: dict[str, Any], *, if_match: str | None = None) -> str:
        """Create (``if_match`` None: ``If-None-Match: *``) or update that version only.

        Returns the new ETag; Conflict on 412. Only failures before the request reached
        the server are retried: a conditional PUT is not replayed on an unclear answer.
        """
        headers = {"If-Match": if_match} if if_match else {"If-None-Match": "*"}

        def attempt() -> HttpReply:
            return self._transport.send("PUT", f"/v1/{url}", headers=headers, body=doc)

        reply = self._retried(attempt)
        if reply.status == 412:
            raise Conflict(_message(reply) or "precondition failed", status=412)
        _checked(reply)
        return reply.headers.get("etag", "")

    def listing(self, folder_url: str, *, recursive: bool = True) -> Iterator[dict[str, Any]]:
        """Every item under ``folder_url`` (ending in ``/``), page by page; none if the
        folder does not exist (Core answers 404 for a folder with nothing in it)."""
        token: str | None = None
        while True:
            params = {"limit": str(self._page_size), "recursive": str(recursive).lower()}
            if token:
                params["token"] = token

            def attempt(params: dict[str, str] = params) -> HttpReply:
                reply = self._transport.send("GET", f"/v1/metadata/{folder_url}", params=params)
                return reply if reply.status == 404 else _checked(reply)

            reply = self._retried(attempt)
            if reply.status == 404:
                return
            page = _json_object(reply, folder_url)
            items = page.get("items") or []
            yield from (item for item in items if isinstance(item, dict))
            token = page.get("nextToken")
            if not token:
                return


def _message(reply: HttpReply) -> str | None:
    return error_message_from_body(reply.body, reply.headers.get("content-type", ""))


def _checked(reply: HttpReply) -> HttpReply:
    if 200 <= reply.status < 300:
        return reply
    message = _message(reply) or f"HTTP {reply.status}"
    raise error_for_status(reply.status, message)


def _json_object(reply: HttpReply, what: str) -> dict[str, Any]:
    try:
        data = orjson.loads(reply.body)
    except orjson.JSONDecodeError:
        raise ServerError(f"the listing of {what} is not JSON") from None
    if not isinstance(data, dict):
        raise ServerError(f"the listing of {what} is not a JSON object")
    return data
