"""`dial chat` on a pseudo-terminal: the installed program, driven like a person would,
against the emulator (both backends for the full session)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
from pathlib import Path

import pexpect
import pytest
from cli_harness import dial_exe

from dialcli.cli.chat import SYSTEM_QUESTION
from dialcli.store import Store

TIMEOUT = 20  # generous: a loaded CI machine, and the sdk backend's import time
SLOW_WORDS = " ".join(f"s{i}" for i in range(60))  # 60 tokens x 50 ms on `slow`


def spawn(args: list[str], env: dict[str, str], *, color: bool = False) -> pexpect.spawn:
    full = {**env, "TERM": "xterm-256color", "PATH": os.environ["PATH"]}
    full.pop("NO_COLOR", None)
    if not color:
        full["NO_COLOR"] = "1"
    return pexpect.spawn(
        dial_exe(),
        args,
        env=full,
        dimensions=(40, 120),
        encoding="utf-8",
        timeout=TIMEOUT,
        preexec_fn=default_sigint,
    )


def default_sigint() -> None:
    """In the child: Ctrl-C works even when the suite runs as a background job (whose
    shell leaves SIGINT ignored, which the child would inherit: every Ctrl-C lost)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def answer(child: pexpect.spawn) -> str:
    """The text between the next ``Assistant:`` label and the next ``You:`` prompt."""
    child.expect_exact("Assistant:")
    child.expect_exact("You: ")
    # The spinner draws a frame and a backspace, then erases itself: drop its traces,
    # and readline's bracketed-paste switches around the prompt.
    text = re.sub(r".\x08", "", child.before)
    return re.sub(r"\x1b\[\?2004[hl]", "", text).strip()


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_whole_terminal_session_then_continue_with_context(dial_env, backend_name):
    child = spawn(["chat", "--backend", backend_name, "-m", "echo"], dial_env)
    child.expect_exact(SYSTEM_QUESTION)
    child.sendline("You are a test.")
    child.expect_exact("You: ")
    child.sendline("first turn")
    assert answer(child) == "first turn"
    child.sendline("second turn")
    assert answer(child) == "second turn"

    child.sendline("/model slow")
    child.expect_exact("You: ")
    child.sendline(SLOW_WORDS)
    child.expect_exact("Assistant:")
    child.expect_exact("s3 ")  # a few tokens in, far from the end
    child.sendintr()
    child.expect_exact("[interrupted]")
    child.expect_exact("You: ")

    child.sendline("/model echo")
    child.expect_exact("You: ")
    child.sendline("/retry")  # the interrupted answer is replaced by a whole one
    assert answer(child) == SLOW_WORDS
    child.sendeof()
    assert finish(child) == 0

    home = Path(dial_env["DIAL_HOME"])
    (summary,) = Store(home).summaries()
    conversation = Store(home).load(summary.id)
    assert conversation.system == "You are a test."
    assert [(m.content, m.interrupted) for m in conversation.messages[-2:]] == [
        (SLOW_WORDS, False),
        (SLOW_WORDS, False),
    ]
    history = home / "chat_history"
    assert "first turn" in history.read_text()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600

    child = spawn(["chat", "--backend", backend_name, "-c"], dial_env)
    child.expect_exact("You: second turn")  # the last exchanges are shown first
    child.expect_exact("\r\nYou: ")
    child.sendline("/model inspect")
    child.expect_exact("You: ")
    child.sendline("what did we say?")
    received = json.loads(answer(child))
    assert [m["content"] for m in received["messages"]] == [
        "You are a test.",
        "first turn",
        "first turn",
        "second turn",
        "second turn",
        SLOW_WORDS,
        SLOW_WORDS,
        "what did we say?",
    ]
    child.sendline("/exit")
    assert finish(child) == 0
    assert len(Store(home).load(summary.id).messages) == 8


def test_markdown_is_rendered_on_a_colour_terminal(dial_env):
    child = spawn(["chat", "-m", "echo", "-s", "x"], dial_env, color=True)
    child.expect("You:.*? ")
    child.sendline("some **bold** words")
    child.expect_exact("Assistant:")
    child.expect("You:")
    shown = child.before
    assert "\x1b[1mbold" in shown  # rich's bold, not the asterisks
    assert "**" not in shown
    assert "\x1b[?25h" in shown  # Live gave the cursor back
    child.sendeof()
    assert finish(child) == 0


def test_no_markdown_writes_tokens_raw_even_on_a_colour_terminal(dial_env):
    child = spawn(["chat", "-m", "echo", "-s", "x", "--no-markdown"], dial_env, color=True)
    child.expect("You:.*? ")
    child.sendline("some **bold** words")
    child.expect_exact("Assistant:")
    child.expect("You:")
    assert "some **bold** words" in child.before
    child.sendeof()
    assert finish(child) == 0


def test_two_ctrl_c_at_the_prompt_exit_0(dial_env):
    child = spawn(["chat", "-m", "echo", "-s", "x"], dial_env)
    child.expect_exact("You: ")
    child.send("half-typed")
    child.sendintr()
    child.expect_exact("Ctrl-C again or Ctrl-D to exit")
    child.expect_exact("You: ")
    child.sendintr()
    assert finish(child) == 0


def test_pasted_lines_and_a_quoted_block_each_arrive_as_one_turn(dial_env):
    child = spawn(["chat", "-m", "inspect", "-s", ""], dial_env)
    child.expect_exact("You: ")
    # What a terminal sends for a paste in bracketed-paste mode; Enter sends it.
    child.send("\x1b[200~pasted one\rpasted two\x1b[201~")
    child.send("\r")
    first = json.loads(answer(child))
    assert first["messages"][-1]["content"] == "pasted one\npasted two"
    child.sendline('"""')
    child.expect_exact("... ")
    child.sendline("block one")
    child.expect_exact("... ")
    child.sendline("block two")
    child.expect_exact("... ")
    child.sendline('"""')
    second = json.loads(answer(child))
    assert second["messages"][-1]["content"] == "block one\nblock two"
    child.sendeof()
    assert finish(child) == 0


def test_failed_request_on_a_terminal_is_one_line_and_the_chat_goes_on(dial_env):
    child = spawn(["chat", "-m", "fail-400", "-s", "x"], dial_env)
    child.expect_exact("You: ")
    child.sendline("hello")
    child.expect_exact("dial: Bad request (emulator)")
    child.expect_exact("You: ")
    child.sendline("/model echo")
    child.expect_exact("You: ")
    child.sendline("again")
    assert answer(child) == "again"
    child.sendeof()
    assert finish(child) == 0


@pytest.mark.parametrize("keys", ["\x04", "/exit\r"], ids=["ctrl-d", "exit"])
def test_leaving_restores_the_terminal(dial_env, keys):
    child = spawn(["chat", "-m", "echo", "-s", "x"], dial_env)
    child.expect_exact("You: ")
    child.send(keys)
    child.expect(pexpect.EOF)
    assert "\x1b[?2004l" in child.before  # readline switched bracketed paste off again
    child.close()
    assert child.exitstatus == 0
