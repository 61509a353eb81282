"""dial history push / pull / list --remote against the emulator's DIAL storage, both backends.

A test plays DIAL Chat with plain HTTP (GET, then PUT with If-Match, as DIAL Chat's
conversation storage does), so every conflict path meets a real ETag check.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


class DialChat:
    """What DIAL Chat does to a stored conversation, over HTTP."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"Api-Key": key})
        self.bucket = self.http.get("/v1/bucket").json()["bucket"]

    def listing(self, folder: str) -> list[dict[str, Any]]:
        reply = self.http.get(
            f"/v1/metadata/conversations/{self.bucket}/{folder}/", params={"recursive": "true"}
        )
        return reply.json()["items"] if reply.status_code == 200 else []

    def get(self, url: str) -> tuple[dict[str, Any], str]:
        reply = self.http.get(f"/v1/{url}")
        reply.raise_for_status()
        return reply.json(), reply.headers["etag"]

    def put(self, url: str, doc: dict[str, Any], etag: str | None = None) -> httpx.Response:
        headers = {"If-Match": etag} if etag else {"If-None-Match": "*"}
        return self.http.put(f"/v1/{url}", json=doc, headers=headers)

    def append_turn(self, url: str, question: str, answer: str) -> None:
        doc, etag = self.get(url)
        doc["messages"] += [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer, "model": doc["model"], "like": 1},
        ]
        assert self.put(url, doc, etag).status_code == 200


@pytest.fixture
def chat(emulator) -> DialChat:
    return DialChat(emulator.url, emulator.api_key)


@pytest.fixture
def folder() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"  # the emulator is shared: each test its own folder


def dial(*args: str, home: Path | None = None) -> tuple[int, str, str]:
    if home is not None:
        os.environ["DIAL_HOME"] = str(home)
    result = run_dial(list(args))
    return result.code, result.stdout, result.stderr


def local(conv_id: str) -> dict[str, Any]:
    path = Path(os.environ["DIAL_HOME"]) / "conversations" / f"{conv_id}.json"
    return json.loads(path.read_bytes())


def new_conversation(backend: str, *questions: str, system: str | None = None) -> str:
    first, *rest = questions
    args = ["ask", "--backend", backend, "-m", "echo", first]
    assert dial(*args, *(["-s", system] if system else []))[0] == 0
    for question in rest:
        assert dial("ask", "--backend", backend, "-c", question)[0] == 0
    _code, out, _ = dial("history", "list")
    return out.split("\t", 1)[0]


def turns(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in doc["messages"]]


def test_push_then_pull_into_an_empty_home_gives_back_the_same(
    backend_name, chat, folder, tmp_path
):
    conv_id = new_conversation(backend_name, "first question", "second", system="Be brief.")
    code, out, err = dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    assert (code, err) == (0, "")
    assert out.split() == ["created", conv_id, "first", "question"]
    original = local(conv_id)

    code, out, err = dial(
        "history", "pull", "--folder", folder, "--backend", backend_name, home=tmp_path / "other"
    )
    assert code == 0, err
    action, pulled_id, *_ = out.split()
    assert action == "new" and pulled_id != conv_id
    pulled = local(pulled_id)
    for key in ("model", "system", "title"):
        assert pulled[key] == original[key]
    assert pulled["messages"] == original["messages"]  # every field of every message


def test_a_conversation_continued_in_dial_chat_is_pulled_continued_and_pushed(
    backend_name, chat, folder
):
    conv_id = new_conversation(backend_name, "plan the trip")
    dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    [item] = chat.listing(folder)
    assert item["name"] == "echo__plan the trip"
    chat.append_turn(item["url"], "from the browser", "browser answer")

    code, out, _ = dial("history", "pull", "--folder", folder, "--backend", backend_name)
    assert (code, out.split()[:2]) == (0, ["updated", conv_id])
    assert "+2 message(s)" in out
    assert turns(local(conv_id))[2:] == [
        ("user", "from the browser"),
        ("assistant", "browser answer"),
    ]
    assert local(conv_id)["messages"][3]["like"] == 1  # DIAL Chat's own fields are kept

    assert dial("ask", "--backend", backend_name, "--cid", conv_id, "back in the terminal")[0] == 0
    code, out, _ = dial("history", "push", conv_id, "--backend", backend_name)
    assert out.split()[:2] == ["updated", conv_id]
    doc, _ = chat.get(item["url"])
    assert turns(doc)[-2:] == [
        ("user", "back in the terminal"),
        ("assistant", "back in the terminal"),
    ]
    assert len(chat.listing(folder)) == 1


