"""In-memory file storage with DIAL Core's bucket and files endpoints, one bucket per identity."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import quote, unquote

from aidial_sdk import HTTPException as DIALException
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

ANONYMOUS = "anonymous"


def bucket_for(identity: str) -> str:
    """The bucket of a caller (``key:...``, ``token:...`` or ``anonymous``).

    DIAL Core's buckets are opaque encrypted ids derived from the key's project or the
    token's user; a hash gives the same properties (stable, distinct, reveals nothing).
    """
    digest = hashlib.sha256(identity.encode()).hexdigest()
    return f"bucket-{digest[:20]}"


def caller_bucket(request: Request) -> str:
    """The bucket of whoever made ``request`` (set by the auth middleware)."""
    return str(getattr(request.state, "dial_bucket", "") or bucket_for(ANONYMOUS))


def encode_path(path: str) -> str:
    """Each segment percent-encoded, as Core's ``UrlUtil.encodePath`` does (Guava's
    path-segment escaper keeps unreserved characters, sub-delims, ':' and '@')."""
    return quote(path, safe="/!$&'()*+,;=:@")


@dataclass
class StoredFile:
    data: bytes
    content_type: str
    updated_at: int


class FileStorage:
    """Files of one emulator process: ``files[bucket][path]``, paths decoded."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, StoredFile]] = {}

    def put(self, bucket: str, path: str, data: bytes, content_type: str) -> dict[str, Any]:
        """Store ``data`` at ``path`` in ``bucket`` and return DIAL's metadata for it."""
        stored = StoredFile(data, content_type, int(time.time() * 1000))
        self.files.setdefault(bucket, {})[path] = stored
        return self.metadata(bucket, path)

    def get(self, bucket: str, path: str) -> StoredFile | None:
        return self.files.get(bucket, {}).get(path)

    def delete(self, bucket: str, path: str) -> bool:
        return self.files.get(bucket, {}).pop(path, None) is not None

    def url(self, bucket: str, path: str) -> str:
        return f"files/{bucket}/{encode_path(path)}"

    def metadata(self, bucket: str, path: str) -> dict[str, Any]:
        stored = self.files[bucket][path]
        parent, _, name = path.rpartition("/")
        return {
            "name": name,
            "parentPath": parent or None,
            "bucket": bucket,
            "url": self.url(bucket, path),
            "nodeType": "ITEM",
            "resourceType": "FILE",
            "updatedAt": stored.updated_at,
            "contentType": stored.content_type,
            "contentLength": len(stored.data),
        }

    def resolve(self, url: str) -> StoredFile | None:
        """The stored file an attachment url points at: ``files/<bucket>/<path>``,
        absolute or relative, or None when it points elsewhere."""
        marker = "files/"
        if url.startswith(marker):
            rest = url[len(marker) :]
        elif "/v1/files/" in url:
            rest = url.split("/v1/files/", 1)[1]
        else:
            return None
        bucket, _, path = rest.partition("/")
        return self.get(unquote(bucket), unquote(path))


def parse_multipart_file(content_type: str, body: bytes) -> tuple[bytes, str] | None:
    """The bytes and content type of the ``file`` field of a multipart/form-data body.

    Written with the standard library so the emulator needs no python-multipart.
    """
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        return None
    # Prefixing CRLF makes every delimiter, the first one included, "\r\n--boundary".
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = Message()
        for line in head.decode("latin-1").split("\r\n"):
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip()] = value.strip()
        if headers.get_param("name", header="content-disposition") == "file":
            return data, headers.get_content_type() if headers["content-type"] else ""
    return None


def _error(status: int, message: str) -> DIALException:
    return DIALException(message, status_code=status, type="invalid_request_error")


def add_storage_routes(app: FastAPI, storage: FileStorage) -> None:
    """Register ``/v1/bucket`` and ``/v1/files/{bucket}/{path}`` on ``app``."""

    def check(request: Request, bucket: str, path: str) -> None:
        if bucket != caller_bucket(request):
            raise _error(403, f"You don't have access to the bucket {bucket}")
        if not path or path.endswith("/"):
            raise _error(400, "A file path must not be empty or end with '/'")

    @app.get("/v1/bucket")
    async def get_bucket(request: Request) -> JSONResponse:
        return JSONResponse({"bucket": caller_bucket(request)})

    @app.put("/v1/files/{bucket}/{path:path}")
    async def upload(bucket: str, path: str, request: Request) -> JSONResponse:
        check(request, bucket, path)
        parsed = parse_multipart_file(request.headers.get("content-type", ""), await request.body())
        if parsed is None:
            raise _error(400, "Expected a multipart/form-data body with a 'file' field")
        data, content_type = parsed
        return JSONResponse(
            storage.put(bucket, path, data, content_type or "application/octet-stream")
        )

    @app.get("/v1/files/{bucket}/{path:path}")
    async def download(bucket: str, path: str, request: Request) -> Response:
        check(request, bucket, path)
        stored = storage.get(bucket, path)
        if stored is None:
            raise _error(404, f"File files/{bucket}/{path} is not found")
        return Response(stored.data, media_type=stored.content_type)

    @app.delete("/v1/files/{bucket}/{path:path}")
    async def delete(bucket: str, path: str, request: Request) -> Response:
        check(request, bucket, path)
        if not storage.delete(bucket, path):
            raise _error(404, f"File files/{bucket}/{path} is not found")
        return Response(status_code=200)
