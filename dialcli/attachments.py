"""Attachments: files and URLs going in with a question, files coming back with an answer."""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialcli.bounded import mib, read_at_most
from dialcli.errors import DialError, StorageError, UsageError
from dialcli.private_dirs import private_dir
from dialcli.sanitize import one_line

if TYPE_CHECKING:
    from dialcli.backends.base import Backend
    from dialcli.output import IOStreams

UPLOAD_FOLDER = "dial-cli"
MAX_ATTACHMENT_BYTES = 64 * 1024 * 1024
MAX_NAME_BYTES = 200
_URL = re.compile(r"^(https?://|files/)", re.IGNORECASE)


def mime_type(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


def is_url(ref: str) -> bool:
    return bool(_URL.match(ref))


def read_local(ref: str) -> bytes:
    """The bytes of a local file to attach, or a clear error saying why not."""
    path = Path(ref).expanduser()
    try:
        data = read_at_most(path, MAX_ATTACHMENT_BYTES)  # st_size is 0 for /dev/zero, pipes
    except FileNotFoundError:
        raise UsageError(f"cannot attach {ref}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot attach {ref}: it is a directory") from None
    except OSError as err:
        raise UsageError(f"cannot attach {ref}: {err.strerror}") from None
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise UsageError(f"cannot attach {ref}: larger than {mib(MAX_ATTACHMENT_BYTES)}")
    return data


def prepare(refs: list[str], backend: Backend) -> list[dict[str, Any]]:
    """Attachments for a user message: URLs as they are, local files uploaded first.

    Every local file is read before anything is uploaded, so a missing one fails
    before any request is made.
    """
    local = {ref: read_local(ref) for ref in refs if not is_url(ref)}
    attachments: list[dict[str, Any]] = []
    bucket = backend.bucket() if local else ""
    batch = uuid.uuid4().hex[:12]
    for ref in refs:
        name = ref.rstrip("/").rsplit("/", 1)[-1] or ref
        if ref in local:
            name = Path(ref).name
            try:
                url = backend.upload_file(
                    f"{bucket}/{UPLOAD_FOLDER}/{batch}/{name}", local[ref], mime_type(name)
                )
            except DialError as err:
                err.message = f"could not upload {ref}: {err.message}"
                raise
        elif ref.lower().startswith("files/"):
            # A DIAL path typed by hand ("files/<bucket>/My Report.txt"): Core parses
            # each segment as a URI, so what needs escaping is escaped (escapes stay).
            from dialcli.backends.base import encoded_url

            url = encoded_url(ref)
        else:
            url = ref
        attachments.append({"type": mime_type(name), "url": url, "title": name})
    return attachments


def describe(attachment: dict[str, Any]) -> str:
    """One line for stderr: title, type, and where it is."""
    title = attachment.get("title") or "(untitled)"
    kind = attachment.get("type") or "unknown type"
    where = attachment.get("url") or (
        "inline data" if attachment.get("data") is not None else "no content"
    )
    return one_line(f"attachment: {title} ({kind}) {where}")  # the server's words


def safe_name(title: str | None, fallback: str) -> str:
    """A file name from an untrusted title: no directories, no dot-names, no NULs."""
    name = title if isinstance(title, str) else ""  # a server may send any JSON value
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "\0:")
    name = name.strip().lstrip(".")
    # File systems limit a name to 255 bytes, not characters: leave room for " (999)".
    name = name.encode("utf-8")[:MAX_NAME_BYTES].decode("utf-8", "ignore")
    return name or fallback


def _create_exclusive(folder: Path, name: str, data: bytes) -> Path:
    """Write a new file in ``folder`` without ever replacing one: `x.png`, `x (1).png`…"""
    stem, dot, ext = name.rpartition(".")
    if not stem:
        stem, dot, ext = name, "", ""
    for n in range(1000):
        candidate = folder / (name if n == 0 else f"{stem} ({n}){dot}{ext}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        except FileExistsError:
            continue
        except OSError as err:  # the answer is saved already; this file is not
            raise StorageError(
                f"could not save attachment {name!r}: {err.strerror} ({folder})"
            ) from None
        return candidate
    raise UsageError(f"cannot save {name}: too many files with that name in {folder}")


def save(attachments: list[dict[str, Any]], backend: Backend, folder: Path) -> list[Path]:
    """Write each attachment into ``folder``: inline data decoded, DIAL files downloaded."""
    folder = folder.expanduser()
    try:
        private_dir(folder)  # answers' files are as private as the answers
    except OSError as err:
        raise UsageError(f"cannot save attachments in {folder}: {err.strerror}") from None
    written = []
    for index, attachment in enumerate(attachments):
        name = safe_name(attachment.get("title"), f"attachment-{index + 1}")
        if attachment.get("data") is not None:
            try:
                data = base64.b64decode(attachment["data"], validate=True)
            except (ValueError, TypeError):
                data = str(attachment["data"]).encode()  # text attachments are sent raw
        elif str(attachment.get("url", "")).startswith("files/"):
            data = backend.download_file(attachment["url"])
        else:
            continue  # an external URL: listed, not fetched
        written.append(_create_exclusive(folder, name, data))
    return written


def listed(custom_content: Any) -> list[dict[str, Any]]:
    """The attachments of an answer's custom_content: only objects, whatever was sent."""
    found = custom_content.get("attachments") if isinstance(custom_content, dict) else None
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


def report(
    io: IOStreams, backend: Backend, custom_content: dict[str, Any] | None, folder: Path | None
) -> None:
    """List an answer's attachments on stderr; save them into ``folder`` when given."""
    found = listed(custom_content)
    for attachment in found:
        io.err(describe(attachment))
    if found and folder is not None:
        for path in save(found, backend, folder):
            io.err(f"saved: {path}")
