"""`dial batch` end to end against the emulator, on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import pytest
from cli_harness import dial_exe, run_dial

from dialcli.store import Store

pytestmark = pytest.mark.usefixtures("dial_environ")


def batch(backend: str, *args: str, stdin: str = "", tty: bool = False):
    return run_dial(["batch", "--backend", backend, *args], stdin, tty=tty)


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def load_counts(emulator, reset: bool = False) -> dict:
    headers = {"Api-Key": emulator.api_key}
    if reset:
        httpx.delete(f"{emulator.url}/emulator/load", headers=headers).raise_for_status()
    return httpx.get(f"{emulator.url}/emulator/load", headers=headers).json()


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


def test_results_come_out_in_input_order_unless_unordered(backend_name):
    # The slow deployment takes 50 ms a word: item 1 finishes long after the others.
    items = "".join(json.dumps({"prompt": p}) + "\n" for p in [words(30), "b", "c", "d"])
    ordered = batch(backend_name, "-m", "slow", "-j", "4", stdin=items)
    assert ordered.code == 0, ordered.stderr
    assert [r["id"] for r in records(ordered.stdout)] == [1, 2, 3, 4]
    unordered = batch(backend_name, "-m", "slow", "-j", "4", "--unordered", stdin=items)
    assert sorted(r["id"] for r in records(unordered.stdout)) == [1, 2, 3, 4]
    assert records(unordered.stdout)[-1]["id"] == 1


def test_a_result_is_the_items_fields_plus_the_answer(backend_name):
    line = {"id": "t-7", "text": "printer on fire", "lang": "en"}
    result = batch(backend_name, "-m", "echo", "-T", "Classify: {{text}}", stdin=json.dumps(line))
    assert (result.code, result.stderr) == (0, "")
    [record] = records(result.stdout)
    assert record.pop("latency_ms") >= 0
    assert record == {
        "id": "t-7",
        "text": "printer on fire",
        "lang": "en",
        "answer": "Classify: printer on fire",
        "finish_reason": "stop",
        "usage": {"prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8},
        "model": "echo",
        "error": None,
    }


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "no-stream"])
def test_request_options_apply_to_every_item(backend_name, stream):
    args = ["-m", "inspect", "-s", "be brief", "--temperature", "0.5", "--max-tokens", "7"]
    args += ["--config-json", '{"style": "shout"}', "--lines", *([] if stream else ["--no-stream"])]
    result = batch(backend_name, *args, stdin="one\ntwo\n")
    assert result.code == 0, result.stderr
    for record, text in zip(records(result.stdout), ["one", "two"], strict=True):
        sent = json.loads(record["answer"])
        assert sent["messages"] == [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": text},
        ]
        assert (sent["temperature"], sent["max_tokens"], sent["stream"]) == (0.5, 7, stream)
        assert sent["custom_fields"] == {"configuration": {"style": "shout"}}


def test_an_attachment_is_uploaded_once_and_sent_with_every_item(backend_name, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("attached text")
    args = ["--lines", "-m", "attachments-echo", "-a", str(note)]
    result = batch(backend_name, *args, stdin="a\nb\n")
    assert result.code == 0, result.stderr
    answers = [r["answer"] for r in records(result.stdout)]
    assert answers[0] == answers[1]
    assert answers[0].startswith("received 1 attachment(s):\n- note.txt (text/plain): url files/")


def test_a_bearer_token_is_sent_instead_of_the_key(backend_name, emulator, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    monkeypatch.setenv("DIAL_TOKEN", emulator.token)
    result = batch(backend_name, "--lines", "-m", "echo", stdin="with a token\n")
    assert (result.code, result.stderr) == (0, "")
    assert records(result.stdout)[0]["answer"] == "with a token"
    monkeypatch.setenv("DIAL_TOKEN", "not-the-token")
    refused = batch(backend_name, "--lines", "-m", "echo", stdin="x\n")
    assert refused.code == 3  # 401 stops the batch: every item would meet it


def test_bad_input_lines_are_their_items_errors_and_the_batch_goes_on(backend_name):
    stdin = '{"text": "a"}\n{broken\n{"other": 1}\n{"text": "d"}\n'
    result = batch(backend_name, "-m", "echo", "-T", "{{text}}", stdin=stdin)
    assert (result.code, result.stderr) == (1, "dial: 2 of 4 items failed\n")
    got = [
        (r["id"], r["answer"], r["error"] and r["error"]["message"]) for r in records(result.stdout)
    ]
    assert got[0] == (1, "a", None) and got[3] == (4, "d", None)
    assert got[1][2].startswith("line 2: invalid JSON")
    assert got[2][2] == "line 3: no value for template field 'text'"


def test_a_csv_row_missing_a_template_field_is_that_rows_error(backend_name, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,city\nAda,London\nBob\n", encoding="utf-8")
    result = batch(backend_name, "-i", str(path), "-m", "echo", "-T", "{{name}} in {{city}}")
    assert result.code == 1
    first, second = records(result.stdout)
    assert (first["id"], first["answer"], first["name"]) == (2, "Ada in London", "Ada")
    assert second["error"] == {
        "status": None,
        "message": "line 3: no value for template field 'city'",
    }


def test_server_errors_are_item_errors_with_their_status(backend_name):
    result = batch(backend_name, "-m", "fail-400", "--retries", "0", stdin='{"prompt": "x"}\n')
    assert (result.code, result.stderr) == (1, "dial: 1 of 1 items failed\n")
    [record] = records(result.stdout)
    assert record["error"] == {"status": 400, "message": "Bad request (emulator) (HTTP 400)"}


def test_format_text_prints_only_the_answers_with_blank_lines_between(backend_name):
    result = batch(backend_name, "--lines", "-m", "echo", "--format", "text", stdin="one\ntwo\n")
    assert (result.code, result.stdout, result.stderr) == (0, "one\n\ntwo\n", "")


def test_format_text_reports_failed_items_on_stderr(backend_name):
    stdin = '{"prompt": "a"}\n[1]\n{"prompt": "c"}\n'
    result = batch(backend_name, "-m", "echo", "--format", "text", stdin=stdin)
    assert (result.code, result.stdout) == (1, "a\n\nc\n")
    assert result.stderr == ("dial: item 2: line 2: not a JSON object\ndial: 1 of 3 items failed\n")


def test_429_slows_the_whole_batch_and_every_item_gets_its_answer(backend_name, emulator):
    # "limited" takes 4 at once and refuses the rest with 429 + Retry-After.
    load_counts(emulator, reset=True)
    result = batch(
        backend_name, "--lines", "-m", "limited", "-j", "16", stdin=words(12).replace(" ", "\n")
    )
    assert (result.code, result.stderr) == (0, "")
    assert [r["answer"] for r in records(result.stdout)] == [f"w{i}" for i in range(12)]
    counts = load_counts(emulator)["limited"]
    assert counts["served"] == 12
    assert counts["refused"] > 0  # the pacing was exercised, and no item paid for it


def test_jobs_bound_the_requests_in_flight(backend_name, emulator):
    load_counts(emulator, reset=True)
    result = batch(
        backend_name, "--lines", "-m", "latency", "-j", "3", stdin="a\nb\nc\nd\ne\nf\ng\n"
    )
    assert result.code == 0, result.stderr
    counts = load_counts(emulator)["latency"]
    assert (counts["peak"], counts["served"]) == (3, 7)


def test_resume_skips_what_is_written_and_cuts_a_torn_last_line(backend_name, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(
        b'{"id": 1, "answer": "from before", "error": null}\n'
        b'{"id": 2, "answer": "from before", "error": null}\n'
        b'{"id": 3, "answ'
    )
    result = batch(
        backend_name, "--lines", "-m", "echo", "--resume", str(out), stdin="a\nb\nc\nd\n"
    )
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    got = records(out.read_text())
    assert [(r["id"], r["answer"]) for r in got] == [
        (1, "from before"),
        (2, "from before"),
        (3, "c"),
        (4, "d"),
    ]


def test_save_keeps_each_answered_item_as_a_conversation(backend_name, dial_environ):
    assert batch(backend_name, "--lines", "-m", "echo", stdin="x\n").code == 0
    store = Store(__import__("pathlib").Path(dial_environ["DIAL_HOME"]))
    assert store.summaries() == []
    result = batch(
        backend_name, "--lines", "-m", "echo", "--save", "-s", "be kind", stdin="q1\nq2\n"
    )
    assert result.code == 0
    saved = sorted(
        (store.load(s.id) for s in store.summaries()), key=lambda c: c.messages[0].content
    )
    assert [(c.system, [m.content for m in c.messages]) for c in saved] == [
        ("be kind", ["q1", "q1"]),
        ("be kind", ["q2", "q2"]),
    ]


def test_progress_only_on_a_terminal_and_not_with_quiet(backend_name, tmp_path):
    path = tmp_path / "items.txt"
    path.write_text("a\nb\n")
    args = ["--lines", "-i", str(path), "-m", "echo"]
    shown = batch(backend_name, *args, tty=True)
    assert shown.code == 0 and "2/2 done, 0 failed" in shown.stderr
    assert batch(backend_name, *args).stderr == ""
    assert batch(backend_name, *args, "--quiet", tty=True).stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-i", "/nonexistent/items.jsonl"], "dial: cannot read /nonexistent/items.jsonl: "),
        (["--resume", "o.jsonl", "--format", "text"], "dial: --resume writes JSON Lines;"),
        (["--lines", "--csv"], "dial: give either --lines or --csv, not both"),
    ],
)
def test_bad_options_or_unreadable_input_exit_2(args, message):
    result = batch("raw", "-m", "echo", *args, stdin="x\n")
    assert result.code == 2 and result.stderr.startswith(message)


def test_an_unknown_deployment_stops_the_batch_with_exit_4(backend_name):
    result = batch(backend_name, "--lines", "-m", "no-such", stdin="a\nb\nc\n")
    assert result.code == 4
    assert result.stderr.startswith("dial: deployment 'no-such' not found")


# -- the installed program: kill, Ctrl-C -------------------------------------------------


def start(dial_env, backend: str, *args: str, stdin: str) -> subprocess.Popen[bytes]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **dial_env}
    process = subprocess.Popen(
        [dial_exe(), "batch", "--backend", backend, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    process.stdin.write(stdin.encode())
    process.stdin.close()
    process.stdin = None  # communicate() must not flush it again
    return process


def test_a_killed_batch_resumes_where_it_stopped(backend_name, dial_env, emulator, tmp_path):
    out = tmp_path / "out.jsonl"
    items = "".join(f"item {i}\n" for i in range(1, 21))
    load_counts(emulator, reset=True)
    first = start(
        dial_env,
        backend_name,
        "--lines",
        "-m",
        "latency",
        "-j",
        "2",
        "--resume",
        str(out),
        stdin=items,
    )
    while out.exists() is False or out.read_text().count("\n") < 3:
        assert first.poll() is None, first.stderr.read()
    first.kill()
    first.wait()
    before = len(out.read_text().splitlines())
    assert before < 20
    second = start(
        dial_env,
        backend_name,
        "--lines",
        "-m",
        "latency",
        "-j",
        "2",
        "--resume",
        str(out),
        stdin=items,
    )
    assert second.wait(timeout=60) == 0, second.stderr.read()
    got = records(out.read_text())
    assert sorted(r["id"] for r in got) == list(range(1, 21))
    assert all(r["answer"] == f"item {r['id']}" for r in got)
    # Only what was missing was sent again (plus what was in flight at the kill).
    assert load_counts(emulator)["latency"]["served"] <= 20 + 2


def wait_until_sent(process: subprocess.Popen[bytes], count: int) -> None:
    """Read the -v log until ``count`` requests have left."""
    sent = 0
    while sent < count:
        line = process.stderr.readline()
        assert line, "dial ended before sending"
        sent += line.startswith(b"dial: debug: > POST")


def test_ctrl_c_lets_answers_in_flight_finish_then_exits_130(backend_name, dial_env):
    items = "".join(json.dumps({"prompt": words(20)}) + "\n" for _ in range(10))
    process = start(dial_env, backend_name, "-v", "-m", "slow", "-j", "2", stdin=items)
    wait_until_sent(process, 3)  # items 1 and 2 answered (or nearly), item 3 under way
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.decode().endswith("dial: interrupted\n")
    got = records(out.decode())
    assert 3 <= len(got) < 10  # what was in flight at Ctrl-C finished and was written
    assert [r["id"] for r in got] == list(range(1, len(got) + 1))
    assert all(r["error"] is None and r["answer"] == words(20) for r in got)


def test_a_second_ctrl_c_stops_at_once_without_waiting_for_answers(backend_name, dial_env):
    items = "".join(json.dumps({"prompt": words(60)}) + "\n" for _ in range(4))
    process = start(dial_env, backend_name, "-v", "-m", "slow", "-j", "2", stdin=items)
    wait_until_sent(process, 2)  # -v logs each request as it leaves: both are under way
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)  # two signals sent at once may arrive as one
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert out == b""  # the answers in flight (3 s each) were dropped, not awaited
    assert err.decode().endswith("dial: interrupted\n")


def test_rpm_spaces_the_request_starts(backend_name):
    # 30 a minute is one start every 2 s, so the third item cannot start before 4 s have
    # passed (a lower bound: a loaded machine only adds to it); -j 3 alone sends all three
    # at once and the batch takes about 0.5 s (the deployment's latency).
    started = time.monotonic()
    result = batch(
        backend_name, "--lines", "-m", "latency", "-j", "3", "--rpm", "30", stdin="a\nb\nc\n"
    )
    assert time.monotonic() - started >= 4.0
    assert (result.code, result.stderr) == (0, "")
    assert [r["answer"] for r in records(result.stdout)] == ["a", "b", "c"]
