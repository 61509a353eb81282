"""The conversation store: files, permissions, resolution, listing, search, bad files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from dialcli.conversation import Conversation, Message, Role
from dialcli.errors import NotFoundError, StorageError, UsageError
from dialcli.store import Store
from dialcli.store_cache import CACHE_DIR

INDEX_NAME = f"{CACHE_DIR}/index"

REPO = Path(__file__).resolve().parent.parent


def make_conv(question: str = "What is DIAL?", answer: str = "A platform.", **kw) -> Conversation:
    conv = Conversation(model=kw.pop("model", "gpt-4o"), **kw)
    conv.add(Role.USER, question)
    conv.add(Role.ASSISTANT, answer, usage={"prompt_tokens": 3, "total_tokens": 9})
    return conv


def with_id(conv_id: str, updated: str = "2024-01-01T00:00:00.000Z", **kw) -> Conversation:
    return make_conv(id=conv_id, created=updated, updated=updated, **kw)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "home")


def files_in(store: Store) -> list[str]:
    return sorted(os.listdir(store.path))


# -- round trip, layout, permissions ------------------------------------------------------


def test_created_conversation_loads_back_equal(store: Store) -> None:
    conv = make_conv(system="Be brief.")
    conv.messages[1].custom_content = {"state": {"k": 1}, "attachments": [{"title": "a"}]}
    conv.messages[1].interrupted = True
    store.create(conv)
    assert store.load(conv.id) == conv
    doc = orjson.loads((store.path / f"{conv.id}.json").read_bytes())
    assert doc["schema"] == 1 and doc["messages"][1]["usage"]["total_tokens"] == 9


def test_unknown_fields_survive_an_append(store: Store) -> None:
    conv = make_conv()
    store.create(conv)
    path = store.path / f"{conv.id}.json"
    doc = orjson.loads(path.read_bytes())
    doc["future_field"] = {"x": [1, 2]}
    path.write_bytes(orjson.dumps(doc))
    store.append(conv.id, [Message(Role.USER, "more")])
    assert orjson.loads(path.read_bytes())["future_field"] == {"x": [1, 2]}


def test_files_are_0600_and_directories_0700_despite_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = Store(tmp_path / "a" / "home")
        conv = make_conv()
        store.create(conv)
        store.append(conv.id, [Message(Role.USER, "again")])
    finally:
        os.umask(old)
    mode = stat.S_IMODE
    assert mode((store.path / f"{conv.id}.json").stat().st_mode) == 0o600
    assert mode(store.path.stat().st_mode) == 0o700
    assert mode(store.home.stat().st_mode) == 0o700
    assert mode((store.path / ".locks" / f"{conv.id}.lock").stat().st_mode) == 0o600


def test_writes_leave_no_temp_files(store: Store) -> None:
    conv = make_conv()
    store.create(conv)
    conv = store.append(conv.id, [Message(Role.USER, "x"), Message(Role.ASSISTANT, "y")])
    store.replace_last(conv.id, conv.messages[-2:], conv.messages[-2:])
    store.summaries()
    assert not [n for n in files_in(store) if n.startswith(".tmp-")]


def test_failed_write_removes_its_temp_file(store: Store, monkeypatch) -> None:
    conv = make_conv()
    store.create(conv)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StorageError, match="No space left on device"):
        store.append(conv.id, [Message(Role.USER, "x")])
    monkeypatch.undo()
    assert [n for n in files_in(store) if not n.startswith(".")] == [f"{conv.id}.json"]
    assert not [n for n in files_in(store) if n.startswith(".tmp-")]
    assert len(store.load(conv.id).messages) == 2


def test_append_extends_switches_model_and_bumps_updated(store: Store) -> None:
    conv = with_id("11111111-1111-4111-8111-111111111111")
    store.create(conv)
    new = [Message(Role.USER, "next?"), Message(Role.ASSISTANT, "sure", model="m2")]
    result = store.append(conv.id, new, model="m2", system="Terse.")
    loaded = store.load(conv.id)
    assert loaded == result
    assert [m.content for m in loaded.messages][-2:] == ["next?", "sure"]
    assert loaded.model == "m2" and loaded.system == "Terse."
    assert loaded.updated > conv.updated and loaded.created == conv.created
    store.append(conv.id, [], system=None)
    assert store.load(conv.id).system is None


def test_append_to_unknown_conversation_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.append("11111111-1111-4111-8111-111111111111", [Message(Role.USER, "x")])


def test_create_refuses_to_overwrite(store: Store) -> None:
    conv = make_conv()
    store.create(conv)
    with pytest.raises(StorageError, match="already exists"):
        store.create(conv)


def test_delete_removes_file_and_lock(store: Store) -> None:
    conv = make_conv()
    store.create(conv)
    store.delete(conv.id)
    assert store.summaries() == []
    assert not (store.path / ".locks" / f"{conv.id}.lock").exists()
    with pytest.raises(NotFoundError):
        store.delete(conv.id)


# -- resolution -------------------------------------------------------------------------


@pytest.fixture
def three(store: Store) -> Store:
    store.create(with_id("abcd1111-0000-4000-8000-000000000000", "2024-01-01T00:00:00.000Z"))
    store.create(with_id("abcd2222-0000-4000-8000-000000000000", "2024-01-03T00:00:00.000Z"))
    store.create(with_id("ef001111-0000-4000-8000-000000000000", "2024-01-02T00:00:00.000Z"))
    return store


def test_unique_prefix_resolves_to_full_id(three: Store) -> None:
    assert three.resolve("abcd1") == "abcd1111-0000-4000-8000-000000000000"
    assert three.resolve("EF00") == "ef001111-0000-4000-8000-000000000000"
    full = "abcd2222-0000-4000-8000-000000000000"
    assert three.resolve(full) == full


def test_last_resolves_to_most_recently_updated(three: Store) -> None:
    assert three.resolve("last") == "abcd2222-0000-4000-8000-000000000000"
    three.append("ef001111-0000-4000-8000-000000000000", [Message(Role.USER, "bump")])
    assert three.resolve("last") == "ef001111-0000-4000-8000-000000000000"
    assert three.latest() == "ef001111-0000-4000-8000-000000000000"


def test_ambiguous_prefix_is_a_usage_error_listing_candidates(three: Store) -> None:
    with pytest.raises(UsageError) as info:
        three.resolve("abcd")
    assert info.value.exit_code == 2
    assert "abcd1111 (What is DIAL?)" in str(info.value) and "abcd2222" in str(info.value)


def test_short_prefix_is_a_usage_error(three: Store) -> None:
    with pytest.raises(UsageError, match="at least 4"):
        three.resolve("abc")


def test_unknown_prefix_is_not_found(three: Store) -> None:
    with pytest.raises(NotFoundError, match="no saved conversation matches 'ffff'") as info:
        three.resolve("ffff")
    assert info.value.exit_code == 4
    with pytest.raises(NotFoundError):
        three.load("../../etc/passwd")


def test_last_with_no_conversations_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.resolve("last")
    assert store.latest() is None


# -- listing and search -----------------------------------------------------------------


def test_missing_directory_lists_nothing(store: Store) -> None:
    assert store.summaries() == [] and store.search("x") == [] and store.problems == []


def test_list_is_newest_first_and_limited(three: Store) -> None:
    summaries = three.summaries()
    assert [s.id[:8] for s in summaries] == ["abcd2222", "ef001111", "abcd1111"]
    assert [s.id[:8] for s in three.summaries(limit=2)] == ["abcd2222", "ef001111"]
    top = summaries[0]
    assert (top.model, top.messages, top.title) == ("gpt-4o", 2, "What is DIAL?")


def test_search_is_case_insensitive_with_a_one_line_snippet(store: Store) -> None:
    long = "Intro line.\n" + "padding words " * 20 + "the Needle is here\nand " + "more " * 30
    store.create(with_id("aaaa0000-0000-4000-8000-000000000000", question="hello", answer=long))
    store.create(with_id("bbbb0000-0000-4000-8000-000000000000", question="nothing"))
    hits = store.search("nEEDLE")
    assert [h.summary.id[:4] for h in hits] == ["aaaa"]
    assert hits[0].message == 1
    snippet = hits[0].snippet
    assert "Needle" in snippet and "\n" not in snippet and len(snippet) <= 82
    assert snippet.startswith("…") and snippet.endswith("…")


def test_search_looks_at_the_system_prompt_and_non_ascii_text(store: Store) -> None:
    store.create(with_id("aaaa0000-0000-4000-8000-000000000000", system="Réponds en FRANÇAIS"))
    store.create(with_id("bbbb0000-0000-4000-8000-000000000000", answer='say "hi" / ok'))
    hits = store.search("français")
    assert [(h.summary.id[:4], h.message) for h in hits] == [("aaaa", None)]
    assert store.search('"HI" / OK')[0].summary.id[:4] == "bbbb"


def test_search_is_newest_first_and_stops_at_limit(three: Store) -> None:
    hits = three.search("dial", limit=2)
    assert [h.summary.id[:8] for h in hits] == ["abcd2222", "ef001111"]


def test_search_finds_text_written_with_unicode_escapes(store: Store) -> None:
    conv = with_id("aaaa0000-0000-4000-8000-000000000000", answer="Größe")
    store.path.mkdir(parents=True)
    import json  # Python's json escapes non-ASCII by default, as other tools may

    (store.path / f"{conv.id}.json").write_text(json.dumps(conv.to_dict()))
    assert len(store.search("GRÖSSE".replace("SS", "ß"))) == 1


# -- bad files -------------------------------------------------------------------------

BAD_FILES = {
    "corrupt": b'{"id": "x", "messages": [',
    "empty": b"",
    "foreign-list": b"[]",
    "foreign-object": b'{"foo": 1}',
    "not-utf8": b'{"id": "\xff\xfe"}',
    "bad-role": None,  # filled in below: a valid document with a bad message
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_corrupt_file_is_skipped_reported_and_not_rewritten(store: Store, kind: str) -> None:
    good = make_conv()
    store.create(good)
    bad_id = "deadbeef-0000-4000-8000-000000000000"
    content = BAD_FILES[kind]
    if content is None:
        doc = with_id(bad_id).to_dict()
        doc["messages"][0]["role"] = "wizard"
        content = orjson.dumps(doc)
    bad = store.path / f"{bad_id}.json"
    bad.write_bytes(content)
    before = bad.stat()
    for _ in range(2):  # second time from the index
        assert [s.id for s in store.summaries()] == [good.id]
    assert store.search("dial")[0].summary.id == good.id
    assert [p.path for p in store.problems] == [bad]
    assert store.problems[0].reason
    with pytest.raises(StorageError):
        store.load(bad_id)
    with pytest.raises(StorageError):
        store.append(bad_id, [Message(Role.USER, "x")])
    with pytest.raises(StorageError):
        store.replace_last(bad_id, [], [Message(Role.USER, "x")])
    assert bad.read_bytes() == content and bad.stat().st_mtime_ns == before.st_mtime_ns


def test_each_problem_is_reported_once(store: Store) -> None:
    store.path.mkdir(parents=True)
    (store.path / "deadbeef-0000-4000-8000-000000000000.json").write_bytes(b"{")
    store.summaries()
    store.summaries()
    store.search("x")
    assert len(store.problems) == 1


def test_temp_files_are_not_listed(store: Store) -> None:
    store.create(make_conv())
    (store.path / ".tmp-abc.json").write_bytes(b"{half")
    assert len(store.summaries()) == 1 and store.problems == []


# -- the index -------------------------------------------------------------------------


def index_rows(store: Store) -> list[list]:
    lines = (store.path / INDEX_NAME).read_bytes().splitlines()
    assert orjson.loads(lines[0])["version"] == 2
    return [orjson.loads(line) for line in lines[1:]]


def test_index_is_rebuilt_when_deleted_or_corrupt(three: Store) -> None:
    expected = three.summaries()
    index = three.path / INDEX_NAME
    assert index.exists()
    index.unlink()
    assert three.summaries() == expected
    assert [row[3] for row in index_rows(three)] == [s.id for s in expected]  # newest first
    junk = [b"garbage", b"[]", b'{"version": 2, "problems": []}\n{"x": 5}\n', b"{}\n[1,2]"]
    for data in junk:
        index.write_bytes(data)
        assert three.summaries() == expected
        assert len(index_rows(three)) == 3  # the listing wrote a good one


def test_index_with_wrong_types_is_rebuilt(three: Store) -> None:
    expected = three.summaries()
    index = three.path / INDEX_NAME
    lines = index.read_bytes().splitlines()
    rows = [orjson.loads(line) for line in lines[1:]]
    for row in rows:
        row[5] = 12345  # updated: not a string, sorting would break
        row[7] = "many"
    index.write_bytes(b"\n".join([lines[0], *map(orjson.dumps, rows)]) + b"\n")
    assert three.summaries() == expected
    assert three.summaries(limit=1) == expected[:1]


def test_index_notices_a_file_edited_behind_its_back(three: Store) -> None:
    three.summaries()
    path = three.path / "ef001111-0000-4000-8000-000000000000.json"
    doc = orjson.loads(path.read_bytes())
    doc["title"] = "Edited by hand"
    doc["updated"] = "2030-01-01T00:00:00.000Z"
    path.write_bytes(orjson.dumps(doc))  # in place: same inode
    top = three.summaries()[0]
    assert (top.id[:8], top.title) == ("ef001111", "Edited by hand")


def test_index_notices_files_added_and_removed_by_others(three: Store) -> None:
    three.summaries()
    (three.path / "abcd1111-0000-4000-8000-000000000000.json").unlink()
    other = with_id("99990000-0000-4000-8000-000000000000", "2025-01-01T00:00:00.000Z")
    (three.path / f"{other.id}.json").write_bytes(orjson.dumps(other.to_dict()))
    assert [s.id[:8] for s in three.summaries()] == ["99990000", "abcd2222", "ef001111"]


@pytest.mark.parametrize("what", ["index", "cache folder"])
def test_an_index_that_cannot_be_written_stops_neither_saving_nor_listing(store, what) -> None:
    store.path.mkdir(parents=True)
    if what == "index":
        (store.path / INDEX_NAME).mkdir(parents=True)  # os.replace onto a directory fails
    else:
        (store.path / CACHE_DIR).write_text("not a folder")
    conv = make_conv()
    store.create(conv)
    store.append(conv.id, [Message(Role.USER, "more")])
    assert [(s.id, s.messages) for s in store.summaries()] == [(conv.id, 3)]
    assert store.latest() == conv.id
    assert not [n for n in files_in(store) if n.startswith(".tmp-")]


# -- unwritable storage (we run as root, so chmod cannot make anything read-only) -------


def test_conversations_path_being_a_file_is_a_storage_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "conversations").write_text("not a directory")
    store = Store(home)
    with pytest.raises(StorageError, match=r"could not save conversation: .*home/conversations"):
        store.create(make_conv())
    assert store.summaries() == []
    assert (home / "conversations").read_text() == "not a directory"


def test_full_disk_is_a_storage_error_and_keeps_the_original(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes writes past the limit fail with EFBIG, even for root.

    Python ignores SIGXFSZ, so the write raises instead of the process being killed.
    """
    store = Store(tmp_path / "home")
    conv = make_conv()
    store.create(conv)
    path = store.path / f"{conv.id}.json"
    original = path.read_bytes()
    script = textwrap.dedent(f"""
        import resource, sys
        from pathlib import Path
        from dialcli.conversation import Message, Role
        from dialcli.errors import StorageError
        from dialcli.store import Store
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(original) + 100}, resource.RLIM_INFINITY))
        try:
            Store(Path({str(store.home)!r})).append({conv.id!r}, [Message(Role.USER, "x" * 5000)])
        except StorageError as err:
            print(err)
            sys.exit(err.exit_code)
    """)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=30
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("could not save conversation: File too large (")
    assert path.read_bytes() == original
    assert not [n for n in os.listdir(store.path) if n.startswith(".tmp-")]


