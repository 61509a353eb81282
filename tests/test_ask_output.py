"""`dial ask` output shaping on both backends: -x/--extract and Markdown on a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pexpect
import pytest
from cli_harness import dial_exe, run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")

ANSWER = (
    'Count the lines:\n\n```sh title="count"\nwc -l *.py\n```\n\n'
    "Or in Python:\n\n~~~python\nprint(sum(1 for _ in open('a.py')))\n~~~\n"
)


def test_extract_prints_only_the_first_code_block(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "-x", ANSWER])
    assert (result.code, result.stdout, result.stderr) == (0, "wc -l *.py\n", "")


def test_extract_last_prints_the_last_code_block(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "--extract-last", ANSWER])
    assert (result.code, result.stdout) == (0, "print(sum(1 for _ in open('a.py')))\n")


def test_extract_without_a_code_block_prints_nothing_and_exits_1(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "-x", "no code here"])
    assert (result.code, result.stdout) == (1, "")
    assert result.stderr == "dial: no fenced code block in the answer\n"


def test_extract_on_a_terminal_shows_the_answer_on_stderr_and_code_on_stdout(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "-x", ANSWER], tty=True)
    assert result.code == 0
    assert result.stdout == "wc -l *.py\n"
    assert result.stderr == ANSWER.rstrip("\n") + "\n"


def test_the_whole_answer_is_saved_also_with_extract(backend_name):
    run_dial(["ask", "--backend", backend_name, "-m", "echo", "-x", ANSWER])
    shown = run_dial(["history", "show", "last", "-x"])
    assert (shown.code, shown.stdout) == (0, "wc -l *.py\n")
    shown = run_dial(["history", "show", "last", "--extract-last"])
    assert shown.stdout == "print(sum(1 for _ in open('a.py')))\n"
    whole = run_dial(["history", "show", "last", "--json"])
    assert json.loads(whole.stdout)["messages"][-1]["content"] == ANSWER


def test_extract_and_json_are_refused_together():
    result = run_dial(["ask", "-m", "echo", "-x", "--json", "hi"])
    assert result.code == 2 and "choose one" in result.stderr


def test_history_show_extract_without_code_exits_1():
    run_dial(["ask", "-m", "echo", "plain words"])
    shown = run_dial(["history", "show", "last", "-x"])
    assert (shown.code, shown.stdout) == (1, "")


MARKDOWN = "# Title\n\nSome **bold** text and a list:\n\n- one\n- two\n"


def test_markdown_in_a_pipe_is_the_exact_text(backend_name):
    plain = run_dial(["ask", "--backend", backend_name, "-m", "echo", MARKDOWN])
    forced = run_dial(["ask", "--backend", backend_name, "-m", "echo", "--markdown", MARKDOWN])
    assert plain.stdout_bytes == forced.stdout_bytes == MARKDOWN.rstrip("\n").encode() + b"\n"


def test_markdown_renders_on_a_terminal(backend_name):
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", MARKDOWN], tty=True)
    assert result.code == 0
    assert "bold" in result.stdout and "**bold**" not in result.stdout
    assert "# Title" not in result.stdout


@pytest.mark.parametrize("off", [["--no-markdown"], ["--no-color"]])
def test_no_markdown_and_no_color_keep_the_text_on_a_terminal(off):
    args = (
        ["--no-color", "ask", "-m", "echo", MARKDOWN]
        if off == ["--no-color"]
        else ["ask", "-m", "echo", *off, MARKDOWN]
    )
    result = run_dial(args, tty=True)
    assert result.stdout == MARKDOWN.rstrip("\n") + "\n"


def test_markdown_false_in_config_keeps_the_text(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("markdown = false\n")
    monkeypatch.setenv("DIAL_CONFIG", str(config))
    result = run_dial(["ask", "-m", "echo", MARKDOWN], tty=True)
    assert result.stdout == MARKDOWN.rstrip("\n") + "\n"


def test_rich_is_not_imported_in_a_pipe(dial_env):
    code = (
        "import sys\n"
        "from dialcli.__main__ import main\n"
        "main(['ask', '-m', 'echo', 'hi'])\n"
        "print('rich' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=dial_env, capture_output=True, text=True, check=False
    )
    assert done.stdout == "hi\n"
    assert done.stderr.strip().splitlines()[-1] == "False"


def test_ask_on_a_pty_renders_markdown(dial_env, backend_name):
    env = {**dial_env, "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        dial_exe(),
        ["ask", "--backend", backend_name, "-m", "echo", MARKDOWN],
        env=env,
        dimensions=(40, 100),
        encoding="utf-8",
        timeout=20,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    shown = child.before
    assert "Title" in shown and "# Title" not in shown
    assert "bold" in shown and "**bold**" not in shown
    assert "\x1b[" in shown  # styled by rich
