"""Exit codes come from one function, and its table is the one --help shows."""

from __future__ import annotations

import pytest

from dialcli.backends.base import Reply
from dialcli.errors import (
    EXIT_CODES,
    AuthError,
    DialError,
    IncompleteAnswerError,
    NetworkError,
    NotFoundError,
    PipeClosed,
    RateLimitError,
    ServerError,
    StorageError,
    Terminated,
    UsageError,
    exit_code_for,
)
from dialcli.turn import AnswerInterrupted

CASES = [
    (ServerError("x"), 1),
    (IncompleteAnswerError("x"), 1),
    (StorageError("x"), 1),
    (UsageError("x"), 2),
    (AuthError("x"), 3),
    (NotFoundError("x"), 4),
    (RateLimitError("x"), 5),
    (NetworkError("x"), 6),
    (KeyboardInterrupt(), 130),
    (PipeClosed(), 141),
    (Terminated(), 143),
    (ZeroDivisionError(), 1),  # a bug: "internal error"
]


@pytest.mark.parametrize(("exc", "code"), CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_each_failure_has_its_exit_code(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code


@pytest.mark.parametrize(
    ("cause", "code"), [(KeyboardInterrupt(), 130), (PipeClosed(), 141), (Terminated(), 143)]
)
def test_an_interrupted_answer_ends_with_its_causes_code(cause: BaseException, code: int) -> None:
    stop = AnswerInterrupted(Reply(model="m", content="part"), cause)
    assert exit_code_for(stop) == code
    # Only Ctrl-C may leave an interactive chat running.
    assert stop.ends_the_program == (code != 130)


def test_every_code_a_failure_can_end_in_is_in_the_help_table() -> None:
    documented = {code for code, _ in EXIT_CODES}
    produced = {code for _, code in CASES} | {DialError("x").exit_code}
    assert produced <= documented