# -- listing reads, writing maintains -----------------------------------------------------


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {e.name: (e.stat().st_ino, e.stat().st_mtime_ns) for e in os.scandir(directory)}


def test_listing_touches_no_conversation_file_and_keeps_the_folder_key(three: Store) -> None:
    (three.path / INDEX_NAME).unlink(missing_ok=True)
    before = snapshot(three.path)
    folder = three.path.stat().st_mtime_ns
    assert len(three.summaries()) == 3 and three.search("dial") and three.latest()
    after = snapshot(three.path)
    assert after.pop(".cache") and before.pop(".cache")  # only .cache/ changed inside
    assert after == before
    assert three.path.stat().st_mtime_ns == folder
    assert (three.path / INDEX_NAME).exists()


def test_a_full_listing_sweeps_temp_files_killed_writers_left(store: Store) -> None:
    conv = make_conv()
    store.create(conv)
    old, fresh = store.path / ".tmp" / ".tmp-killed.json", store.path / ".tmp-in-flight.json"
    legacy = store.path / ".tmp-old-version.json"
    for temp in (old, fresh, legacy):
        temp.write_bytes(b"{half")
    os.utime(old, (1, 1))
    os.utime(legacy, (1, 1))
    assert [s.id for s in store.summaries()] == [conv.id]  # the folder changed: a full pass
    assert not old.exists() and not legacy.exists() and fresh.exists()


