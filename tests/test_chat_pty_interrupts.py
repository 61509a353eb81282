"""Ctrl-C in `dial chat` on a pseudo-terminal, sent many times at many moments.

The delays below are what is tested (when the key lands), never a way to wait for
the program: every step waits for the output it expects.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pexpect
import pytest
from helpers import EMULATOR_KEY, start_emulator
from test_chat_pty import finish, spawn

from dialcli.store import Store

SPINNER = re.compile("[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]")
DELAYS_MS = (0, 20, 50, 100, 300)  # after the answer's label, i.e. after Enter
ROUNDS = 3
LATENCY = "30"  # seconds: however loaded the machine, each Ctrl-C lands before the answer


@pytest.fixture(scope="module")
def waiting_emulator():
    """An emulator whose `latency` deployment waits LATENCY seconds before answering."""
    running = start_emulator(EMULATOR_KEY, extra=("--latency", LATENCY))
    try:
        yield running
    finally:
        running.stop()


def test_ctrl_c_before_the_first_word_keeps_the_question_and_stops_the_spinner(
    dial_env, backend_name, waiting_emulator
):
    env = {**dial_env, "DIAL_URL": waiting_emulator.url}
    child = spawn(["chat", "--backend", backend_name, "-m", "latency", "-s", "x"], env)
    child.expect_exact("You: ")
    asked = []
    for round_ in range(ROUNDS):
        for delay in DELAYS_MS:
            question = f"q{round_}-{delay}"
            asked.append(question)
            child.sendline(question)
            child.expect_exact("Assistant:")
            time.sleep(delay / 1000)
            child.sendintr()
            child.expect_exact("[interrupted before the answer; /retry asks again]")
            child.expect_exact("You: ")
            # Nothing but a command's output until the next prompt: no spinner frame.
            child.sendline("/model")
            child.expect_exact("You: ")
            assert not SPINNER.search(child.before), repr(child.before)
    child.sendline("/model echo")
    child.expect_exact("You: ")
    child.sendline("/retry")  # asks the last question, which was kept
    child.expect_exact("Assistant:")
    child.expect_exact("You: ")
    assert asked[-1] in child.before
    child.send("\x04")
    child.expect(pexpect.EOF)
    assert "\x1b[?2004l" in child.before  # readline gave the terminal back
    child.close()
    assert child.exitstatus == 0

    (summary,) = Store(Path(dial_env["DIAL_HOME"])).summaries()
    messages = Store(Path(dial_env["DIAL_HOME"])).load(summary.id).messages
    questions = [m.content for m in messages[0::2]]
    assert questions == asked
    answers = [(m.content, m.interrupted) for m in messages[1::2]]
    assert answers == [("", True)] * (len(asked) - 1) + [(asked[-1], False)]


def test_ctrl_c_while_readline_is_busy_with_typed_keys_is_never_lost(dial_env):
    # CPython's readline checks for signals only when select() is interrupted: a Ctrl-C
    # that lands while it handles a key used to wait for the next key (lost).
    child = spawn(["chat", "-m", "echo", "-s", "x"], dial_env)
    child.delaybeforesend = 0
    for delay in (0, 1, 2, 5, 10, 20) * 3:
        child.expect_exact("You: ")
        child.send("y" * 500)
        time.sleep(delay / 1000)
        child.sendintr()
        child.expect_exact("(Ctrl-C again or Ctrl-D to exit)")
        child.sendline("/model")  # disarms the exit
        child.expect_exact("echo")
    child.expect_exact("You: ")
    child.sendintr()
    child.expect_exact("(Ctrl-C again or Ctrl-D to exit)")
    child.expect_exact("You: ")
    child.sendintr()
    assert finish(child) == 0
