"""The chat commands of issue 19 in-process: /edit, /copy, /save, /model's check and
close names, /retry after a failed request, the system-prompt question, and what Tab
offers (the pure part; test_chat_pty_keys.py presses the real key)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_harness import run_dial
from test_chat import chat, home, interactive, output, received, stored

from dialcli.chat.commands import help_text
from dialcli.chat.completion import candidates, paths
from dialcli.cli.chat import DEFAULT_SYSTEM_PROMPT, SYSTEM_QUESTION
from dialcli.model_cache import close_names, did_you_mean

pytestmark = pytest.mark.usefixtures("dial_environ")


def script(folder: Path, name: str, body: str) -> Path:
    """An executable Python script (the interpreter named in full: PATH may be bare)."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


def errors(io) -> str:
    return io.stderr.getvalue()


def list_models() -> None:
    """`dial models` fills the model cache the chat checks names against."""
    assert run_dial(["models"]).code == 0


# -- /edit ------------------------------------------------------------------------------


@pytest.fixture
def editor(tmp_path, monkeypatch) -> Path:
    """$EDITOR: a program that replaces 'wrong' by 'right' in the file it is given."""
    path = script(
        tmp_path,
        "fake-editor",
        "import sys\np = sys.argv[1]\ntext = open(p).read()\n"
        "open(p, 'w').write(text.replace('wrong', 'right') + '\\n')\n",
    )
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", str(path))
    return path


def test_edit_asks_the_edited_question_in_place_of_the_last_exchange(editor):
    code, out, err = chat("-m", "echo", "-s", "", stdin="first\nthe wrong question\n/edit\n")
    assert code == 0, err
    assert out.splitlines() == ["first", "the wrong question", "the right question"]
    (conversation,) = stored(home())
    assert [m.content for m in conversation.messages] == ["first", "first"] + [
        "the right question"
    ] * 2


def test_edit_with_visual_set_prefers_it(editor, tmp_path, monkeypatch):
    visual = script(
        tmp_path,
        "visual",
        "import sys\nopen(sys.argv[1], 'w').write('from visual')\n",
    )
    monkeypatch.setenv("VISUAL", str(visual))
    code, out, _ = chat("-m", "echo", "-s", "", stdin="wrong\n/edit\n")
    assert (code, out) == (0, "wrong\nfrom visual\n")


def test_edit_that_changes_nothing_asks_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("EDITOR", str(script(tmp_path, "noop", "pass\n")))
    io, _ = interactive(["", "same", "/edit"])
    assert output(io).count("Assistant: same") == 1
    assert "Unchanged: nothing asked" in errors(io)


def test_edit_before_any_question_and_with_a_missing_editor_fail_cleanly(monkeypatch):
    monkeypatch.setenv("EDITOR", "/nonexistent/editor --wait")
    code, _, err = chat("-m", "echo", stdin="/edit\none\n/edit\n")
    lines = [line for line in err.splitlines() if line.startswith("dial: ")]
    assert lines[0] == "dial: nothing to retry yet"
    assert lines[1].startswith("dial: cannot run the editor '/nonexistent/editor'")
    assert code == 2
    (conversation,) = stored(home())
    assert [m.content for m in conversation.messages] == ["one", "one"]


# -- /copy ------------------------------------------------------------------------------


def test_copy_hands_the_last_answer_to_the_clipboard_tool(tmp_path, monkeypatch):
    clip = tmp_path / "clipboard.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script(
        bin_dir,
        "xclip",
        "import os, sys\nassert sys.argv[1:] == ['-selection', 'clipboard'], sys.argv\n"
        f"open({str(clip)!r}, 'wb').write(sys.stdin.buffer.read())\n",
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    io, _ = interactive(["", "copy me 🎉", "/copy"])
    assert clip.read_text(encoding="utf-8") == "copy me 🎉"
    assert "Copied the last answer (9 characters) with xclip." in errors(io)