def test_writes_are_journaled_and_a_listing_folds_them_into_the_index(store: Store) -> None:
    conv = make_conv()
    store.create(conv)
    store.summaries()  # the index now covers conv
    # Older than the append below even when both fall in one millisecond (a tie would
    # leave the order to the random ids).
    other = make_conv("second", created="2024-01-01T00:00:00.000Z")
    store.create(other)
    store.append(conv.id, [Message(Role.USER, "more")])
    journal = (store.path / CACHE_DIR / "journal").read_bytes().splitlines()
    assert [orjson.loads(line)["name"] for line in journal] == [
        f"{other.id}.json",
        f"{conv.id}.json",
    ]
    assert [(s.id, s.messages) for s in store.summaries()] == [(conv.id, 3), (other.id, 2)]
    hand = with_id("99990000-0000-4000-8000-000000000000", "2030-01-01T00:00:00.000Z")
    (store.path / f"{hand.id}.json").write_bytes(orjson.dumps(hand.to_dict()))  # not dial
    assert [s.id for s in store.summaries(limit=2)] == [hand.id, conv.id]
    assert (store.path / CACHE_DIR / "journal").read_bytes() == b""  # folded in
    assert {row[3]: row[7] for row in index_rows(store)} == {conv.id: 3, other.id: 2, hand.id: 2}


