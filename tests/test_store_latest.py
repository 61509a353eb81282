"""The "latest" pointer and the journaled listing: trusted only while they hold.

``ask -c``, ``--cid last``, ``history show last`` and ``chat -c`` find the latest
conversation through ``Store.latest``: the pointer when the folder is as it left it and
the file it names agrees, else a listing. These tests break it in every way a user or
another tool could and check that the answer stays the listing's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest
from cli_harness import run_dial

import dialcli.store_index as store_index
from dialcli.conversation import Conversation, Message, Role
from dialcli.store import Store
from dialcli.store_cache import CACHE_DIR


def conv_at(updated: str, conv_id: str | None = None, text: str = "q") -> Conversation:
    kw = {"id": conv_id} if conv_id else {}
    conv = Conversation(model="echo", created=updated, updated=updated, **kw)
    conv.add(Role.USER, text)
    conv.add(Role.ASSISTANT, text)
    return conv


def pointer(store: Store) -> dict:
    return orjson.loads((store.path / CACHE_DIR / "latest").read_bytes())


def listing_latest(store: Store) -> str:
    """The latest the slow, sure way: every file read, no derived file used."""
    docs = [orjson.loads(p.read_bytes()) for p in store.path.glob("*.json")]
    return max(docs, key=lambda d: (d["updated"], d["id"]))["id"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "home")
    store.create(conv_at("2024-01-01T00:00:00.000Z"))
    store.create(conv_at("2024-01-03T00:00:00.000Z"))
    store.create(conv_at("2024-01-02T00:00:00.000Z"))
    return store


@pytest.fixture
def no_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any directory listing fail the test: the pointer alone must answer."""

    def refuse(*args, **kwargs):
        raise AssertionError("the folder was listed")

    monkeypatch.setattr(store_index, "listing", refuse)
    monkeypatch.setattr(os, "scandir", refuse)


def test_the_pointer_is_private_and_answers_without_listing(store, monkeypatch) -> None:
    expected = store.latest()  # the first answer lists (no pointer yet) and sets it
    assert expected == listing_latest(store)
    path = store.path / CACHE_DIR / "latest"
    assert path.stat().st_mode & 0o777 == 0o600
    assert pointer(store)["id"] == expected

    def refuse(*args, **kwargs):
        raise AssertionError("the folder was listed")

    monkeypatch.setattr(store_index, "listing", refuse)
    monkeypatch.setattr(os, "scandir", refuse)
    assert store.latest() == expected
    assert store.resolve("last") == expected


def test_each_write_moves_the_pointer_only_to_a_newer_conversation(store) -> None:
    newest = store.latest()
    older = conv_at("2023-06-01T00:00:00.000Z")
    store.create(older)  # saved now, but older by `updated`: not the latest
    assert pointer(store)["id"] == newest
    appended = store.append(older.id, [Message(Role.USER, "more")])  # bumps updated to now
    assert pointer(store)["id"] == older.id == listing_latest(store)
    assert pointer(store)["updated"] == appended.updated
    assert store.latest() == older.id


@pytest.mark.parametrize(
    "damage",
    [
        "missing",
        "garbage",
        "names a missing file",
        "names an older conversation",
        "a file another tool added",
        "a file another tool removed",
        "edited in place",
        "not a uuid",
    ],
)
def test_a_wrong_missing_or_stale_pointer_falls_back_to_the_listing(store, damage) -> None:
    store.latest()
    path = store.path / CACHE_DIR / "latest"
    doc = pointer(store)
    newest = store.path / f"{doc['id']}.json"
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"\x00not json")
    elif damage == "names a missing file":
        path.write_bytes(orjson.dumps({**doc, "id": "00000000-0000-4000-8000-000000000000"}))
    elif damage == "names an older conversation":
        oldest = min(store.summaries(), key=lambda s: s.updated)
        path.write_bytes(orjson.dumps({**doc, "id": oldest.id}))  # its updated differs
    elif damage == "a file another tool added":
        other = conv_at("2030-01-01T00:00:00.000Z")
        (store.path / f"{other.id}.json").write_bytes(orjson.dumps(other.to_dict()))
    elif damage == "a file another tool removed":
        newest.unlink()
    elif damage == "edited in place":  # same inode, the folder untouched
        data = orjson.loads(newest.read_bytes())
        data["updated"] = "2020-01-01T00:00:00.000Z"
        newest.write_bytes(orjson.dumps(data))
    elif damage == "not a uuid":
        path.write_bytes(orjson.dumps({**doc, "id": "../../etc/passwd"}))
    expected = listing_latest(store)
    assert store.latest() == expected
    assert pointer(store)["id"] == expected  # set again for the next run