def test_push_takes_turns_appended_in_dial_chat_instead_of_overwriting(backend_name, chat, folder):
    conv_id = new_conversation(backend_name, "hello")
    dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    [item] = chat.listing(folder)
    chat.append_turn(item["url"], "more", "more from DIAL")

    code, out, _ = dial("history", "push", conv_id, "--backend", backend_name)
    assert code == 0
    assert out.split()[:3] == ["took", "theirs", conv_id]
    assert "took 2 newer message(s) from DIAL" in out
    assert turns(local(conv_id))[-1] == ("assistant", "more from DIAL")
    doc, _ = chat.get(item["url"])
    assert len(doc["messages"]) == 4
    # The map now holds DIAL's ETag: the next push has nothing to do.
    assert dial("history", "push", conv_id, "--backend", backend_name)[1].startswith("up to date")


def test_push_when_both_sides_changed_keeps_theirs_and_pushes_ours_as_name_2(
    backend_name, chat, folder
):
    conv_id = new_conversation(backend_name, "shared start")
    dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    [item] = chat.listing(folder)
    chat.append_turn(item["url"], "browser side", "browser answer")
    dial("ask", "--backend", backend_name, "--cid", conv_id, "terminal side")

    code, out, _ = dial("history", "push", conv_id, "--backend", backend_name)
    assert code == 0
    assert out.startswith(f"pushed as new {conv_id}  shared start (2)")
    assert "was changed there too and is left as it is" in out
    theirs, _ = chat.get(item["url"])
    assert turns(theirs)[-1] == ("assistant", "browser answer")  # not overwritten
    names = sorted(i["name"] for i in chat.listing(folder))
    assert names == ["echo__shared start", "echo__shared start (2)"]
    ours, _ = chat.get(next(i["url"] for i in chat.listing(folder) if "(2)" in i["name"]))
    assert turns(ours)[-1] == ("assistant", "terminal side")


def test_first_push_under_a_name_taken_by_another_conversation_uses_name_2(
    backend_name, chat, folder
):
    taken = f"conversations/{chat.bucket}/{folder}/echo__same title"
    doc = {"id": "x", "folderId": "f", "name": "same title", "prompt": "", "temperature": 1,
           "model": {"id": "echo"}, "messages": []}  # fmt: skip
    assert chat.put(taken.replace(" ", "%20"), doc).status_code == 200
    conv_id = new_conversation(backend_name, "same title")
    _code, out, _ = dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    assert out.startswith(f"created       {conv_id}  same title (2)")
    assert "'same title' is taken in DIAL by another conversation" in out
    assert chat.get(taken.replace(" ", "%20"))[0]["messages"] == []


def test_pull_when_both_sides_changed_keeps_both(backend_name, chat, folder):
    conv_id = new_conversation(backend_name, "diverge")
    dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    [item] = chat.listing(folder)
    chat.append_turn(item["url"], "remote turn", "remote answer")
    dial("ask", "--backend", backend_name, "--cid", conv_id, "local turn")

    code, out, _ = dial("history", "pull", "--folder", folder, "--backend", backend_name)
    assert code == 0
    assert out.split()[:3] == ["kept", "both", conv_id]
    copy_prefix = out.split("saved as ")[1].split(",")[0]
    assert turns(local(conv_id))[-1] == ("assistant", "local turn")
    _code, listed, _ = dial("history", "list")
    copy_id = next(
        line.split("\t")[0] for line in listed.splitlines() if line.startswith(copy_prefix)
    )
    assert turns(local(copy_id))[-1] == ("assistant", "remote answer")


def test_pull_since_skips_conversations_not_changed_since(backend_name, chat, folder):
    new_conversation(backend_name, "old one")
    dial("history", "push", "last", "--folder", folder, "--backend", backend_name)
    code, out, _ = dial(
        "history", "pull", "--folder", folder, "--since", "2999-01-01", "--backend", backend_name
    )
    assert (code, out) == (0, "")
    code, out, err = dial("history", "pull", "--since", "yesterday")
    assert code == 2 and "invalid --since 'yesterday'" in err