BIG = "x" * 5000  # pushes a file past store_index.HEAD_BYTES


def test_a_cold_listing_reads_whole_only_the_files_it_shows(tmp_path, monkeypatch) -> None:
    import dialcli.store_rows as store_rows

    store = Store(tmp_path)
    for i in range(30):
        store.create(make_conv(f"question {i}", BIG))
    expected = store.summaries(limit=5)
    (store.path / INDEX_NAME).unlink()
    whole = []
    real_parse = store_rows.parse
    monkeypatch.setattr(
        store_rows, "parse", lambda data, name: whole.append(name) or real_parse(data, name)
    )
    assert Store(tmp_path).summaries(limit=5) == expected
    assert len(whole) == 5
    assert all(s.messages == 2 for s in expected)


def test_a_bad_tail_is_reported_when_its_file_would_be_shown(store: Store) -> None:
    good = with_id("11110000-0000-4000-8000-000000000000", answer=BIG)
    store.create(good)
    bad = with_id("22220000-0000-4000-8000-000000000000", "2025-01-01T00:00:00.000Z", answer=BIG)
    data = orjson.dumps(bad.to_dict(), option=orjson.OPT_INDENT_2)[:-100]  # truncated
    path = store.path / f"{bad.id}.json"
    path.write_bytes(data)
    assert [s.id for s in store.summaries(limit=1)] == [good.id]
    assert [p.path for p in store.problems] == [path]
    assert path.read_bytes() == data


@pytest.mark.parametrize(
    "doc",
    [
        {"system": "long " * 2000},  # the fields are past the head
        {"settings": {"messages": [1]}},  # a nested "messages" key comes first
        {"title": None},  # then moved after "messages" below
    ],
)
def test_a_file_whose_head_is_not_what_dial_writes_is_read_whole(store: Store, doc) -> None:
    conv = with_id("33330000-0000-4000-8000-000000000000", answer=BIG, title="Mine")
    full = {**conv.to_dict(), **doc}
    if "title" in doc:
        del full["title"]
        full["title"] = "Mine"  # after "messages": only a whole read finds it
    store.path.mkdir(parents=True)
    (store.path / f"{conv.id}.json").write_bytes(orjson.dumps(full))
    [summary] = store.summaries()
    assert (summary.title, summary.messages, summary.model) == ("Mine", 2, "gpt-4o")