def test_deleting_the_latest_moves_on_to_the_next(store) -> None:
    first = store.latest()
    store.delete(first)
    assert store.latest() == listing_latest(store) != first


def test_an_empty_or_missing_folder_has_no_latest(tmp_path: Path) -> None:
    assert Store(tmp_path / "nowhere").latest() is None
    store = Store(tmp_path / "home")
    conv = conv_at("2024-01-01T00:00:00.000Z")
    store.create(conv)
    store.delete(conv.id)
    assert store.latest() is None


def test_the_warm_listing_stats_only_the_rows_it_shows(store, monkeypatch) -> None:
    for n in range(20):
        store.create(conv_at(f"2025-01-{n + 1:02d}T00:00:00.000Z", text=f"n{n}"))
    expected = store.summaries(limit=3)  # a full pass: writes the index
    late = conv_at("2026-01-01T00:00:00.000Z")
    store.create(late)  # journaled
    stats: list[str] = []
    real_stat = os.stat
    monkeypatch.setattr(
        os, "stat", lambda p, *a, **k: stats.append(str(p)) or real_stat(p, *a, **k)
    )
    monkeypatch.setattr(os, "scandir", lambda *a: pytest.fail("the folder was listed"))
    top = store.summaries(limit=3)
    assert [s.id for s in top] == [late.id] + [s.id for s in expected[:2]]
    conversation_stats = [p for p in stats if p.endswith(".json")]
    assert len(conversation_stats) == 3


def test_a_file_replaced_by_another_tool_is_listed_as_it_is_now(store) -> None:
    store.summaries()
    victim = min(store.summaries(), key=lambda s: s.updated)
    path = store.path / f"{victim.id}.json"
    doc = orjson.loads(path.read_bytes())
    doc["title"], doc["updated"] = "Renamed over", "2031-01-01T00:00:00.000Z"
    tmp = store.path / "edit.tmp"
    tmp.write_bytes(orjson.dumps(doc))
    os.replace(tmp, path)  # as editors and sync tools save: a new inode, a rename
    top = store.summaries(limit=1)[0]
    assert (top.id, top.title) == (victim.id, "Renamed over")


@pytest.mark.usefixtures("dial_environ")
def test_ask_c_and_show_last_follow_a_conversation_another_tool_added(backend_name) -> None:
    assert run_dial(["ask", "--backend", backend_name, "-m", "echo", "first"]).code == 0
    folder = Path(os.environ["DIAL_HOME"]) / "conversations"
    assert run_dial(["history", "show", "last"]).stdout.count("first") >= 1
    other = conv_at("2099-01-01T00:00:00.000Z", text="from elsewhere")
    (folder / f"{other.id}.json").write_bytes(orjson.dumps(other.to_dict()))
    assert "from elsewhere" in run_dial(["history", "show", "last"]).stdout
    result = run_dial(["ask", "--backend", backend_name, "-c", "-m", "echo", "again"])
    assert result.code == 0, result.stderr
    saved = json.loads((folder / f"{other.id}.json").read_bytes())
    assert [m["content"] for m in saved["messages"]][-2:] == ["again", "again"]


# -- search: order from the index, hits as they are found ------------------------------


