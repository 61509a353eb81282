"""What a real DIAL Core requires of a client, on both backends (issue 12).

Each test fails against a client that only pleased the lenient emulator of before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


def ask(backend: str, *args: str) -> tuple[int, str, str]:
    result = run_dial(["ask", "--backend", backend, *args])
    return result.code, result.stdout, result.stderr


def saved() -> dict:
    [path] = (Path(os.environ["DIAL_HOME"]) / "conversations").glob("[0-9a-f]*.json")
    return json.loads(path.read_bytes())


# -- attachments: percent-encoded urls, multipart logging ---------------------------------------


def test_my_report_attaches_and_its_answer_attachment_saves(backend_name, tmp_path):
    report = tmp_path / "My Report #1.txt"
    report.write_bytes(b"quarterly figures\n")
    folder = tmp_path / "out"
    code, out, err = ask(
        backend_name, "-m", "attachments", "-a", str(report), "--save-attachments", str(folder), "x"
    )
    assert code == 0, err
    assert out == "here are your files\n"
    assert (folder / "My Report #1.txt").read_bytes() == b"quarterly figures\n"
    sent = saved()["messages"][0]["custom_content"]["attachments"][0]
    assert sent["url"].endswith("/My%20Report%20%231.txt") and sent["title"] == "My Report #1.txt"


def test_verbose_upload_logs_the_parts_not_the_bytes(backend_name, tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"UPLOADED-BYTES-" * 10)
    code, out, err = ask(backend_name, "-v", "-m", "attachments-echo", "-a", str(data), "x")
    assert code == 0, err
    assert out.startswith("received 1 attachment(s):")
    assert "part 'file': 'data.bin', application/octet-stream, 150 bytes" in err
    assert "UPLOADED-BYTES" not in err


def test_verbose_chat_attach_uploads_and_the_chat_goes_on(backend_name, tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"CHAT-UPLOAD-" * 4)
    script = f"/attach {data}\nwhat is it?\nand now?\n"
    result = run_dial(["chat", "--backend", backend_name, "-v", "-m", "attachments-echo"], script)
    assert result.code == 0
    assert result.stdout.splitlines()[0] == "received 1 attachment(s):"
    assert result.stdout.splitlines()[-1] == "received no attachments"
    assert "part 'file': 'data.bin', application/octet-stream, 48 bytes" in result.stderr
    assert "CHAT-UPLOAD" not in result.stderr


def test_the_default_api_version_is_what_dial_chat_sends(backend_name):
    code, out, _ = ask(backend_name, "-m", "inspect", "which version?")
    assert code == 0
    assert json.loads(out)["headers"]["api-version"] == "2025-01-01-preview"


# -- dial models ------------------------------------------------------------------------------


def test_models_show_of_a_deployment_without_configuration(backend_name):
    result = run_dial(["models", "show", "echo", "--backend", backend_name])
    assert result.code == 0, result.stderr  # Core: 200 with an empty body, never asked now
    assert "configuration schema" not in result.stdout
    lines = result.stdout.splitlines()
    assert "features:               system_prompt, allow_resume, streaming" in lines
    assert "max_total_tokens:       128000" in lines


def test_models_show_of_an_unknown_deployment_exits_4_with_a_useful_line(backend_name):
    result = run_dial(["models", "show", "nope", "--backend", backend_name])
    assert result.code == 4
    assert result.stderr == (
        "dial: deployment 'nope' not found (HTTP 404); "
        "run 'dial models' to see the deployments you can use\n"
    )


@pytest.mark.parametrize(
    ("lang", "name"),
    [("uk_UA.UTF-8", "Довгі відповіді"), ("de_DE.UTF-8", "Lange Antworten"), ("C", "Long answers")],
)
def test_a_localized_display_name_shows_in_the_users_language(
    backend_name, monkeypatch, lang, name
):
    monkeypatch.setenv("LANG", lang)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    table = run_dial(["models", "--backend", backend_name], tty=True).stdout
    [row] = [line for line in table.splitlines() if line.startswith("long ")]
    assert name in row and "{" not in row
    shown = run_dial(["models", "show", "long", "--backend", backend_name]).stdout
    assert f"display_name:           {name}" in shown.splitlines()


def test_models_all_without_applications_falls_back_with_a_notice(
    backend_name, fault_server, monkeypatch
):
    monkeypatch.setenv("DIAL_URL", fault_server.url)
    result = run_dial(["models", "--all", "--backend", backend_name])
    assert result.code == 0
    assert "ok" in result.stdout.split()
    assert result.stderr == "dial: this DIAL has no /openai/applications; listing models only\n"


def test_a_dial_url_ending_in_openai_gets_a_hint(backend_name, emulator, monkeypatch):
    monkeypatch.setenv("DIAL_URL", emulator.url + "/openai")
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "x"])
    assert result.code == 4
    assert "without /openai at the end" in result.stderr
    assert "deployment 'echo' not found" not in result.stderr


# -- custom_content sent back as DIAL Chat sends it --------------------------------------------


def test_a_staged_stateful_app_keeps_working_for_five_turns(backend_name):
    assert ask(backend_name, "-m", "counter", "one") == (0, "turn 1\n", "")
    assert ask(backend_name, "-c", "two") == (0, "turn 2\n", "")
    assert ask(backend_name, "-c", "three") == (0, "turn 3\n", "")
    conv_id = saved()["id"]
    chat = run_dial(["chat", "--backend", backend_name, "--resume", conv_id[:6]], "four\nfive\n")
    assert (chat.code, chat.stdout, chat.stderr) == (0, "turn 4\nturn 5\n", "")
    answers = [m for m in saved()["messages"] if m["role"] == "assistant"]
    assert [a["custom_content"]["state"] for a in answers] == [{"turns": n} for n in range(1, 6)]
    # Everything is kept locally, stages included; only the state went back.
    assert all(a["custom_content"]["stages"][0]["name"] == "Counting" for a in answers)


def test_only_state_and_user_attachments_are_sent_back(backend_name, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("n")
    assert ask(backend_name, "-m", "attachments", "-a", str(note), "files")[0] == 0
    code, out, _ = ask(backend_name, "-c", "-m", "inspect", "what went back?")
    assert code == 0
    question, answer = json.loads(out)["messages"][:2]
    assert [a["title"] for a in question["custom_content"]["attachments"]] == ["note.txt"]
    assert "custom_content" not in answer, "an answer's attachments stay local (no state here)"


# -- answers that stop for a reason -------------------------------------------------------------


@pytest.mark.parametrize("stream", [[], ["--no-stream"]], ids=["stream", "no-stream"])
def test_content_filter_keeps_the_partial_answer_says_so_and_exits_1(backend_name, stream):
    code, out, err = ask(backend_name, *stream, "-m", "content-filter", "a b c d e")
    assert (code, out) == (1, "a b c\n")
    assert err == (
        "dial: refusal: Filtered.\n"
        "dial: the answer was stopped by the content filter (finish_reason: content_filter)\n"
    )
    answer = saved()["messages"][1]
    assert (answer["content"], answer["finish_reason"]) == ("a b c", "content_filter")
    assert answer["refusal"] == "Filtered."


@pytest.mark.parametrize("stream", [[], ["--no-stream"]], ids=["stream", "no-stream"])
def test_length_says_the_answer_was_cut_and_exits_0(backend_name, stream):
    code, out, err = ask(backend_name, *stream, "-m", "length", "--max-tokens", "2", "a b c d")
    assert (code, out) == (0, "a b\n")
    assert err == "dial: the answer was cut at the token limit (finish_reason: length)\n"
    assert saved()["messages"][1]["finish_reason"] == "length"
    code, out, _ = ask(backend_name, *stream, "-c", "--json", "--max-tokens", "1", "x y")
    assert code == 0 and json.loads(out)["finish_reason"] == "length"


def test_a_filtered_answer_in_chat_is_reported_and_the_chat_goes_on(backend_name):
    result = run_dial(["chat", "--backend", backend_name, "-m", "content-filter"], "a b c d\n")
    assert result.stdout == "a b c\n"
    assert "stopped by the content filter" in result.stderr
    assert len(saved()["messages"]) == 2, "the partial answer is saved"


# -- what DIAL Chat sends and keeps -------------------------------------------------------------


@pytest.mark.parametrize("stream", [[], ["--no-stream"]], ids=["stream", "no-stream"])
def test_conversation_id_header_and_response_id(backend_name, stream):
    code, out, _ = ask(backend_name, *stream, "-m", "inspect", "who am I?")
    assert code == 0
    conversation = saved()
    assert json.loads(out)["headers"]["x-conversation-id"] == conversation["id"]
    response_id = conversation["messages"][1]["responseId"]
    assert isinstance(response_id, str) and len(response_id) >= 8
    code, out, _ = ask(backend_name, *stream, "-c", "--json", "and now?")
    assert json.loads(out)["responseId"] == saved()["messages"][3]["responseId"] != response_id


def test_a_dial_path_typed_by_hand_is_encoded(backend_name, emulator):
    import httpx

    headers = {"Api-Key": emulator.api_key}
    bucket = httpx.get(emulator.url + "/v1/bucket", headers=headers).json()["bucket"]
    files = {"file": ("a b.txt", b"abc", "text/plain")}
    put = httpx.put(
        f"{emulator.url}/v1/files/{bucket}/hand/a%20b.txt", files=files, headers=headers
    )
    assert put.status_code == 200
    code, out, err = ask(
        backend_name, "-m", "attachments-echo", "-a", f"files/{bucket}/hand/a b.txt", "x"
    )
    assert code == 0, err
    assert f"url files/{bucket}/hand/a%20b.txt, 3 bytes in storage" in out
