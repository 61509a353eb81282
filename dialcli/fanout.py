"""One prompt, several models: ``dial ask -m A -m B -m C``, asked side by side.

Every model gets the same conversation at the same time on the async engine, so the
wall time is the slowest model's, not the sum. The answers are shown in the order
the models were given, each under a header; the one being shown streams live while
the others are held until their turn. ``--json`` prints one line per model instead.
Each model's exchange is saved as its own conversation, the first one last, so that
``dial ask -c`` continues it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dialcli.errors import DialError, PipeClosed, Stopped, Terminated

if TYPE_CHECKING:
    from dialcli.backends.base import ChatRequest, Reply
    from dialcli.engine.base import AsyncBackend
    from dialcli.output import IOStreams


@dataclass
class Answer:
    """One model's part: what has arrived, and how it ended."""

    model: str
    parts: list[str] = field(default_factory=list)
    reply: Reply | None = None
    error: DialError | None = None
    latency_ms: int | None = None
    conversation_id: str | None = None  # where it is saved, if it is
    done: bool = False

    def partial(self) -> Reply | None:
        """What arrived of an answer stopped on the user's side, if anything did."""
        from dialcli.backends.base import Reply

        text = "".join(self.parts)
        return Reply(model=self.model, content=text) if text and self.reply is None else None


class AnswersInterrupted(Stopped):
    """Ctrl-C, SIGTERM or a closed stdout while the answers arrived: ``answers`` holds
    what came of each, so the finished ones and the partial ones can be kept."""

    def __init__(self, answers: list[Answer], cause: BaseException) -> None:
        super().__init__(cause)
        self.answers = answers


class Board:
    """Shows the answers in order: the current one live, the later ones when it ends."""

    def __init__(self, io: IOStreams, answers: list[Answer], *, as_json: bool) -> None:
        self._io = io
        self._answers = answers
        self._as_json = as_json
        self._current = -1
        self._advance()

    def text(self, index: int, text: str) -> None:
        self._answers[index].parts.append(text)
        if index == self._current and not self._as_json:
            self._io.out(text)

    def finished(self, index: int) -> None:
        self._answers[index].done = True
        if index == self._current:
            self._advance()

    def _advance(self) -> None:
        """Close the current answer; open the next ones that are complete, and the one
        after them that is still streaming."""
        while True:
            if self._current >= 0:
                self._close(self._answers[self._current])
            self._current += 1
            if self._current >= len(self._answers):
                return
            answer = self._answers[self._current]
            self._open(answer)
            if not answer.done:
                return

    def interrupted(self) -> None:
        """End the line of the answer being shown, so the shell prompt starts clean."""
        if self._as_json or self._current >= len(self._answers):
            return
        text = "".join(self._answers[self._current].parts)
        if text and not text.endswith("\n"):
            self._io.out("\n")

    def _open(self, answer: Answer) -> None:
        if self._as_json:
            return
        blank = "\n" if self._current > 0 else ""
        self._io.out(f"{blank}=== {answer.model} ===\n" + "".join(answer.parts))

    def _close(self, answer: Answer) -> None:
        if answer.error is not None:
            self._io.err(f"dial: {answer.model}: {answer.error}")
        if self._as_json:
            import orjson

            self._io.out(orjson.dumps(_document(answer)).decode() + "\n")
            return
        text = "".join(answer.parts)
        if text and not text.endswith("\n"):
            self._io.out("\n")


def _document(answer: Answer) -> dict[str, Any]:
    reply = answer.reply
    return {
        "model": answer.model,
        "content": reply.content if reply is not None else None,
        "finish_reason": reply.finish_reason if reply is not None else None,
        "latency_ms": answer.latency_ms,
        "usage": reply.usage if reply is not None else None,
        "error": None
        if answer.error is None
        else {"status": answer.error.status, "message": answer.error.message},
        "conversation_id": answer.conversation_id if answer.reply is not None else None,
    }


def ask_all(
    io: IOStreams,
    requests: list[ChatRequest],
    make_backend: Callable[[int], AsyncBackend],
    *,
    retries: int,
    stream: bool,
    as_json: bool,
    conversation_ids: list[str | None] | None = None,
) -> list[Answer]:
    """Send each request at once; show the answers as they come; return them."""
    answers = [Answer(request.model) for request in requests]
    for answer, conv_id in zip(answers, conversation_ids or [], strict=False):
        answer.conversation_id = conv_id
    board = Board(io, answers, as_json=as_json)
    try:
        asyncio.run(_ask_all(requests, answers, board, make_backend, retries, stream))
    except (KeyboardInterrupt, PipeClosed, Terminated) as stop:
        # asyncio.run cancelled every request first; what arrived is in the answers.
        if not isinstance(stop, PipeClosed):
            with contextlib.suppress(PipeClosed):
                board.interrupted()
        raise AnswersInterrupted(answers, stop) from None
    return answers


async def _ask_all(
    requests: list[ChatRequest],
    answers: list[Answer],
    board: Board,
    make_backend: Callable[[int], AsyncBackend],
    retries: int,
    stream: bool,
) -> None:
    from dialcli.backends.retry import RetryPolicy
    from dialcli.engine.pacing import Pacer
    from dialcli.engine.runner import Runner

    backend = make_backend(len(requests))
    runner = Runner(backend, Pacer(len(requests)), RetryPolicy(retries=retries), stream=stream)

    async def one(index: int, request: ChatRequest) -> None:
        started = time.perf_counter()
        outcome = await runner.run(request, on_text=lambda text: board.text(index, text))
        answer = answers[index]
        answer.reply, answer.error = outcome.reply, outcome.error
        answer.latency_ms = round((time.perf_counter() - started) * 1000)
        board.finished(index)

    try:
        await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
    finally:
        await backend.aclose()
