"""The hostile-server suite (issue 14): one fault-server scenario per defect, both backends.

Each test asserts the exit code, the one stderr line, stdout and, where a conversation
is saved, the saved file's bytes. Scenarios are in tests/hostile_scenarios.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_harness import run_dial
from hostile_scenarios import BIG_EVENT, ESC

from dialcli.store import Store

KEY = "hostile-key-0123456789abcdef"


@pytest.fixture
def server(fault_server, dial_environ, monkeypatch):
    monkeypatch.setenv("DIAL_URL", fault_server.url)
    monkeypatch.setenv("DIAL_API_KEY", KEY)
    fault_server.reset()
    return fault_server


def ask(backend: str, scenario: str, *extra: str, tty: bool = False):
    return run_dial(["ask", "--backend", backend, "-m", scenario, *extra, "hi"], tty=tty)


def saved() -> list[bytes]:
    directory = Path(os.environ["DIAL_HOME"]) / "conversations"
    if not directory.exists():
        return []
    return sorted(p.read_bytes() for p in directory.glob("[0-9a-f]*.json"))  # not the index


def one_line(stderr: str) -> str:
    assert stderr.count("\n") == 1 and stderr.startswith("dial: "), stderr
    return stderr


# -- 3: a key echoed by the server is scrubbed, whatever its source ----------------------------


@pytest.mark.parametrize("scenario", ["echo-key", "echo-key-stream"])
@pytest.mark.parametrize("source", ["env", "config", "command"])
def test_a_key_echoed_by_the_server_never_reaches_the_terminal(
    server, backend_name, monkeypatch, scenario, source
):
    config = Path(os.environ["DIAL_CONFIG"])
    if source != "env":
        monkeypatch.delenv("DIAL_API_KEY")
        line = f'api_key = "{KEY}"' if source == "config" else f'api_key_command = "echo {KEY}"'
        config.write_text(line + "\n")
        config.chmod(0o600)
    result = ask(backend_name, scenario, "-v")
    assert result.code in (1, 3)
    assert KEY not in result.stderr and KEY not in result.stdout
    assert "***" + KEY[-4:] in result.stderr


# -- 5: credentials in DIAL_URL ----------------------------------------------------------------


def test_credentials_in_the_url_are_never_shown(server, backend_name, monkeypatch):
    port = server.url.rsplit(":", 1)[1]
    monkeypatch.setenv("DIAL_URL", f"http://alice:pa55word-secret@127.0.0.1:{port}")
    result = ask(backend_name, "status-500", "-v", "--retries", "0")
    assert result.code == 1
    assert "pa55word-secret" not in result.stderr and "alice:" not in result.stderr
    closed = run_dial(["ask", "--backend", backend_name, "--retries", "0", "-m", "ok", "hi"])
    monkeypatch.setenv("DIAL_URL", "http://alice:pa55word-secret@127.0.0.1:9")
    refused = run_dial(["ask", "--backend", backend_name, "--retries", "0", "-m", "ok", "hi"])
    assert closed.code == 0
    assert refused.code == 6
    assert one_line(refused.stderr).startswith("dial: cannot reach DIAL at http://127.0.0.1:9")
    assert "pa55word" not in refused.stderr


# -- 8: escape sequences from the server -------------------------------------------------------


def test_escape_sequences_in_an_error_message_are_made_visible_on_one_line(server, backend_name):
    result = ask(backend_name, "escape-error")
    assert result.code == 2
    line = one_line(result.stderr)
    assert ESC not in line and "\\x1b]0;pwned" in line
    assert "second line third" in line


def test_escape_sequences_in_stage_names_and_titles_are_made_visible(server, backend_name):
    result = ask(backend_name, "escape-custom", "--stages", "names")
    assert (result.code, result.stdout) == (0, "Hello\n"), result.stderr
    assert ESC not in result.stderr and "\x07" not in result.stderr
    assert "Search\\x1b]0;pwned" in result.stderr and "attachment: x\\x1b" in result.stderr
    shown = run_dial(["history", "show", "last"])
    assert shown.code == 0 and ESC not in shown.stdout and "Search\\x1b" in shown.stdout


def test_escape_sequences_in_model_listings_are_made_visible(server, backend_name, monkeypatch):
    monkeypatch.setenv("DIAL_URL", server.url + "/hostile")
    for tty in (False, True):
        result = run_dial(["models", "--backend", backend_name], tty=tty)
        assert result.code == 0, result.stderr
        assert ESC not in result.stdout and "gpt\\x1b]0;pwned" in result.stdout


def test_markdown_on_a_terminal_does_not_pass_escapes(dial_environ):
    import io

    from dialcli.chat.markdown import MarkdownWriter

    out = io.BytesIO()
    writer = MarkdownWriter(out, lambda: None)
    writer.write(f"# Title\n\nsome {ESC}]0;pwned\x07 text\n\n")
    writer.finish()
    shown = out.getvalue().decode()
    assert "]0;pwned" in shown and f"{ESC}]0;" not in shown and "\x07" not in shown


# -- 10: one event larger than the cap ---------------------------------------------------------


def test_an_event_larger_than_16_mib_ends_the_answer_with_a_clear_error(server, backend_name):
    result = ask(backend_name, "huge-event")
    assert result.code == 1
    assert result.stdout == "Hello\n"
    assert one_line(result.stderr) == (
        "dial: answer incomplete: an event in the stream is larger than 16 MiB\n"
    )
    assert saved() == []
    assert BIG_EVENT > 16 * 1024 * 1024


# -- 11: a reset before any reply is retried like a close --------------------------------------


def test_a_connection_reset_before_any_reply_is_retried(server, backend_name):
    result = ask(backend_name, "reset-before-reply", "--retries", "2")
    assert result.code == 6
    assert server.hits["reset-before-reply"] == 3
    assert one_line(result.stderr).startswith("dial: cannot reach DIAL at ")
    assert result.stdout == "" and saved() == []


# -- 12: [DONE] without finish_reason; a stream with nothing -----------------------------------


def test_an_answer_ended_by_done_without_finish_reason_is_complete(server, backend_name):
    result = ask(backend_name, "done-without-finish")
    assert (result.code, result.stdout, result.stderr) == (0, "Hello world\n", "")
    (doc,) = [json.loads(b) for b in saved()]
    assert doc["messages"][1]["content"] == "Hello world"


def test_a_stream_with_nothing_in_it_is_an_error(server, backend_name):
    result = ask(backend_name, "only-empty-choices")
    assert result.code == 1
    assert result.stdout == ""
    assert one_line(result.stderr) == "dial: the server's answer was empty\n"
    assert saved() == []


# -- 18: Retry-After: nan ----------------------------------------------------------------------


def test_retry_after_nan_is_ignored_and_the_usual_backoff_used(server, backend_name):
    result = ask(backend_name, "retry-after-nan", "--retries", "1")
    assert result.code == 1
    assert server.hits["retry-after-nan"] == 2
    assert one_line(result.stderr) == "dial: busy (fault server) (HTTP 503)\n"


# -- 19: chunks with fields of the wrong type --------------------------------------------------

WRONG_TYPES = {
    "content-not-string": "'delta.content' is not a string",
    "choice-not-object": "'choices[0]' is not an object",
    "custom-content-string": "'delta.custom_content' is not an object",
    "attachments-string": "'custom_content.attachments' is not a list of objects",
    "stage-index-huge": "'custom_content.stages' has an index out of range",
}


@pytest.mark.parametrize("scenario", sorted(WRONG_TYPES))
def test_a_chunk_with_a_field_of_the_wrong_type_is_a_malformed_chunk(
    server, backend_name, scenario
):
    result = ask(backend_name, scenario)
    assert result.code == 1
    assert result.stdout == "Hello\n"
    assert one_line(result.stderr) == (
        "dial: answer incomplete: malformed chunk in the event stream: "
        + WRONG_TYPES[scenario]
        + "\n"
    )
    assert saved() == []


# -- 20: a corrupt gzip body -------------------------------------------------------------------


def test_a_corrupt_gzip_body_is_one_clear_line(server, backend_name):
    result = ask(backend_name, "bad-gzip")
    assert result.code == 1
    assert result.stdout == ""
    assert one_line(result.stderr).startswith("dial: the server's reply could not be decoded")
    assert saved() == []


@pytest.mark.parametrize(
    ("scenario", "code", "stdout", "stderr"),
    [
        ("gzip-ok", 0, "Hello world\n", ""),
        ("gzip-done-without-finish", 0, "Hello world\n", ""),
        (
            "gzip-huge-event",
            1,
            "Hello\n",
            "dial: answer incomplete: an event in the stream is larger than 16 MiB\n",
        ),
    ],
)
def test_a_gzip_event_stream_gets_the_same_checks_as_a_plain_one(
    server, backend_name, scenario, code, stdout, stderr
):
    # The sdk backend watches the stream's bytes before the library does; a compressed
    # stream went past that watch, unchecked ([DONE], the cap on one event).
    result = ask(backend_name, scenario)
    assert (result.code, result.stdout, result.stderr) == (code, stdout, stderr)


# -- 21: attachment titles too long or not a string --------------------------------------------


def test_an_attachment_title_too_long_for_the_file_system_is_cut(server, backend_name, tmp_path):
    folder = tmp_path / "out"
    result = ask(backend_name, "long-title", "--save-attachments", str(folder))
    assert (result.code, result.stdout) == (0, "Hello\n"), result.stderr
    (written,) = list(folder.iterdir())
    assert written.name == "é" * 100  # 200 bytes of UTF-8, whole characters
    assert written.read_bytes() == b"attached bytes"
    assert len(saved()) == 1


def test_an_attachment_title_that_is_not_a_string_is_a_malformed_chunk(
    server, backend_name, tmp_path
):
    folder = tmp_path / "out"
    result = ask(backend_name, "title-not-string", "--save-attachments", str(folder))
    assert (result.code, result.stdout) == (1, "Hello\n")
    assert one_line(result.stderr) == (
        "dial: answer incomplete: malformed chunk in the event stream:"
        " 'attachments[0].title' is not a string\n"
    )
    assert not folder.exists() and saved() == []


# -- 7: dot segments in a model name (also from a saved conversation) --------------------------


def test_a_model_from_a_saved_conversation_stays_under_deployments(server, backend_name):
    assert ask(backend_name, "ok").code == 0
    store = Store(Path(os.environ["DIAL_HOME"]))
    conv_id = store.latest()
    path = store.path / f"{conv_id}.json"
    doc = json.loads(path.read_bytes())
    doc["model"] = "../../v1/bucket"
    path.write_bytes(json.dumps(doc).encode())
    before = path.read_bytes()
    server.reset()
    result = run_dial(["ask", "--backend", backend_name, "-c", "again"])
    assert result.code == 2
    assert one_line(result.stderr).startswith("dial: invalid deployment name '../../v1/bucket'")
    assert server.requests == [] and path.read_bytes() == before


# -- 22: delete on storage that cannot be written ----------------------------------------------


def test_delete_on_unwritable_storage_says_delete(server, backend_name):
    assert ask(backend_name, "ok").code == 0
    store = Store(Path(os.environ["DIAL_HOME"]))
    conv_id = store.latest()
    locks = store.path / ".locks"
    for lock in locks.iterdir():
        lock.unlink()
    locks.rmdir()
    locks.write_text("not a directory")  # as root, chmod cannot make storage read-only
    result = run_dial(["history", "delete", "--yes", conv_id])
    assert result.code == 1
    assert one_line(result.stderr).startswith("dial: could not delete conversation: ")
    assert (store.path / f"{conv_id}.json").exists()


@pytest.mark.parametrize("scenario", ["echo-key", "echo-key-stream"])
def test_the_backend_masks_an_echoed_key_in_the_error_it_raises(server, backend_name, scenario):
    # The error line is scrubbed again at the top (__main__), but the error a backend
    # raises must already be clean: chat, batch and the remote client print their own.
    from dialcli.backends import get_backend
    from dialcli.backends.base import ChatRequest
    from dialcli.config import Settings
    from dialcli.errors import DialError

    settings = Settings(url=server.url, api_key=KEY, backend=backend_name, retries=0)
    request = ChatRequest(scenario, [{"role": "user", "content": "hi"}])
    with get_backend(settings) as backend, pytest.raises(DialError) as raised:
        for _ in backend.stream(request):
            pass
    assert KEY not in str(raised.value) and KEY not in repr(raised.value.args)
    assert "***" + KEY[-4:] in str(raised.value)


@pytest.mark.parametrize(
    "args",
    [
        ["chat", "--no-system-prompt-question", "-m", "echo-key"],
        ["ask", "-m", "echo-key", "-m", "echo-key-stream"],  # several -m: the async engine
    ],
    ids=["chat", "several-models"],
)
def test_commands_that_print_their_own_errors_mask_an_echoed_key(server, backend_name, args):
    # chat and several -m print each failure as it comes, not through __main__'s line.
    result = run_dial([*args, "--backend", backend_name], "hi\n")
    assert result.code == 3
    assert KEY not in result.stderr and KEY not in result.stdout
    assert "***" + KEY[-4:] in result.stderr


def test_a_batch_result_masks_an_echoed_key(server, backend_name):
    # Each failed item's error is written to the results: a file the user keeps.
    args = ["batch", "--lines", "-m", "echo-key", "--backend", backend_name, "--retries", "0"]
    result = run_dial(args, "hi\n")
    assert result.code == 3  # every item refused with 401: the key is wrong
    error = json.loads(result.stdout)["error"]
    assert error["status"] == 401 and "***" + KEY[-4:] in error["message"]
    assert KEY not in result.stderr and KEY not in result.stdout
    assert "***" + KEY[-4:] in result.stderr
