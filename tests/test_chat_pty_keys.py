"""Issue 19's chat keys and commands on a pseudo-terminal: Tab, /edit, /copy, /save,
/model's check with a 404 kept for /retry, and the system-prompt question."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pexpect
from cli_harness import dial_exe
from test_chat_pty import TIMEOUT, answer, default_sigint, finish

from dialcli.cli.chat import DEFAULT_SYSTEM_PROMPT, SYSTEM_QUESTION
from dialcli.store import Store


def spawn_in(folder: Path, args: list[str], env: dict[str, str]) -> pexpect.spawn:
    full = {**env, "TERM": "xterm-256color", "NO_COLOR": "1"}
    full.setdefault("PATH", os.environ["PATH"])
    return pexpect.spawn(
        dial_exe(),
        args,
        env=full,
        cwd=str(folder),
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=TIMEOUT,
        preexec_fn=default_sigint,
    )


def list_models(env: dict[str, str]) -> None:
    """`dial models` fills the model cache that Tab and /model's check read."""
    done = subprocess.run([dial_exe(), "models"], env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


def script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


def test_tab_completes_commands_models_and_paths(dial_env, tmp_path):
    (tmp_path / "notes-for-tab.md").write_text("attached text")
    list_models(dial_env)
    child = spawn_in(tmp_path, ["chat", "-m", "slow", "-s", "x"], dial_env)
    child.expect_exact("You: ")
    child.send("/mo\t")
    child.expect_exact("/model ")
    child.send("ec\t")
    child.expect_exact("echo ")
    child.send("\r")
    child.expect_exact("Model: echo")
    child.expect_exact("You: ")
    child.send("/att\t")
    child.expect_exact("/attach ")
    child.send("notes-f\t")
    child.expect_exact("notes-for-tab.md ")
    child.send("\r")
    child.expect_exact("attached notes-for-tab.md")
    child.expect_exact("You: ")
    child.sendline("/model")
    child.expect_exact("echo")
    child.expect_exact("You: ")
    assert "unknown command" not in child.before
    child.sendeof()
    assert finish(child) == 0


def test_edit_copy_and_save_on_a_terminal(dial_env, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    clip = tmp_path / "clipboard.txt"
    script(
        bin_dir, "xclip", f"import sys\nopen({str(clip)!r}, 'wb').write(sys.stdin.buffer.read())\n"
    )
    editor = script(
        tmp_path,
        "editor",
        "import sys\np = sys.argv[1]\nt = open(p).read()\n"
        "open(p, 'w').write(t.replace('typo', 'fixed'))\n",
    )
    env = {**dial_env, "EDITOR": str(editor), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("VISUAL", None)
    child = spawn_in(tmp_path, ["chat", "-m", "echo", "-s", "x"], env)
    child.expect_exact("You: ")
    child.sendline("a typo here")
    assert answer(child) == "a typo here"
    child.sendline("/edit")
    assert answer(child) == "a fixed here"
    child.sendline("/copy")
    child.expect_exact("Copied the last answer (12 characters) with xclip.")
    child.expect_exact("You: ")
    child.sendline("/save Fixed typos")
    child.expect_exact("Saved as: Fixed typos")
    child.expect_exact("You: ")
    child.sendline("/exit")
    assert finish(child) == 0
    assert clip.read_text() == "a fixed here"
    home = Path(dial_env["DIAL_HOME"])
    (summary,) = Store(home).summaries()
    conversation = Store(home).load(summary.id)
    assert conversation.title == "Fixed typos"
    assert [m.content for m in conversation.messages] == ["a fixed here"] * 2


def test_unknown_model_is_warned_about_and_the_question_survives_the_404(dial_env, tmp_path):
    list_models(dial_env)
    child = spawn_in(tmp_path, ["chat", "-m", "echo", "-s", "x"], dial_env)
    child.expect_exact("You: ")
    child.sendline("/model ecoh")
    child.expect_exact("dial: warning: 'ecoh' is not in the model listing; did you mean 'echo'?")
    child.expect_exact("You: ")
    child.sendline("my question")
    child.expect_exact("not found (HTTP 404")
    child.expect_exact("did you mean 'echo'?")
    child.expect_exact("/retry asks it again")
    child.expect_exact("You: ")
    child.sendline("/model echo")
    child.expect_exact("You: ")
    child.sendline("/retry")
    assert answer(child) == "my question"
    child.sendeof()
    assert finish(child) == 0


def test_the_system_question_shows_the_default_and_the_flag_skips_it(dial_env, tmp_path):
    child = spawn_in(tmp_path, ["chat", "-m", "echo"], dial_env)
    child.expect_exact(SYSTEM_QUESTION)
    assert DEFAULT_SYSTEM_PROMPT in SYSTEM_QUESTION
    child.sendeof()
    assert finish(child) == 0

    child = spawn_in(tmp_path, ["chat", "-m", "echo", "--no-system-prompt-question"], dial_env)
    child.expect_exact("You: ")
    assert "System prompt" not in child.before
    child.sendline("/system")
    child.expect_exact(DEFAULT_SYSTEM_PROMPT)
    child.expect_exact("You: ")
    child.sendeof()
    assert finish(child) == 0
