"""Push and pull: local conversations <-> DIAL storage, never overwriting silently.

Push sends what changed locally since the last push or pull (``If-Match`` with the
ETag then seen; ``If-None-Match: *`` for a first push). When DIAL's copy changed too
(412, or a new ETag on a conversation unchanged here), it is fetched: if it only has
turns appended after ours, they are taken; otherwise ours goes up as a new
conversation, ``name (2)``, and the outcome says so.

Pull fetches what changed remotely: a new conversation becomes a new local one; a
linked one is updated if it did not change here (or DIAL's copy extends ours); if
both changed, DIAL's copy is saved as a separate local conversation.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dialcli.conversation import Conversation
from dialcli.errors import ServerError
from dialcli.remote import names
from dialcli.remote.dialchat import BadEntry, from_dialchat, text_of, to_dialchat
from dialcli.remote.links import Link, Links, digest
from dialcli.remote.storage import Conflict, StorageClient

if TYPE_CHECKING:
    from dialcli.store import Store

MAX_NUMBERED = 50  # name (2) … name (50): past that something else is wrong


@dataclass
class Outcome:
    action: str
    local_id: str
    name: str
    note: str = ""


def extends(longer: Conversation, shorter: Conversation) -> bool:
    """True if ``longer`` is ``shorter`` with turns appended (or the same turns)."""
    if (longer.system or "") != (shorter.system or ""):
        return False
    if len(longer.messages) < len(shorter.messages):
        return False
    return all(
        a.role == b.role and text_of(a.content) == text_of(b.content)
        for a, b in zip(longer.messages, shorter.messages, strict=False)
    )


class Remote:
    """One bucket of DIAL storage, the local store and the map between them."""

    def __init__(self, client: StorageClient, store: Store, links: Links, bucket: str) -> None:
        self.client = client
        self.store = store
        self.links = links
        self.bucket = bucket

    # -- urls ----------------------------------------------------------------------------

    def folder_url(self, folder: str | None) -> str:
        root = f"conversations/{self.bucket}/"
        return root + names.encode_path(folder) + "/" if folder else root

    def _item_url(self, folder: str, model: str, name: str) -> str:
        # As DIAL Chat builds it: a '/' in a model id makes folders, like its encodeApiUrl.
        return self.folder_url(folder) + names.encode_path(names.conversation_key(model, name))

    def _folder_id(self, folder: str) -> str:
        # DIAL Chat's root folder id has no trailing slash: conversations/{bucket}
        return f"conversations/{self.bucket}/{folder}".rstrip("/")

    # -- push ----------------------------------------------------------------------------

    def push(self, conv: Conversation, folder: str) -> Outcome:
        link = self.links.get(conv.id)
        if link is not None and not link.url.startswith(self.folder_url(None)):
            link = None  # linked in another bucket: this push makes a copy here
        if link is None:
            base = names.prepare_name(conv.title or _first_question(conv))
            return self._create(conv, folder, base, first=1, action="created")
        if digest(conv) == link.digest:
            etag = self.client.etag(link.url)
            if etag == link.etag:
                return Outcome("up to date", conv.id, link.name)
            if etag is None:  # deleted in DIAL Chat: put it back where it was
                return self._create(conv, link.folder, link.name, first=1, action="re-created")
            return self._conflict(conv, link)
        doc = to_dialchat(conv, self._folder_id(link.folder), link.name)
        try:
            etag = self.client.put(link.url, doc, if_match=link.etag)
        except Conflict:
            return self._conflict(conv, link)
        self._link(conv, link.url, etag, link.name, link.folder)
        return Outcome("updated", conv.id, link.name)

    def _create(
        self, conv: Conversation, folder: str, base: str, *, first: int, action: str, note: str = ""
    ) -> Outcome:
        for n in range(first, MAX_NUMBERED + 1):
            name = base if n == 1 else names.numbered(base, n)
            url = self._item_url(folder, conv.model, name)
            try:
                etag = self.client.put(url, to_dialchat(conv, self._folder_id(folder), name))
            except Conflict:
                continue  # a different conversation has this name there
            self._link(conv, url, etag, name, folder)
            if n > 1 and not note:
                note = f"'{base}' is taken in DIAL by another conversation"
            return Outcome(action, conv.id, name, note)
        raise ServerError(f"no free name for '{base}' in {folder} (tried up to ({MAX_NUMBERED}))")

    def _conflict(self, conv: Conversation, link: Link) -> Outcome:
        """DIAL's copy changed since we last saw it: take appended turns, or fork."""
        remote = self.client.get(link.url)
        theirs = _parse(remote.doc, link.name)
        if extends(theirs, conv):
            added = len(theirs.messages) - len(conv.messages)
            self._adopt(conv, theirs)
            self._link(conv, link.url, remote.etag, link.name, link.folder)
            note = f"took {added} newer message(s) from DIAL; nothing of yours was lost"
            return Outcome("took theirs", conv.id, link.name, note)
        note = f"DIAL's '{link.name}' was changed there too and is left as it is"
        return self._create(
            conv, link.folder, link.name, first=2, action="pushed as new", note=note
        )

    def _adopt(self, conv: Conversation, theirs: Conversation) -> None:
        read = list(conv.messages)  # the file must still hold these (Store.save)
        conv.messages = theirs.messages
        conv.system = theirs.system
        conv.model = theirs.model
        if "dialchat" in theirs.extra:
            conv.extra["dialchat"] = theirs.extra["dialchat"]
        self.store.save(conv, expected=read)

    def _link(
        self, conv: Conversation, url: str, etag: str, name: str, folder: str, updated: int = 0
    ) -> None:
        self.links.set(conv.id, Link(url, etag, name, digest(conv), folder, updated))

    # -- pull ----------------------------------------------------------------------------

    def listing(self, folder: str | None) -> Iterator[dict[str, Any]]:
        for item in self.client.listing(self.folder_url(folder)):
            if item.get("nodeType") == "ITEM" and isinstance(item.get("url"), str):
                yield item

    def pull(self, item: dict[str, Any]) -> Outcome:
        url, updated = str(item["url"]), _int(item.get("updatedAt"))
        local_id = self.links.by_url(url)
        link = self.links.get(local_id) if local_id else None
        local = self._load(local_id)
        key = str(item.get("name") or url.rsplit("/", 1)[-1])
        name = names.parse_key(key)[1]
        if local is not None and link is not None and link.remote_updated == updated:
            return Outcome("up to date", local.id, link.name)
        remote = self.client.get(url)
        if local is not None and link is not None and remote.etag == link.etag:
            self.links.set(local.id, Link(**{**link.__dict__, "remote_updated": updated}))
            return Outcome("up to date", local.id, link.name)
        theirs = _parse(remote.doc, name)
        folder = str(item.get("parentPath") or "")
        if local is None or link is None:
            if local_id is not None:
                self.links.drop(local_id)  # its local conversation was deleted
            theirs.extra["source"] = {"app": "dialchat", "url": url}
            self.store.create(theirs)
            self._link(theirs, url, remote.etag, name, folder, updated)
            return Outcome("new", theirs.id, name)
        if digest(local) == link.digest or extends(theirs, local):
            added = len(theirs.messages) - len(local.messages)
            self._adopt(local, theirs)
            self._link(local, url, remote.etag, link.name, link.folder, updated)
            note = f"{added:+d} message(s)" if added else "changed in DIAL"
            return Outcome("updated", local.id, link.name, note)
        if extends(local, theirs):
            # Ours has more turns: remember DIAL's version so the next push updates it.
            self.links.set(
                local.id, Link(**{**link.__dict__, "etag": remote.etag, "remote_updated": updated})
            )
            return Outcome(
                "kept yours", local.id, link.name, "yours has newer turns: dial history push"
            )
        theirs.id = str(uuid.uuid4())
        theirs.extra["source"] = {"app": "dialchat", "url": url}
        self.store.create(theirs)
        note = f"both changed: DIAL's copy saved as {theirs.id[:8]}, yours left as it is"
        return Outcome("kept both", local.id, link.name, note)

    def _load(self, local_id: str | None) -> Conversation | None:
        if local_id is None:
            return None
        from dialcli.errors import NotFoundError

        try:
            return self.store.load(local_id)
        except NotFoundError:
            return None  # deleted here: pulled again as a new one


def _parse(doc: dict[str, Any], name: str) -> Conversation:
    try:
        return from_dialchat(doc, repr(name))
    except BadEntry as err:
        raise ServerError(f"conversation in DIAL cannot be read: {err}") from None


def _first_question(conv: Conversation) -> str:
    return next((text_of(m.content) for m in conv.messages if m.role == "user"), "")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
