"""Conversations in DIAL storage: resources with ETags and metadata listings.

Follows epam/ai-dial-core: ``ResourceController`` (PUT/GET/DELETE of a resource, the
ETag header on answers, "Folder not allowed", names ending in a dot refused, the body
checked against ``data/Conversation.java``), ``util/EtagHeader`` (``If-Match`` with a
list of tags, ``If-None-Match: *`` only, 412 "Resource already exists" / "ETag … is
rejected") and ``ResourceService.getFolderMetadata`` (limit 0-1000, ``recursive``,
``nextToken``, 404 for a folder with nothing in it, ``items`` of ``nodeType`` ITEM
with ``createdAt``/``updatedAt``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aidial_sdk import HTTPException as DIALException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

KIND = "conversations"
MAX_LIMIT = 1000


@dataclass
class StoredResource:
    body: bytes
    etag: str
    created_at: int
    updated_at: int


def _error(status: int, message: str) -> DIALException:
    return DIALException(message, status_code=status, type="invalid_request_error")


def _url(bucket: str, path: str) -> str:
    return f"{KIND}/{bucket}/" + "/".join(quote(s, safe="") for s in path.split("/"))


class ResourceStorage:
    """The conversations of every bucket of one emulator process."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], StoredResource] = {}

    def metadata(self, bucket: str, path: str, *, etag: bool = False) -> dict[str, Any]:
        stored = self.items[(bucket, path)]
        parent, _, name = path.rpartition("/")
        meta: dict[str, Any] = {
            "name": name,
            "parentPath": parent or None,
            "bucket": bucket,
            "url": _url(bucket, path),
            "nodeType": "ITEM",
            "resourceType": "CONVERSATION",
            "createdAt": stored.created_at,
            "updatedAt": stored.updated_at,
        }
        if etag:
            meta["etag"] = stored.etag
        return meta

    def put(
        self, bucket: str, path: str, body: bytes, if_match: str | None, if_none: str | None
    ) -> dict[str, Any]:
        current = self.items.get((bucket, path))
        check_etag(current.etag if current else None, if_match, if_none)
        now = int(time.time() * 1000)
        created = current.created_at if current else now
        etag = hashlib.md5(body, usedforsecurity=False).hexdigest()
        self.items[(bucket, path)] = StoredResource(body, etag, created, now)
        return self.metadata(bucket, path, etag=True)

    def listing(
        self, bucket: str, folder: str, token: str | None, limit: int, recursive: bool
    ) -> dict[str, Any] | None:
        prefix = f"{folder}/" if folder else ""
        paths = sorted(p for b, p in self.items if b == bucket and p.startswith(prefix))
        if not paths and folder:
            return None
        entries: list[tuple[str, bool]] = []  # (path, is a folder)
        for path in paths:
            rest = path[len(prefix) :]
            if recursive or "/" not in rest:
                entries.append((path, False))
            else:
                sub = prefix + rest.split("/", 1)[0]
                if not entries or entries[-1] != (sub, True):
                    entries.append((sub, True))
        if token:
            entries = [e for e in entries if e[0] > token]
        page, more = entries[:limit], len(entries) > limit
        items = [
            self._folder(bucket, p) if is_dir else self.metadata(bucket, p) for p, is_dir in page
        ]
        parent, _, name = folder.rpartition("/")
        out: dict[str, Any] = {
            "name": name or None,
            "parentPath": parent or None,
            "bucket": bucket,
            "url": _url(bucket, folder) + "/" if folder else f"{KIND}/{bucket}/",
            "nodeType": "FOLDER",
            "resourceType": "CONVERSATION",
            "items": items,
        }
        if more and page:
            out["nextToken"] = page[-1][0]
        return out

    def _folder(self, bucket: str, path: str) -> dict[str, Any]:
        parent, _, name = path.rpartition("/")
        return {
            "name": name,
            "parentPath": parent or None,
            "bucket": bucket,
            "url": _url(bucket, path) + "/",
            "nodeType": "FOLDER",
            "resourceType": "CONVERSATION",
        }


def check_etag(current: str | None, if_match: str | None, if_none: str | None) -> None:
    """DIAL Core's EtagHeader.validate: what a conditional PUT or DELETE may do."""
    if_none = if_none.strip() if if_none is not None else None
    if if_none is not None and if_none != "*":
        raise _error(400, "only header if-none-match=* is supported")
    raw = (if_match or "").strip()
    tags = set() if raw in ("", "*") else {t.strip().strip('"') for t in raw.split(",")}
    if not tags and if_none is None:
        return
    if current is None:
        return  # nothing to conflict with
    if if_none == "*":
        raise _error(412, "Resource already exists")
    if current not in tags:
        raise _error(412, f"ETag {if_match} is rejected")


