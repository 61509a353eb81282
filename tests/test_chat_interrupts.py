"""Ctrl-C in the interactive chat, in-process: wherever it lands before the first word,
the spinner stops, the question is kept (saved with an empty, interrupted answer) and
/retry asks it again. The pty tests (test_chat_pty_interrupts.py) do it with real keys."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

import pytest
from test_chat import home, interactive, output, stored

from dialcli.backends import get_backend
from dialcli.chat import spinner as spinner_module
from dialcli.chat.interrupts import InterruptWatch
from dialcli.config import resolve_settings
from dialcli.output import IOStreams

pytestmark = pytest.mark.usefixtures("dial_environ")


def spinners_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dial-spinner" and t.is_alive()]


class InterruptFirstStream:
    """The real backend, but its first ``stream()`` is stopped by Ctrl-C before a word."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls = 0

    def stream(self, request: object) -> Iterator[object]:
        self.calls += 1
        if self.calls == 1:
            raise KeyboardInterrupt
        return self.inner.stream(request)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def backend_factory(where: str) -> Callable[[], object]:
    settings = resolve_settings({})
    built: list[int] = []

    def make() -> object:
        built.append(1)
        if where == "building the backend" and len(built) == 1:
            raise KeyboardInterrupt
        backend = get_backend(settings, IOStreams.fake())
        return InterruptFirstStream(backend) if where == "waiting for the stream" else backend

    return make


@pytest.mark.parametrize("where", ["building the backend", "waiting for the stream"])
def test_ctrl_c_before_the_first_word_keeps_the_question_for_retry(where):
    script = ["", "lost?", "/model inspect", "next", "/retry"]
    io, _ = interactive(script, make_backend=backend_factory(where))
    assert spinners_alive() == []
    errors = io.stderr.getvalue()  # type: ignore[attr-defined]
    assert "[interrupted before the answer; /retry asks again]" in errors
    (conversation,) = stored(home())
    contents = [(m.content, m.interrupted) for m in conversation.messages]
    assert contents[:2] == [("lost?", False), ("", True)]
    # "next" went without the unanswered question; /retry then asked "next" again.
    shown = output(io).splitlines()
    answers = [json.loads(line.split(": ", 1)[1]) for line in shown if "Assistant: {" in line]
    assert [m["content"] for m in answers[0]["messages"]] == [
        conversation.system,
        "next",
    ]


def test_retry_right_after_an_unanswered_question_asks_it():
    io, _ = interactive(
        ["", "the question", "/model echo", "/retry"],
        make_backend=backend_factory("waiting for the stream"),
    )
    assert "Assistant: the question\n" in output(io)
    (conversation,) = stored(home())
    assert [(m.content, m.interrupted) for m in conversation.messages] == [
        ("the question", False),
        ("the question", False),
    ]


def test_ctrl_c_while_the_spinner_starts_still_stops_it(monkeypatch):
    real_start = spinner_module.Spinner.start
    calls: list[int] = []

    def start_then_interrupt(self: spinner_module.Spinner) -> spinner_module.Spinner:
        real_start(self)  # the thread runs: the Ctrl-C lands after it started
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return self

    monkeypatch.setattr(spinner_module.Spinner, "start", start_then_interrupt)
    io, _ = interactive(["", "first", "/model echo", "/retry"])
    assert spinners_alive() == []
    assert "Assistant: first\n" in output(io)


def test_the_spinner_may_be_stopped_before_it_starts_and_twice():
    import io as stdio

    stream = stdio.StringIO()
    spinner = spinner_module.Spinner(stream)
    spinner.stop()
    spinner.start()
    spinner.stop()
    spinner.stop()
    assert spinners_alive() == []
    assert stream.getvalue() == ""


def test_interrupt_watch_gives_the_handlers_back():
    import signal

    watch = InterruptWatch()
    watch.install()
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    watch.close()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.set_wakeup_fd(-1) == -1  # nothing left registered