@pytest.mark.parametrize("needle", [b"zanzibar", b"quiz", b"the", b"a-1", b"42", b"jazz", b"k"])
def test_the_any_case_check_is_exactly_lowering_the_bytes(needle) -> None:
    import random

    from dialcli.store_search import contains_any_case

    check = contains_any_case(needle)
    rng = random.Random(needle)
    alphabet = b"zanibrquthe-142jkZANIBRQUTHE \n\xc3\xa9"
    for _ in range(3000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.3:  # plant it, in a random case
            word = bytes(c ^ 32 if chr(c).isalpha() and rng.random() < 0.5 else c for c in needle)
            cut = rng.randint(0, len(data))
            data = data[:cut] + word + data[cut:]
        assert check(data) == (needle in data.lower()), data


def test_search_yields_the_first_hit_before_reading_every_file(tmp_path, monkeypatch) -> None:
    import dialcli.store_search as store_module

    store = Store(tmp_path / "home")
    for n in range(30):
        store.create(conv_at(f"2025-01-{n + 1:02d}T00:00:00.000Z", text=f"word{n} needle"))
    reads: list[str] = []
    real = store_module.read_bytes
    monkeypatch.setattr(store_module, "read_bytes", lambda p: reads.append(p) or real(p))
    hits = store.iter_search("NEEDLE")
    first = next(hits)
    assert first.summary.updated.startswith("2025-01-30") and len(reads) == 1
    assert [h.summary.updated[:10] for h in hits][-1] == "2025-01-01"
    assert len(reads) == 30


def test_a_short_read_of_the_index_reads_on_when_more_rows_are_needed(tmp_path, monkeypatch):
    store = Store(tmp_path / "home")
    for n in range(40):
        store.create(conv_at(f"2025-02-{n % 28 + 1:02d}T00:{n:02d}:00.000Z", text=f"t{n}"))
    everything = store.summaries()  # a full pass: writes the index
    monkeypatch.setattr(store_index, "_PREFIX_BASE", 0)
    monkeypatch.setattr(store_index, "_PREFIX_ROW", 60)  # less than one row per row
    assert store.summaries(limit=25) == everything[:25]
    for conv_id in [s.id for s in everything[30:]]:  # journaled rows replace old ones
        store.append(conv_id, [Message(Role.USER, "bump")])
    assert store.summaries(limit=25) == Store(store.home).summaries()[:25]


def test_search_order_is_the_listing_order_with_journaled_writes(store) -> None:
    store.summaries()
    older = conv_at("2023-01-01T00:00:00.000Z", text="q")
    store.create(older)  # journaled, not the newest
    hits = [h.summary.id for h in store.search("q")]
    assert hits == [s.id for s in store.summaries()]


def test_concurrent_writers_leave_a_listing_and_pointer_that_agree(tmp_path) -> None:
    import subprocess
    import sys

    home = tmp_path / "home"
    Store(home).create(conv_at("2020-01-01T00:00:00.000Z"))
    Store(home).summaries()  # the index exists: the writers journal against it
    assert Store(home).latest()  # and the pointer: each writer moves it on
    script = (
        "import sys; from pathlib import Path; from dialcli.store import Store;"
        "from dialcli.conversation import Conversation, Message, Role\n"
        "store = Store(Path(sys.argv[1]))\n"
        "for n in range(15):\n"
        "    c = Conversation(model='m'); c.add(Role.USER, f'w{sys.argv[2]} {n}')\n"
        "    store.create(c); store.append(c.id, [Message(Role.ASSISTANT, 'a')])\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(home), str(w)]) for w in range(3)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    store = Store(home)
    listed = store.summaries()
    assert len(listed) == 46 and all(s.messages in (2, 3) for s in listed)
    assert [s.id for s in listed] == [s.id for s in Store(home).summaries(limit=46)]
    assert pointer(store)["id"] == listing_latest(store) == listed[0].id  # kept up
    assert store.latest() == listed[0].id


def test_the_first_save_after_a_listing_keeps_the_next_listing_warm(tmp_path, monkeypatch):
    # Files another tool (or an older dial) wrote: none of dial's subfolders exist yet.
    # The listing makes them before it keys the index; made by the first save instead,
    # they would change the folder's key and cost the next listing a pass over every file.
    store = Store(tmp_path / "home")
    store.path.mkdir(parents=True)
    for day in (1, 2, 3):
        conv = conv_at(f"2024-01-0{day}T00:00:00.000Z")
        (store.path / f"{conv.id}.json").write_bytes(orjson.dumps(conv.to_dict()))
    store.summaries(limit=1)  # writes the index
    late = conv_at("2026-01-01T00:00:00.000Z")
    store.create(late)
    monkeypatch.setattr(os, "scandir", lambda *a: pytest.fail("the folder was listed"))
    assert store.summaries(limit=1)[0].id == late.id
    assert store.latest() == late.id