def validate_conversation(body: bytes) -> None:
    """The fields DIAL Core requires of a stored conversation (data/Conversation.java)."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise _error(400, "Request body is not a valid JSON") from None
    if not isinstance(doc, dict):
        raise _error(400, "Conversation must be a JSON object")
    for name, kind in (("id", str), ("folderId", str), ("name", str), ("prompt", str)):
        if not isinstance(doc.get(name), kind):
            raise _error(400, f"Missing required creator property '{name}'")
    if isinstance(doc.get("temperature"), bool) or not isinstance(
        doc.get("temperature"), int | float
    ):
        raise _error(400, "Missing required creator property 'temperature'")
    model = doc.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("id"), str):
        raise _error(400, "Missing required creator property 'model'")
    messages = doc.get("messages")
    if not isinstance(messages, list):
        raise _error(400, "Missing required creator property 'messages'")
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise _error(400, "Missing required creator property 'role'")
        if not isinstance(message.get("content"), str):
            raise _error(400, "Missing required creator property 'content'")


def _listing_params(limit: str | None, recursive: str | None) -> tuple[int, bool]:
    """A metadata listing's ``limit`` and ``recursive``, or Core's 400."""
    try:
        count = int(limit or "100")
        deep = {"true": True, "false": False}[(recursive or "false").lower()]
        if not 0 <= count <= MAX_LIMIT:
            raise ValueError
    except (ValueError, KeyError):
        raise _error(
            400,
            "Bad query parameters. Limit must be in [0, 1000] range. Recursive must be true/false",
        ) from None
    return count, deep


def _metadata(
    storage: ResourceStorage, bucket: str, path: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """One resource's metadata, or a folder's listing (a path ending in ``/``)."""
    limit, recursive = _listing_params(params.get("limit"), params.get("recursive"))
    if path and not path.endswith("/"):
        if (bucket, path) not in storage.items:
            raise _error(404, f"Not found: {_url(bucket, path)}")
        return storage.metadata(bucket, path, etag=True)
    result = storage.listing(bucket, path.rstrip("/"), params.get("token"), limit, recursive)
    if result is None:
        raise _error(404, f"Not found: {_url(bucket, path)}")
    return result


def add_resource_routes(
    app: FastAPI, storage: ResourceStorage, own_bucket: Callable[[Request], str]
) -> None:
    """``/v1/conversations/…`` and ``/v1/metadata/conversations/…``; a caller reaches
    only the bucket ``own_bucket`` gives its identity."""

    def check(request: Request, bucket: str, path: str, *, folder_ok: bool = False) -> None:
        if bucket != own_bucket(request):
            raise _error(403, f"You don't have access to the bucket {bucket}")
        if not folder_ok and (not path or path.endswith("/")):
            raise _error(400, f"Folder not allowed: {_url(bucket, path)}")

    @app.put(f"/v1/{KIND}/{{bucket}}/{{path:path}}")
    async def put(bucket: str, path: str, request: Request) -> JSONResponse:
        check(request, bucket, path)
        if any(segment.endswith(".") for segment in path.split("/")):
            raise _error(400, "Resource name and/or parent folders must not end with .(dot)")
        body = await request.body()
        validate_conversation(body)
        headers = request.headers
        meta = storage.put(
            bucket, path, body, headers.get("if-match"), headers.get("if-none-match")
        )
        return JSONResponse(meta, headers={"ETag": meta["etag"]})

    @app.get(f"/v1/{KIND}/{{bucket}}/{{path:path}}")
    async def get(bucket: str, path: str, request: Request) -> Response:
        check(request, bucket, path)
        stored = storage.items.get((bucket, path))
        if stored is None:
            raise _error(404, f"Not found: {_url(bucket, path)}")
        return Response(stored.body, media_type="application/json", headers={"ETag": stored.etag})

    @app.delete(f"/v1/{KIND}/{{bucket}}/{{path:path}}")
    async def delete(bucket: str, path: str, request: Request) -> Response:
        check(request, bucket, path)
        stored = storage.items.get((bucket, path))
        if stored is None:
            raise _error(404, f"Not found: {_url(bucket, path)}")
        check_etag(
            stored.etag, request.headers.get("if-match"), request.headers.get("if-none-match")
        )
        del storage.items[(bucket, path)]
        return Response(status_code=200)

    _add_metadata_route(app, storage, check)


def _add_metadata_route(app: FastAPI, storage: ResourceStorage, check: Callable[..., None]) -> None:
    @app.get(f"/v1/metadata/{KIND}/{{bucket}}/{{path:path}}")
    async def metadata(bucket: str, path: str, request: Request) -> JSONResponse:
        check(request, bucket, path, folder_ok=True)
        return JSONResponse(_metadata(storage, bucket, path, request.query_params))
