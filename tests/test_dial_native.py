"""DIAL-native features on both backends: state, stages, attachments, configuration."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def ask(backend: str, *args: str) -> tuple[int, str, str]:
    result = run_dial(["ask", "--backend", backend, *args])
    return result.code, result.stdout, result.stderr


def saved() -> dict:
    [path] = (Path(os.environ["DIAL_HOME"]) / "conversations").glob("[0-9a-f]*.json")
    return json.loads(path.read_bytes())


# -- state ----------------------------------------------------------------------------------


def test_application_state_round_trips_over_three_turns(backend_name):
    assert ask(backend_name, "-m", "counter", "hi") == (0, "turn 1\n", "")
    assert ask(backend_name, "-c", "again") == (0, "turn 2\n", "")
    assert ask(backend_name, "-c", "and again") == (0, "turn 3\n", "")
    answers = [m for m in saved()["messages"] if m["role"] == "assistant"]
    assert [a["custom_content"]["state"] for a in answers] == [{"turns": n} for n in (1, 2, 3)]


def test_cid_resume_also_sends_state_back(backend_name):
    ask(backend_name, "-m", "counter", "hi")
    conv_id = saved()["id"]
    assert ask(backend_name, "--cid", conv_id[:6], "more") == (0, "turn 2\n", "")


def test_state_is_sent_back_inside_the_assistant_message(backend_name):
    ask(backend_name, "-m", "counter", "hi")
    code, out, _ = ask(backend_name, "-c", "-m", "inspect", "what did you get?")
    assert code == 0
    messages = json.loads(out)["messages"]
    assert messages[1]["role"] == "assistant"
    assert messages[1]["custom_content"]["state"] == {"turns": 1}


# -- stages ---------------------------------------------------------------------------------


def test_stages_are_merged_and_kept_out_of_stdout(backend_name):
    code, out, err = ask(backend_name, "-m", "stages", "find cats")
    assert (code, out, err) == (0, "find cats\n", ""), "piped: no stages anywhere by default"
    stages = saved()["messages"][1]["custom_content"]["stages"]
    assert [(s["name"], s["status"]) for s in stages] == [
        ("Searching", "completed"),
        ("Answering", "completed"),
    ]
    assert stages[0]["content"] == "Looking up: find cats"


def test_stages_show_on_stderr_on_a_terminal_with_marks(backend_name):
    # --no-markdown: the answer's exact text on the terminal, so stdout can be compared.
    args = ["ask", "--backend", backend_name, "-m", "stages", "--no-markdown", "x fail-stage"]
    result = run_dial(args, tty=True)
    assert result.code == 0
    assert result.stdout == "x fail-stage\n"
    lines = result.stderr.splitlines()
    assert "▸ Searching" in lines and "✗ Searching (failed)" in lines
    assert "✓ Answering (done)" in lines
    assert not any(line.startswith("  Looking up") for line in lines)


def test_stages_full_shows_their_content(backend_name):
    code, _, err = ask(backend_name, "-m", "stages", "--stages", "full", "dogs")
    assert code == 0
    assert "▸ Searching\n  Looking up: dogs\n✓ Searching (done)\n" in err


def test_json_output_includes_stages(backend_name):
    code, out, _ = ask(backend_name, "-m", "stages", "--json", "birds")
    assert code == 0
    stages = json.loads(out)["custom_content"]["stages"]
    assert [s["name"] for s in stages] == ["Searching", "Answering"]


def test_history_show_folds_stages(backend_name):
    ask(backend_name, "-m", "stages", "fish")
    shown = run_dial(["history", "show", "last"]).stdout
    assert "[stage: Searching (done)]" in shown and "[stage: Answering (done)]" in shown
    assert "Looking up" not in shown


# -- attachments in -------------------------------------------------------------------------


def test_local_file_is_uploaded_and_sent_by_its_dial_url(backend_name, tmp_path):
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG_1X1)
    code, out, err = ask(backend_name, "-m", "attachments-echo", "-a", str(image), "what is it?")
    assert code == 0, err
    assert out.startswith("received 1 attachment(s):\n- pixel.png (image/png): url files/")
    assert f"{len(PNG_1X1)} bytes in storage" in out


def test_url_attachment_is_sent_as_a_url(backend_name):
    url = "https://example.com/report.pdf"
    code, out, _ = ask(backend_name, "-m", "attachments-echo", "-a", url, "read this")
    assert code == 0
    assert out == f"received 1 attachment(s):\n- report.pdf (application/pdf): url {url}\n"


def test_several_attachments_keep_their_order(backend_name, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    code, out, _ = ask(
        backend_name, "-m", "attachments-echo", "-a", "https://x.test/a.png", "-a", str(notes), "q"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("- a.png") and lines[2].startswith("- notes.txt (text/plain)")


def test_missing_file_fails_before_any_request(backend_name, tmp_path):
    code, out, err = ask(backend_name, "-m", "inspect", "-a", str(tmp_path / "nope.png"), "q")
    assert (code, out) == (2, "")
    assert err == f"dial: cannot attach {tmp_path / 'nope.png'}: no such file\n"
    assert not (Path(os.environ["DIAL_HOME"]) / "conversations").exists()


def test_a_directory_cannot_be_attached(backend_name, tmp_path):
    code, _, err = ask(backend_name, "-m", "inspect", "-a", str(tmp_path), "q")
    assert code == 2 and "it is a directory" in err


def test_refused_upload_is_a_clear_error_before_the_completion(backend_name, tmp_path, monkeypatch):
    monkeypatch.setenv("DIAL_API_KEY", "not-the-key-123")
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG_1X1)
    code, _, err = ask(backend_name, "-m", "attachments-echo", "-a", str(image), "q")
    assert code == 3
    assert err.startswith("dial: ") and "(HTTP 401)" in err and err.count("\n") == 1


# -- attachments out ------------------------------------------------------------------------


def test_answer_attachments_are_listed_on_stderr(backend_name):
    code, out, err = ask(backend_name, "-m", "attachments", "files please")
    assert (code, out) == (0, "here are your files\n")
    assert "attachment: dot.png (image/png) inline data" in err
    assert "attachment: report.txt (text/plain) files/" in err


def test_save_attachments_downloads_and_decodes_without_overwriting(backend_name, tmp_path):
    folder = tmp_path / "out"
    for _ in range(2):
        code, _, err = ask(
            backend_name, "-m", "attachments", "--save-attachments", str(folder), "x"
        )
        assert code == 0, err
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["dot (1).png", "dot.png", "report (1).txt", "report.txt"]
    assert (folder / "dot.png").read_bytes().startswith(b"\x89PNG")
    assert (folder / "report.txt").read_bytes() == (folder / "report (1).txt").read_bytes()
    assert (folder / "report.txt").stat().st_size > 0


def test_hostile_titles_stay_inside_the_folder(tmp_path):
    from dialcli.attachments import save

    folder = tmp_path / "inside"
    attachments = [
        {"title": "../../escape.txt", "data": base64.b64encode(b"one").decode()},
        {"title": "/etc/passwd", "data": base64.b64encode(b"two").decode()},
        {"title": "..", "data": base64.b64encode(b"three").decode()},
        {"title": "sub\\..\\x.txt", "data": base64.b64encode(b"four").decode()},
    ]
    written = save(attachments, backend=None, folder=folder)  # type: ignore[arg-type]
    assert all(path.parent == folder for path in written)
    assert sorted(p.name for p in folder.iterdir()) == [
        "attachment-3",
        "escape.txt",
        "passwd",
        "x.txt",
    ]
    assert not (tmp_path / "escape.txt").exists()


# -- configuration --------------------------------------------------------------------------


def test_config_json_is_sent_as_custom_fields_configuration(backend_name, tmp_path):
    assert ask(
        backend_name, "-m", "configurable", "--config-json", '{"style":"shout"}', "hi you"
    ) == (
        0,
        "HI YOU\n",
        "",
    )
    config = tmp_path / "conf.json"
    config.write_text('{"style": "plain"}')
    assert ask(backend_name, "-m", "configurable", "--config-json", f"@{config}", "hi")[1] == "hi\n"
    code, out, _ = ask(backend_name, "-m", "inspect", "--config-json", '{"a": [1]}', "q")
    assert code == 0
    assert json.loads(out)["custom_fields"] == {"configuration": {"a": [1]}}


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("{nope", "invalid JSON in --config-json"),
        ("[1]", "must hold a JSON object"),
        ("@/no/such", "cannot read /no/such"),
    ],
)
def test_bad_config_json_is_a_usage_error(backend_name, value, needle):
    code, _, err = ask(backend_name, "-m", "configurable", "--config-json", value, "hi")
    assert code == 2 and needle in err and err.count("\n") == 1


def test_models_show_prints_details_and_the_configuration_schema(backend_name):
    result = run_dial(["models", "show", "configurable", "--backend", backend_name])
    assert result.code == 0, result.stderr
    assert "object:                 application" in result.stdout
    assert "configuration schema:" in result.stdout and '"shout"' in result.stdout
    plain = run_dial(["models", "show", "echo", "--backend", backend_name, "--json"])
    assert json.loads(plain.stdout)["configuration_schema"] is None


def test_models_all_lists_applications_too(backend_name):
    models = run_dial(["models", "--backend", backend_name]).stdout.split()
    everything = run_dial(["models", "--all", "--backend", backend_name]).stdout.split()
    assert "counter" not in models
    assert {"counter", "stages", "attachments", "configurable"} <= set(everything)
    assert everything[: len(models)] == models


# -- the same through dial chat -------------------------------------------------------------


def chat(backend: str, *args: str, stdin: str) -> tuple[int, str, str]:
    result = run_dial(["chat", "--backend", backend, *args], stdin)
    return result.code, result.stdout, result.stderr


def test_state_round_trips_through_a_resumed_chat(backend_name):
    assert chat(backend_name, "-m", "counter", stdin="hi\n") == (0, "turn 1\n", "")
    assert chat(backend_name, "-c", stdin="again\nand again\n") == (0, "turn 2\nturn 3\n", "")
    conv_id = saved()["id"]
    assert chat(backend_name, "--resume", conv_id[:5], stdin="more\n") == (0, "turn 4\n", "")
    assert ask(backend_name, "-c", "from ask") == (0, "turn 5\n", "")


def test_chat_attach_uploads_for_the_next_message_only(backend_name, tmp_path):
    image = tmp_path / "pixel.png"
    image.write_bytes(PNG_1X1)
    script = f"/attach {image}\n/attach https://x.test/a.pdf\nwhat are these?\nand now?\n"
    code, out, err = chat(backend_name, "-m", "attachments-echo", stdin=script)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "received 2 attachment(s):"
    assert lines[1].startswith("- pixel.png (image/png): url files/")
    assert lines[2] == "- a.pdf (application/pdf): url https://x.test/a.pdf"
    assert lines[3] == "received no attachments"


def test_chat_attach_of_a_missing_file_is_reported_and_the_chat_goes_on(backend_name, tmp_path):
    script = f"/attach {tmp_path / 'nope.png'}\nhello\n"
    code, out, err = chat(backend_name, "-m", "attachments-echo", stdin=script)
    assert out == "received no attachments\n"
    assert err.splitlines()[0] == f"dial: cannot attach {tmp_path / 'nope.png'}: no such file"
    assert code == 2


def test_chat_lists_and_saves_answer_attachments(backend_name, tmp_path):
    folder = tmp_path / "got"
    code, out, err = chat(
        backend_name, "-m", "attachments", "--save-attachments", str(folder), stdin="files\n"
    )
    assert (code, out) == (0, "here are your files\n")
    assert "attachment: dot.png (image/png) inline data" in err
    assert sorted(p.name for p in folder.iterdir()) == ["dot.png", "report.txt"]


def test_chat_sends_the_configuration(backend_name):
    code, out, _ = chat(
        backend_name, "-m", "configurable", "--config-json", '{"style":"shout"}', stdin="hey\n"
    )
    assert (code, out) == (0, "HEY\n")
