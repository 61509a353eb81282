"""The code stays easy to change: module size, function complexity, and types.

The limits are the ones STYLE.md sets (a module under ~400 lines) and the one
pyproject.toml sets for ruff's cyclomatic complexity check (C901). mypy runs with the
configuration in pyproject.toml; CI runs it too, this test makes a local suite run
catch what CI would.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "dialcli"
MAX_LINES = 400


def code_lines(path: Path) -> int:
    """Lines that hold code or docstrings: blank lines and comment-only lines not counted."""
    source = path.read_text()
    comment_only = {
        tok.start[0]
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT and tok.line.strip().startswith("#")
    }
    return sum(
        1 for n, line in enumerate(source.splitlines(), 1) if line.strip() and n not in comment_only
    )


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_is_over_400_lines_of_code(path):
    count = code_lines(path)
    assert count <= MAX_LINES, f"{path.name}: {count} lines of code; split it along the data flow"


def test_code_lines_skip_blanks_and_comments_but_not_code_or_strings(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('"""Doc."""\n\n# a comment\nx = 1  # why\ns = """\n# not a comment\n"""\n')
    assert code_lines(sample) == 5


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_no_function_is_over_the_complexity_limit():
    done = subprocess.run(
        [tool("ruff"), "check", "--select", "C901", "--output-format", "concise", str(PACKAGE)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    limit = re.search(r"max-complexity = (\d+)", (REPO / "pyproject.toml").read_text())
    assert limit and int(limit.group(1)) <= 15, "keep the limit meaningful"
    assert done.returncode == 0, f"split these (limit {limit.group(1)}):\n{done.stdout}"


def test_mypy_is_clean():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