def test_copy_without_a_clipboard_tool_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing in it
    code, out, err = chat("-m", "echo", stdin="hello\n/copy\n")
    assert out == "hello\n"
    assert "dial: no clipboard tool found (install one of: wl-copy, xclip, xsel, pbcopy)" in err
    assert code == 2


def test_copy_before_any_answer_is_reported():
    code, _, err = chat("-m", "echo", stdin="/copy\n")
    assert code == 2
    assert "dial: no answer to copy yet" in err


# -- /save NAME -------------------------------------------------------------------------


def test_save_names_the_conversation_in_history_and_on_disk():
    code, out, err = chat("-m", "echo", "-s", "", stdin="hello\n/save Trip plans\n/save\n")
    assert code == 0, err
    assert out.splitlines() == ["hello", "Trip plans"]
    (conversation,) = stored(home())
    assert conversation.title == "Trip plans"
    listing = run_dial(["history", "list"]).stdout
    assert "Trip plans" in listing


def test_save_before_the_first_exchange_names_it_when_it_is_saved():
    code, _, _ = chat("-m", "echo", "-s", "", stdin="/save Named early\nfirst question\n")
    assert code == 0
    (conversation,) = stored(home())
    assert conversation.title == "Named early"


def test_help_lists_the_new_commands_with_undo_and_usage():
    text = help_text()
    for name in ("/edit", "/copy", "/save [NAME]", "/undo", "/usage", "/retry"):
        assert name in text


# -- /model: the listing's check, close names, and the question kept on 404 -----------


def test_model_unknown_to_the_listing_is_warned_about_with_close_names():
    list_models()
    io, _ = interactive(["", "/model ecoh", "/model nope-at-all", "/model echo", "hi"])
    lines = errors(io).splitlines()
    assert "dial: warning: 'ecoh' is not in the model listing; did you mean 'echo'?" in lines
    assert "dial: warning: 'nope-at-all' is not in the model listing; see 'dial models'" in lines
    assert sum("warning" in line for line in lines) == 2  # 'echo' is listed: no warning


def test_a_404_keeps_the_question_for_retry_and_names_close_deployments(backend_name):
    list_models()
    lines = "/model ecoh\nkept question\n/model echo\n/retry\n"
    code, out, err = chat("-m", "echo", "-s", "", "--backend", backend_name, stdin=lines)
    assert out == "kept question\n"
    failure = next(line for line in err.splitlines() if "not found" in line)
    assert failure.startswith("dial: deployment 'ecoh' not found (HTTP 404")
    assert failure.endswith("did you mean 'echo'?")
    assert code == 4  # the script learns that an input failed
    (conversation,) = stored(home())
    assert [m.content for m in conversation.messages] == ["kept question"] * 2


def test_edit_after_a_failed_request_edits_the_question_that_failed(editor):
    lines = "/model fail-500\nthe wrong one\n/model echo\n/edit\n"
    code, out, _ = chat("-m", "echo", "-s", "", stdin=lines)
    assert out == "the right one\n"
    assert code == 1
    (conversation,) = stored(home())
    assert [m.content for m in conversation.messages] == ["the right one"] * 2


def test_ask_with_an_unknown_model_names_close_ones_from_the_cache(backend_name):
    list_models()
    result = run_dial(["ask", "--backend", backend_name, "-m", "slwo", "hi"])
    assert result.code == 4
    assert result.stderr.startswith("dial: deployment 'slwo' not found (HTTP 404")
    assert result.stderr.rstrip().endswith("; did you mean 'slow'?")
    assert result.stderr.count("\n") == 1


def test_ask_with_an_unknown_model_and_no_cache_says_no_more_than_before():
    result = run_dial(["ask", "-m", "slwo", "hi"])
    assert result.code == 4
    assert "did you mean" not in result.stderr


