"""The "internal error" check: a bug exits 70 under the test suite, and only here is it meant.

conftest.py sets DIAL_INTERNAL_ERROR_EXIT=70 for every test (in-process and in the
environments built for subprocesses), and cli_harness fails any run that exits 70
without asking for it: an internal error can never pass for an expected failure.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from cli_harness import run_dial

from dialcli.__main__ import INTERNAL_EXIT_VAR
from dialcli.store import Store

CODE = """
import sys
from dialcli.store import Store
def broken(self, limit=None):
    raise ZeroDivisionError("planted bug")
Store.summaries = broken
from dialcli.__main__ import main
sys.exit(main(["history", "list"]))
"""


@pytest.fixture
def planted_bug(monkeypatch):
    def broken(self, limit=None):
        raise ZeroDivisionError("planted bug")

    monkeypatch.setattr(Store, "summaries", broken)


def test_an_internal_error_exits_70_under_the_suite(planted_bug):
    result = run_dial(["history", "list"], internal_error=True)
    assert result.code == 70
    assert result.stderr == (
        "dial: internal error: ZeroDivisionError: planted bug (set DIAL_DEBUG=1 for a traceback)\n"
    )


def test_an_internal_error_exits_1_for_users(planted_bug, monkeypatch):
    monkeypatch.delenv(INTERNAL_EXIT_VAR)
    result = run_dial(["history", "list"])
    assert result.code == 1
    assert result.stderr.startswith("dial: internal error: ZeroDivisionError: planted bug")


def test_the_harness_fails_a_test_that_meets_an_unexpected_internal_error(planted_bug):
    with pytest.raises(AssertionError, match="internal error expected: False"):
        run_dial(["history", "list"])


def test_subprocesses_built_from_dial_env_exit_70_on_an_internal_error(dial_env):
    done = subprocess.run(
        [sys.executable, "-c", CODE], env=dial_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 70, done.stderr
    assert done.stderr.count("\n") == 1 and "internal error: ZeroDivisionError" in done.stderr