def test_list_remote_shows_the_listing_and_downloads_nothing(backend_name, chat, folder, tmp_path):
    conv_id = new_conversation(backend_name, "listed here")
    dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    code, out, _ = dial("history", "list", "--remote", "--folder", folder)
    assert code == 0
    _updated, shown_folder, model, linked, name = out.rstrip("\n").split("\t")
    assert (shown_folder, model, linked, name) == (folder, "echo", conv_id, "listed here")
    code, out, _ = dial("history", "list", "--remote", "--folder", folder, home=tmp_path / "h2")
    assert out.rstrip("\n").split("\t")[3] == ""  # not linked there
    assert not (tmp_path / "h2" / "conversations").exists()


def test_an_empty_or_missing_remote_folder_lists_nothing(backend_name):
    assert dial("history", "list", "--remote", "--folder", "never-used-folder") == (0, "", "")
    code, out, err = dial("history", "pull", "--folder", "never-used", "--backend", backend_name)
    assert (code, out, err) == (0, "", "")


def test_someone_elses_bucket_is_explained_with_the_token_hint(backend_name, folder):
    new_conversation(backend_name, "private")
    code, out, err = dial(
        "history", "push", "last", "--bucket", "someone-else", "--backend", backend_name
    )
    assert code == 3 and out == ""
    assert "bucket someone-else is not the bucket of these credentials" in err
    assert "DIAL_TOKEN" in err
    assert err.count("\n") == 1


def test_push_needs_ids_or_all():
    code, _, err = dial("history", "push")
    assert code == 2 and "give --all" in err


def test_listing_follows_next_token(backend_name, chat, folder, emulator):
    from dialcli.config import resolve_settings
    from dialcli.debuglog import NO_LOG
    from dialcli.remote.storage import StorageClient
    from dialcli.remote.transports import make_transport

    for n in range(5):
        doc = {"id": str(n), "folderId": "f", "name": f"c{n}", "prompt": "", "temperature": 1,
               "model": {"id": "echo"}, "messages": []}  # fmt: skip
        chat.put(f"conversations/{chat.bucket}/{folder}/sub/echo__c{n}", doc)
    settings = resolve_settings({"backend": backend_name})
    pages: list[str] = []

    class Counting:
        def __init__(self) -> None:
            self.inner = make_transport(settings, NO_LOG)

        def send(self, method: str, path: str, **kw: Any) -> Any:
            if path.startswith("/v1/metadata/"):
                pages.append((kw.get("params") or {}).get("token", ""))
            return self.inner.send(method, path, **kw)

        def bucket(self) -> str:
            return self.inner.bucket()

        def close(self) -> None:
            self.inner.close()

    client = StorageClient(Counting(), page_size=2)
    items = list(client.listing(f"conversations/{chat.bucket}/{folder}/"))
    client.close()
    assert [i["name"] for i in items] == [f"echo__c{n}" for n in range(5)]
    assert len(pages) == 3 and pages[0] == "" and all(pages[1:])


def test_verbose_push_logs_the_conditional_requests_without_the_key(backend_name, emulator, folder):
    conv_id = new_conversation(backend_name, "logged")
    args = ["history", "push", conv_id, "--folder", folder, "--backend", backend_name, "-v"]
    code, _, err = dial(*args)
    assert code == 0
    assert "> PUT " in err and "if-none-match: *" in err.lower()
    assert emulator.api_key not in err


def test_a_conversation_deleted_in_dial_chat_is_put_back_on_push(backend_name, chat, folder):
    conv_id = new_conversation(backend_name, "deleted there")
    dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    [item] = chat.listing(folder)
    assert chat.http.delete(f"/v1/{item['url']}").status_code == 200
    code, out, _ = dial("history", "push", conv_id, "--backend", backend_name)
    assert code == 0
    assert out.split()[:2] == ["re-created", conv_id]
    assert [i["name"] for i in chat.listing(folder)] == ["echo__deleted there"]


def test_an_unreadable_map_is_reported_and_never_rewritten(backend_name):
    links = Path(os.environ["DIAL_HOME"]) / "remote" / "links.json"
    links.parent.mkdir(parents=True)
    links.write_text("{not json")
    new_conversation(backend_name, "anything")
    code, out, err = dial("history", "push", "last", "--backend", backend_name)
    assert code == 1 and out == ""
    assert err.startswith(f"dial: could not read {links}")
    assert links.read_text() == "{not json"


