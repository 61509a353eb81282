"""Saved conversations through the CLI: continue, roll back, and `dial history`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_harness import dial_exe, run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


def conversations_dir() -> Path:
    return Path(os.environ["DIAL_HOME"]) / "conversations"


def saved_files() -> list[Path]:
    folder = conversations_dir()
    return sorted(folder.glob("[0-9a-f]*.json")) if folder.exists() else []


def only_conversation() -> dict:
    files = saved_files()
    assert len(files) == 1, files
    return json.loads(files[0].read_bytes())


def ask(*args: str, stdin: str = "") -> tuple[int, str, str]:
    result = run_dial(["ask", *args], stdin)
    return result.code, result.stdout, result.stderr


def test_ask_saves_each_exchange_and_prints_nothing_extra(backend_name):
    assert ask("--backend", backend_name, "-m", "echo", "-s", "Be brief.", "hello there") == (
        0,
        "hello there\n",
        "",
    )
    document = only_conversation()
    assert document["schema"] == 1
    assert document["model"] == "echo"
    assert document["system"] == "Be brief."
    assert document["title"] == "hello there"
    assert [m["role"] for m in document["messages"]] == ["user", "assistant"]
    assert document["messages"][1]["content"] == "hello there"
    assert document["messages"][1]["usage"]["completion_tokens"] == 2
    assert document["created"].endswith("Z") and document["updated"] >= document["created"]


def test_saved_files_are_private(backend_name):
    ask("--backend", backend_name, "-m", "echo", "secret plans")
    path = saved_files()[0]
    assert path.stat().st_mode & 0o777 == 0o600
    assert conversations_dir().stat().st_mode & 0o777 == 0o700
    assert Path(os.environ["DIAL_HOME"]).stat().st_mode & 0o777 == 0o700


def test_continue_sends_the_whole_history_with_the_system_prompt(backend_name):
    ask("--backend", backend_name, "-m", "echo", "-s", "Be brief.", "first")
    code, out, err = ask("--backend", backend_name, "-c", "-m", "inspect", "second")
    assert code == 0, err
    received = json.loads(out)
    assert received["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "first"},
        {"role": "user", "content": "second"},
    ]
    document = only_conversation()
    assert document["model"] == "inspect", "-m on a continued conversation switches its model"
    assert len(document["messages"]) == 4


def test_continue_keeps_the_conversations_model_without_m(backend_name):
    ask("--backend", backend_name, "-m", "echo", "one")
    assert ask("--backend", backend_name, "-c", "two") == (0, "two\n", "")
    assert only_conversation()["model"] == "echo"


def test_cid_takes_a_unique_prefix(backend_name):
    ask("--backend", backend_name, "-m", "echo", "one")
    ask("--backend", backend_name, "-m", "echo", "other")
    target = next(p for p in saved_files() if b'"one"' in p.read_bytes())
    prefix = target.stem[:6]
    assert ask("--backend", backend_name, "--cid", prefix, "again")[0] == 0
    assert len(json.loads(target.read_bytes())["messages"]) == 4


def test_no_save_writes_nothing_to_disk(backend_name):
    assert ask("--backend", backend_name, "--no-save", "-m", "echo", "hi") == (0, "hi\n", "")
    home = Path(os.environ["DIAL_HOME"])
    assert not home.exists()


@pytest.mark.parametrize("model", ["fail-500", "fail-429", "midstream", "nope", "fail-403"])
def test_a_failed_request_leaves_the_saved_file_byte_for_byte(backend_name, model):
    ask("--backend", backend_name, "-m", "echo", "keep me")
    path = saved_files()[0]
    before = path.read_bytes()
    code, _, _ = ask("--backend", backend_name, "--retries", "0", "-c", "-m", model, "a b c d")
    assert code != 0
    assert path.read_bytes() == before
    assert saved_files() == [path]


def test_a_dropped_connection_saves_nothing(backend_name, fault_server, monkeypatch):
    ask("--backend", backend_name, "-m", "echo", "keep me")
    path = saved_files()[0]
    before = path.read_bytes()
    monkeypatch.setenv("DIAL_URL", fault_server.url)
    assert ask("--backend", backend_name, "-c", "-m", "drop", "x")[0] == 6
    assert ask("--backend", backend_name, "-c", "-m", "stall", "--timeout", "0.3", "x")[0] == 6
    assert path.read_bytes() == before


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_keeps_the_partial_answer_marked_interrupted(dial_env, sig, code):
    words = " ".join(f"w{i}" for i in range(60))
    process = subprocess.Popen(
        [dial_exe(), "ask", "-m", "slow", words],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={"PATH": os.environ["PATH"], **dial_env},
    )
    assert process.stdout is not None
    first = process.stdout.read(2)  # wait for the first token
    time.sleep(0.3)
    process.send_signal(sig)
    rest, err = process.communicate(timeout=20)
    assert process.returncode == code
    out = first + rest
    assert out.startswith(b"w0") and out.endswith(b"\n")
    assert b"Traceback" not in err
    assert err.count(b"\n") == 1
    folder = Path(dial_env["DIAL_HOME"]) / "conversations"
    [path] = folder.glob("[!.]*.json")
    answer = json.loads(path.read_bytes())["messages"][-1]
    assert answer["interrupted"] is True
    assert answer["content"] == out.decode().rstrip("\n")
    assert not list(folder.glob(".tmp-*")), "no temporary files left behind"


def test_unwritable_data_directory_still_prints_the_answer_then_fails(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("DIAL_HOME", str(blocker / "home"))
    code, out, err = ask("-m", "echo", "precious answer")
    assert out == "precious answer\n"
    assert code == 1
    assert err.startswith("dial: could not save conversation")
    assert err.count("\n") == 1


# -- dial history ---------------------------------------------------------------------------


def make_history(*questions: str) -> list[str]:
    for question in questions:
        assert ask("-m", "echo", question)[0] == 0
        time.sleep(0.002)  # distinct `updated` stamps
    return [json.loads(p.read_bytes())["id"] for p in saved_files()]


def test_history_list_is_newest_first_with_limit_and_json():
    make_history("alpha question", "beta question", "gamma question")
    piped = run_dial(["history", "list"]).stdout.splitlines()
    assert [line.split("\t")[4] for line in piped] == [
        "gamma question",
        "beta question",
        "alpha question",
    ]
    assert len(run_dial(["history", "list", "--limit", "2"]).stdout.splitlines()) == 2
    listed = json.loads(run_dial(["history", "list", "--json"]).stdout)
    assert listed[0]["title"] == "gamma question"
    assert {"id", "updated", "model", "messages", "title"} <= set(listed[0])
    table = run_dial(["history", "list"], tty=True).stdout.splitlines()
    assert table[0].split() == ["ID", "UPDATED", "(UTC)", "MODEL", "MSGS", "TITLE"]
    assert table[1].split()[0] == listed[0]["id"][:8]


def test_history_show_prints_a_transcript_and_json_the_document():
    [conv_id] = make_history("what is DIAL?")
    shown = run_dial(["history", "show", conv_id[:5]])
    assert shown.code == 0
    assert "You: what is DIAL?" in shown.stdout
    assert "Assistant: what is DIAL?" in shown.stdout
    document = json.loads(run_dial(["history", "show", "last", "--json"]).stdout)
    assert document == json.loads(saved_files()[0].read_bytes())


def test_history_search_is_case_insensitive_with_a_snippet():
    make_history("Kubernetes pods keep restarting", "unrelated topic")
    result = run_dial(["history", "search", "KUBERNETES"])
    assert result.code == 0
    assert "Kubernetes pods keep restarting" in result.stdout
    hits = json.loads(run_dial(["history", "search", "kubernetes", "--json"]).stdout)
    assert len(hits) == 1 and "Kubernetes" in hits[0]["snippet"]
    nothing = run_dial(["history", "search", "nothing-like-this", "--json"])
    assert (nothing.code, json.loads(nothing.stdout)) == (1, [])


def test_history_search_piped_is_one_tab_separated_record_per_match():
    make_history("first line about kubernetes\tand a tab\nsecond line", "kubernetes again")
    saved = {json.loads(p.read_bytes())["id"]: json.loads(p.read_bytes()) for p in saved_files()}
    result = run_dial(["history", "search", "kubernetes"])
    assert result.code == 0 and result.stderr == ""
    records = [line.split("\t") for line in result.stdout.splitlines()]
    assert [len(r) for r in records] == [3, 3]
    assert {r[0] for r in records} == set(saved)
    for conv_id, updated, snippet in records:
        assert updated == saved[conv_id]["updated"][:16].replace("T", " ")
        assert "kubernetes" in snippet
    first = next(r for r in records if "first line" in r[2])
    assert first[2] == "first line about kubernetes and a tab second line"


@pytest.mark.parametrize("tty", [False, True], ids=["piped", "terminal"])
def test_history_search_without_a_match_exits_1_like_grep(tty):
    make_history("something else")
    result = run_dial(["history", "search", "kubernetes"], tty=tty)
    assert (result.code, result.stdout) == (1, "")
    expected = "dial: no conversation contains 'kubernetes'\n" if tty else ""
    assert result.stderr == expected


def test_history_alone_lists_like_history_list():
    make_history("alpha question", "beta question", "gamma question")
    assert run_dial(["history"]).stdout == run_dial(["history", "list"]).stdout
    alone = run_dial(["history", "-n", "2", "--json"])
    assert alone.code == 0
    assert [c["title"] for c in json.loads(alone.stdout)] == ["gamma question", "beta question"]


def test_history_options_before_a_command_are_refused_not_dropped():
    make_history("alpha question")
    result = run_dial(["history", "-n", "2", "search", "alpha"])
    assert result.code == 2 and "belong after 'search'" in result.stderr
    assert result.stdout == ""


def test_history_delete_refuses_without_a_terminal_unless_yes():
    [conv_id] = make_history("delete me")
    refused = run_dial(["history", "delete", conv_id])
    assert refused.code == 2 and "--yes" in refused.stderr
    assert len(saved_files()) == 1
    assert run_dial(["history", "delete", conv_id[:8], "--yes"]).code == 0
    assert saved_files() == []


def test_history_delete_asks_on_a_terminal():
    [conv_id] = make_history("delete me")
    kept = run_dial(["history", "delete", conv_id], stdin="n\n", tty=True)
    assert kept.code == 0 and len(saved_files()) == 1
    gone = run_dial(["history", "delete", conv_id], stdin="y\n", tty=True)
    assert gone.code == 0 and saved_files() == []


def test_history_path_prints_the_data_directory():
    result = run_dial(["history", "path"])
    assert result.stdout == f"{conversations_dir()}\n"


def test_unknown_id_exits_4_and_ambiguous_prefix_exits_2():
    from dialcli.conversation import Conversation, Role
    from dialcli.store import Store

    store = Store(Path(os.environ["DIAL_HOME"]))
    for conv_id in ("abcd1234-0000-4000-8000-000000000001", "abcd5678-0000-4000-8000-000000000002"):
        conv = Conversation(model="echo", id=conv_id)
        conv.add(Role.USER, f"question {conv_id[4:8]}")
        store.create(conv)
    unknown = run_dial(["history", "show", "ffff0000"])
    assert unknown.code == 4 and unknown.stderr.count("\n") == 1
    ambiguous = run_dial(["history", "show", "abcd"])
    assert ambiguous.code == 2 and ambiguous.stderr.count("\n") == 1
    assert "abcd1234 (question 1234)" in ambiguous.stderr
    assert "abcd5678 (question 5678)" in ambiguous.stderr
    short = run_dial(["history", "show", "abc"])
    assert short.code == 2 and "at least 4" in short.stderr
    assert "question 5678" in run_dial(["history", "show", "abcd5"]).stdout


@pytest.mark.parametrize(
    "content", [b"", b"{not json", b'{"schema": 1, "id": "trunc', b"[]", b'{"foo": 1}', b"\xff\xfe"]
)
def test_a_corrupt_file_is_reported_once_and_never_touched(content):
    make_history("good one")
    bad = conversations_dir() / "0badc0de-0000-4000-8000-000000000000.json"
    bad.write_bytes(content)
    listed = run_dial(["history", "list"])
    assert listed.code == 0
    assert listed.stdout.count("good one") == 1
    assert listed.stderr.count("\n") == 1 and "0badc0de" in listed.stderr
    assert listed.stderr.startswith("dial: warning: skipped unreadable file")
    searched = run_dial(["history", "search", "good"])
    assert searched.code == 0 and "good one" in searched.stdout
    assert bad.read_bytes() == content
