"""Templates as DIAL prompts: DIAL Chat's prompt document and the prompts storage.

A prompt is ``PUT /v1/prompts/{bucket}/{path}`` with DIAL Chat's body
(epam/ai-dial-chat ``apps/chat/src/types/prompt.ts``: ``id``, ``name``, ``folderId``,
``description``, ``content``; the last path segment is the name,
``apps/chat/src/utils/server/api.ts`` ``getPromptApiKey``). DIAL Core requires ``id``,
``folderId``, ``name`` and ``content`` and ignores other fields
(``data/Prompt.java``, ``@JsonIgnoreProperties(ignoreUnknown = true)``), storing the
body as sent: a template's settings (system prompt, model, …) travel in an extra
``dial`` object that DIAL Chat does not show. The storage calls are the same resource
API as conversations (``remote/storage.py``).

Push and pull are ETag-safe: the ETag seen at the last push or pull of each template,
and a digest of the local file then, are kept in ``templates/.sync.json``. A push with a
known ETag sends ``If-Match`` (412 if DIAL's copy changed since); a first push sends
``If-None-Match: *`` (412 if a prompt of that name is there). A pull never replaces a
local file that changed since it was last pushed or pulled.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialcli.errors import DialError, ServerError, StorageError
from dialcli.remote.names import decode_path, encode_path
from dialcli.remote.storage import Conflict, StorageClient
from dialcli.templates import LocalTemplates, Template, dumps, from_mapping

if TYPE_CHECKING:
    from dialcli.remote.storage import Resource

KIND = "prompts"
EXTRA = "dial"  # our settings inside a prompt document


def prompt_url(bucket: str, name: str) -> str:
    return f"{KIND}/{bucket}/{encode_path(name)}"


def to_prompt(template: Template, bucket: str) -> dict[str, Any]:
    """DIAL Chat's prompt document for ``template``."""
    folder, _, leaf = template.name.rpartition("/")
    folder_id = f"{KIND}/{bucket}" + (f"/{encode_path(folder)}" if folder else "")
    doc: dict[str, Any] = {
        "id": prompt_url(bucket, template.name),
        "name": leaf,
        "folderId": folder_id,
        "description": template.description or "",
        "content": template.prompt,
    }
    extra = {k: v for k, v in template.settings().items() if k != "description"}
    if extra:
        doc[EXTRA] = extra
    return doc


def from_prompt(doc: dict[str, Any], name: str) -> Template:
    """A template from a prompt document (one DIAL Chat wrote, or ours)."""
    content = doc.get("content")
    if not isinstance(content, str):
        raise ServerError(f"DIAL prompt {name!r} has no text content")
    data: dict[str, Any] = {"prompt": content}
    description = doc.get("description")
    if isinstance(description, str) and description:
        data["description"] = description
    extra = doc.get(EXTRA)
    if isinstance(extra, dict):
        data.update({k: v for k, v in extra.items() if k not in ("prompt", "description")})
    return from_mapping(name, data, f"DIAL prompt {name!r}")


class SyncState:
    """``templates/.sync.json``: per template, the ETag and local digest at last sync."""

    def __init__(self, root: Path) -> None:
        self.path = root / ".sync.json"
        self._data: dict[str, dict[str, str]] | None = None

    def _load(self) -> dict[str, dict[str, str]]:
        if self._data is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                data = {}
            except (OSError, ValueError) as err:
                raise StorageError(f"cannot read {self.path}: {err}") from None
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def get(self, name: str) -> dict[str, str]:
        entry = self._load().get(name)
        return entry if isinstance(entry, dict) else {}

    def set(self, name: str, etag: str, text: str) -> None:
        data = self._load()
        data[name] = {"etag": etag, "digest": digest(text)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".sync.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a reader sees the old map or the new


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Prompts:
    """The prompts of one bucket, and the local templates they sync with."""

    def __init__(self, client: StorageClient, bucket: str, local: LocalTemplates) -> None:
        self.client = client
        self.bucket = bucket
        self.local = local
        self.state = SyncState(local.root)

    def fetch(self, name: str) -> tuple[Template, Resource]:
        resource = self.client.get(prompt_url(self.bucket, name))
        return from_prompt(resource.doc, name), resource

    def names(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(name, metadata) of every prompt in the bucket, folders walked."""
        prefix = f"{KIND}/{self.bucket}/"
        for item in self.client.listing(prefix, recursive=True):
            url = str(item.get("url") or "")
            if item.get("nodeType") == "ITEM" and url.startswith(prefix):
                yield decode_path(url[len(prefix) :]), item

    def push(self, name: str) -> str:
        """Upload the local template; the ETag DIAL gave it. Conflict on 412."""
        template = self.local.load(name)
        text = self.local.path(name).read_text(encoding="utf-8")
        known = self.state.get(name).get("etag") or None
        doc = to_prompt(template, self.bucket)
        try:
            etag = self.client.put(prompt_url(self.bucket, name), doc, if_match=known)
        except Conflict:
            if known:
                raise Conflict(
                    f"DIAL's prompt {name!r} changed since your last push or pull; nothing "
                    f"was overwritten. Take DIAL's version with 'dial templates pull {name}', "
                    "or push yours under another name",
                    status=412,
                ) from None
            raise Conflict(
                f"a prompt {name!r} already exists in DIAL; nothing was overwritten. "
                f"Run 'dial templates pull {name}' first, or push under another name",
                status=412,
            ) from None
        self.state.set(name, etag, text)
        return etag

    def pull(self, name: str) -> bool:
        """Save DIAL's prompt as the local template; False if it was already the same.

        Refuses (Conflict) when the local file changed since its last sync.
        """
        template, resource = self.fetch(name)
        text = dumps(template)
        path = self.local.path(name)
        current = _read(path)
        if current == text:
            self.state.set(name, resource.etag, text)
            return False
        record = self.state.get(name)
        if current is not None and record.get("digest") != digest(current):
            raise Conflict(
                f"the local template {name!r} has edits that were never pushed; nothing was "
                f"overwritten. To take DIAL's version instead, keep a copy of yours "
                f"('dial templates show {name} > mine.toml') and delete it first",
                status=412,
            )
        self.local.save(template)
        self.state.set(name, resource.etag, text)
        return True


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise DialError(f"cannot read {path}: {err}") from None