def test_a_conversation_started_in_dial_chat_is_pulled_resumed_in_chat_and_pushed_back(
    backend_name, chat, folder
):
    url = f"conversations/{chat.bucket}/{folder}/inspect__From the browser"
    started = {
        "id": f"conversations/{chat.bucket}/{folder}/inspect__From the browser",
        "folderId": f"conversations/{chat.bucket}/{folder}",
        "name": "From the browser",
        "model": {"id": "inspect"},
        "prompt": "Answer in French.",
        "temperature": 0.3,
        "selectedAddons": [],
        "lastActivityDate": 1764151200000,
        "messages": [
            {"role": "user", "content": "bonjour"},
            {"role": "assistant", "content": "salut", "model": {"id": "inspect"}, "like": -1},
        ],
    }
    assert chat.put(url.replace(" ", "%20"), started).status_code == 200
    code, out, _ = dial("history", "pull", "--folder", folder, "--backend", backend_name)
    assert out.split()[0] == "new"
    conv_id = out.split()[1]

    result = run_dial(["chat", "--backend", backend_name, "--resume", conv_id], "ça va?\n")
    assert result.code == 0
    sent = json.loads(result.stdout)["messages"]  # inspect answers with what it received
    assert [(m["role"], m["content"]) for m in sent] == [
        ("system", "Answer in French."),
        ("user", "bonjour"),
        ("assistant", "salut"),
        ("user", "ça va?"),
    ]

    code, out, _ = dial("history", "push", conv_id, "--backend", backend_name)
    assert (code, out.split()[:2]) == (0, ["updated", conv_id])
    doc, _ = chat.get(url.replace(" ", "%20"))
    assert len(doc["messages"]) == 4 and doc["messages"][1]["like"] == -1
    assert (doc["temperature"], doc["prompt"], doc["name"]) == (
        0.3,
        "Answer in French.",
        "From the browser",
    )


def test_the_token_reaches_the_users_own_bucket_and_the_key_is_told_so(
    backend_name, emulator, folder, monkeypatch
):
    conv_id = new_conversation(backend_name, "mine only")
    monkeypatch.setenv("DIAL_TOKEN", emulator.token)  # the user's own identity
    code, out, err = dial("history", "push", conv_id, "--folder", folder, "--backend", backend_name)
    assert (code, err) == (0, "") and out.startswith("created")
    user = DialChat(emulator.url, emulator.api_key)
    user.http.headers.pop("Api-Key")
    user.http.headers["Authorization"] = f"Bearer {emulator.token}"
    user.bucket = user.http.get("/v1/bucket").json()["bucket"]
    assert [i["name"] for i in user.listing(folder)] == ["echo__mine only"]

    monkeypatch.delenv("DIAL_TOKEN")  # back to the API key: its project's bucket
    assert dial("history", "list", "--remote", "--folder", folder) == (0, "", "")
    result = run_dial(["history", "list", "--remote", "--folder", folder], tty=True)
    assert "DIAL Chat shows your own bucket, which needs your bearer token (DIAL_TOKEN)" in (
        result.stderr
    )
    code, out, err = dial(
        "history", "list", "--remote", "--folder", folder, "--bucket", user.bucket
    )
    assert code == 3 and f"bucket {user.bucket} is not the bucket of these credentials" in err


def test_a_conversation_at_the_bucket_root_is_pulled_with_all_and_pushed_back_there(
    backend_name, emulator, folder, monkeypatch
):
    user = DialChat(emulator.url, emulator.api_key)
    user.http.headers.pop("Api-Key")
    user.http.headers["Authorization"] = f"Bearer {emulator.token}"
    user.bucket = user.http.get("/v1/bucket").json()["bucket"]
    name = f"root {folder}"
    url = f"conversations/{user.bucket}/echo__{name.replace(' ', '%20')}"
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    started = {
        "id": url,
        "folderId": f"conversations/{user.bucket}",
        "name": name,
        "prompt": "",
        "temperature": 1,
        "model": {"id": "echo"},
        "messages": messages,
    }
    assert user.put(url, started).status_code == 200
    monkeypatch.setenv("DIAL_TOKEN", emulator.token)

    code, out, _ = dial("history", "pull", "--all", "--backend", backend_name)
    [line] = [line for line in out.splitlines() if name in line]
    conv_id = line.split()[1]
    assert dial("ask", "--backend", backend_name, "--cid", conv_id, "more")[0] == 0
    code, out, _ = dial("history", "push", conv_id, "--backend", backend_name)
    assert (code, out.split()[:2]) == (0, ["updated", conv_id])
    doc, _ = user.get(url)
    assert doc["folderId"] == f"conversations/{user.bucket}" and len(doc["messages"]) == 4