@pytest.mark.parametrize(
    ("name", "known", "hint"),
    [
        ("ecoh", ["echo", "slow"], "did you mean 'echo'?"),
        ("ECHO", ["echo"], "did you mean 'echo'?"),
        ("gpt-4", ["gpt-4o", "gpt-4o-mini", "echo"], "did you mean 'gpt-4o' or 'gpt-4o-mini'?"),
        ("zzz", ["echo"], ""),
    ],
)
def test_close_names(name, known, hint):
    assert did_you_mean(name, known) == hint
    assert bool(close_names(name, known)) == bool(hint)


# -- the system-prompt question -----------------------------------------------------


def test_the_question_shows_the_default_and_enter_takes_it():
    assert DEFAULT_SYSTEM_PROMPT in SYSTEM_QUESTION
    _, lines = interactive(["", "hello"])
    assert lines.prompts[0] == SYSTEM_QUESTION
    (conversation,) = stored(home())
    assert conversation.system == DEFAULT_SYSTEM_PROMPT


def test_no_question_when_config_sets_the_system_prompt(tmp_path, monkeypatch):
    config = tmp_path / "chat.toml"
    config.write_text('system = "From config."\n')
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    _, lines = interactive(["hello"])
    assert SYSTEM_QUESTION not in lines.prompts
    (conversation,) = stored(home())
    assert conversation.system == "From config."


def test_system_question_false_in_config_takes_the_default_without_asking(tmp_path, monkeypatch):
    config = tmp_path / "chat.toml"
    config.write_text("system_question = false\n")
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    _, lines = interactive(["hello"])
    assert lines.prompts == ["You: ", "You: "]
    (conversation,) = stored(home())
    assert conversation.system == DEFAULT_SYSTEM_PROMPT


def test_the_flag_turns_the_question_off():
    _, lines = interactive(["hello"], ask_system=False)
    assert SYSTEM_QUESTION not in lines.prompts


def test_system_question_must_be_true_or_false(tmp_path, monkeypatch):
    config = tmp_path / "chat.toml"
    config.write_text('system_question = "no"\n')
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    result = run_dial(["chat", "-m", "echo"], "hi\n")
    assert result.code == 2
    assert "system_question" in result.stderr and "expected true or false" in result.stderr


def test_the_flag_is_accepted_by_a_scripted_chat():
    code, out, _ = chat("-m", "inspect", "--no-system-prompt-question", stdin="hi\n")
    assert code == 0
    assert received(out)["messages"][0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}


# -- Tab (the candidates readline is given) --------------------------------------------


def models() -> list[str]:
    return ["echo", "slow", "fail-404"]


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        ("/mo", "/mo", ["/model "]),
        ("/e", "/e", ["/edit", "/exit"]),
        ("/s", "/s", ["/save ", "/system "]),
        ("hello /mo", "/mo", []),  # only the first word is a command
        ("/model ", "", ["echo ", "fail-404 ", "slow "]),
        ("/model e", "e", ["echo "]),
        ("/MODEL s", "s", ["slow "]),
        ("/model echo ", "", []),  # one argument only
        ("/system ", "", []),
    ],
)
def test_tab_candidates(line, text, expected):
    assert candidates(line, len(line) - len(text), text, models) == expected


def test_tab_after_attach_offers_paths(tmp_path, monkeypatch):
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / ".hidden").write_text("x")
    monkeypatch.chdir(tmp_path)
    line = "/attach no"
    assert candidates(line, len("/attach "), "no", models) == ["notebooks/", "notes.md "]
    assert paths(f"{tmp_path}/notes") == [f"{tmp_path}/notes.md "]
    assert paths("") == ["notebooks/", "notes.md "]  # hidden files only when asked for
    assert paths(".h") == [".hidden "]
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths("~/note") == ["~/notebooks/", "~/notes.md "]


def test_models_are_not_listed_for_other_completions():
    calls: list[int] = []

    def counting() -> list[str]:
        calls.append(1)
        return []

    candidates("/mo", 0, "/mo", counting)
    candidates("/attach x", 8, "x", counting)
    assert calls == []
