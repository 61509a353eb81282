"""Several processes at once: concurrent continuers, and writers killed mid-write."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import orjson

from dialcli.conversation import Conversation, Message, Role
from dialcli.errors import NotFoundError
from dialcli.store import Store, write_atomic

WRITERS = 20
KILLS = 50
FORK = multiprocessing.get_context("fork")  # no re-import per child: keeps the test fast


def continue_conversation(home: str, conv_id: str, n: int, barrier) -> None:
    """What `dial ask -c` does: load, ask (slow, unlocked), then append the exchange."""
    store = Store(Path(home))
    history = store.load(conv_id).request_messages()
    barrier.wait()
    time.sleep(random.uniform(0, 0.05))  # the HTTP request, with this history
    store.append(
        conv_id,
        [Message(Role.USER, f"question {n}"), Message(Role.ASSISTANT, f"answer {n}")],
        model=f"model-{n}",
    )
    assert history  # the history the server saw may lack the others' exchanges


def test_concurrent_continuers_all_land_adjacent_and_in_order(tmp_path: Path) -> None:
    store = Store(tmp_path)
    conv = Conversation(model="gpt-4o")
    conv.add(Role.USER, "first")
    conv.add(Role.ASSISTANT, "reply")
    store.create(conv)
    barrier = FORK.Barrier(WRITERS)
    procs = [
        FORK.Process(target=continue_conversation, args=(str(tmp_path), conv.id, n, barrier))
        for n in range(WRITERS)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    saved = store.load(conv.id)
    contents = [m.content for m in saved.messages]
    assert contents[:2] == ["first", "reply"]
    pairs = list(zip(contents[2::2], contents[3::2], strict=True))
    assert len(pairs) == WRITERS
    assert all(q == f"question {a.split()[1]}" for q, a in pairs)
    assert sorted(int(a.split()[1]) for _, a in pairs) == list(range(WRITERS))
    # The last to land set the model: the writes were serialised, not interleaved.
    assert saved.model == f"model-{pairs[-1][1].split()[1]}"
    assert not [n for n in os.listdir(store.path) if n.startswith(".tmp-")]


def rewrite_forever(path: str, blobs: list[bytes]) -> None:
    target = Path(path)
    while True:
        for blob in blobs:
            write_atomic(target, blob)


def big_conversation(conv_id: str, word: str) -> bytes:
    conv = Conversation(model="gpt-4o", id=conv_id, created="2024-01-01T00:00:00.000Z")
    for i in range(300):
        conv.add(Role.USER, f"{word} question {i} " * 40)
        conv.add(Role.ASSISTANT, f"{word} answer {i} " * 200)
    return orjson.dumps(conv.to_dict(), option=orjson.OPT_INDENT_2)


def test_killed_writer_leaves_old_or_new_file_never_half(tmp_path: Path) -> None:
    store = Store(tmp_path)
    conv_id = "12345678-1234-4234-8234-123456789abc"
    old, new = big_conversation(conv_id, "old"), big_conversation(conv_id, "new")
    assert len(old) > 1_000_000  # big enough that a kill often lands inside a write
    store.path.mkdir(parents=True)
    path = store.path / f"{conv_id}.json"
    write_atomic(path, old)
    rng = random.Random(1)
    seen = set()
    for _ in range(KILLS):
        child = FORK.Process(target=rewrite_forever, args=(str(path), [new, old]))
        child.start()
        time.sleep(rng.uniform(0.001, 0.03))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        data = path.read_bytes()
        assert data in (old, new), "a killed write left a partial file"
        seen.add(data)
        assert store.load(conv_id).id == conv_id
    assert len(seen) == 2  # the kills did land at different points of the loop
    # A SIGKILL leaves its temp file behind; listing ignores it (the next write sweeps it when old).
    assert [s.id for s in store.summaries()] == [conv_id] and store.problems == []


def append_or_not_found(home: str, conv_id: str, barrier) -> None:
    store = Store(Path(home))
    barrier.wait()
    with contextlib.suppress(NotFoundError):
        store.append(conv_id, [Message(Role.USER, "late")])


def delete_now(home: str, conv_id: str, barrier) -> None:
    store = Store(Path(home))
    barrier.wait()
    store.delete(conv_id)


def test_delete_racing_appends_wins_cleanly(tmp_path: Path) -> None:
    """An append either lands before the delete or finds nothing; no lock files remain."""
    store = Store(tmp_path)
    for _ in range(5):
        conv = Conversation(model="gpt-4o")
        store.create(conv)
        barrier = FORK.Barrier(9)
        args = (str(tmp_path), conv.id, barrier)
        procs = [FORK.Process(target=append_or_not_found, args=args) for _ in range(8)]
        procs.append(FORK.Process(target=delete_now, args=args))
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=30)
        assert [p.exitcode for p in procs] == [0] * 9
        assert store.summaries() == []
    assert os.listdir(store.path / ".locks") == []
