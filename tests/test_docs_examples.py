"""Every `dial …` example in README.md and docs/usage.md runs against the emulator.

A newcomer pastes examples as they are. Each one runs here in document order, in one
sandbox that holds what the docs assume (a home directory with config.toml and the
templates they show, the files they name, conversations with the ids they quote) and
talks to the emulator, which answers to the deployment names the docs use
(``gpt-4o``, ``claude``, ``my-app``: aliases of its own deployments). ``dial`` is a
wrapper on PATH that logs each real run's exit code, so pipelines, ``$(…)``, loops and
``xargs`` are all seen. No run may end in a usage error (2) or an internal error.

Console blocks run every ``$`` line (their setup, such as ``printf … > people.csv``,
included); sh blocks run their ``dial`` lines.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_harness import dial_exe
from helpers import INTERNAL_EXIT

from dialcli.__main__ import INTERNAL_EXIT_VAR

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", REPO / "docs" / "usage.md"]
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)")
RUNS_DIAL = re.compile(r"(^(\w+=\S*\s+)*|[|;&(]\s*|\$\(|\bxargs\s+)dial(?=\s|$)")

# Examples that are not run, each with the reason. Keyed by the command as written.
SKIPPED = {
    'dial ask -t review; echo "exit $?"': "shows the usage error (exit 2) of a missing field",
    "dial tokens -m echo hello": "shows the usage error (exit 2) of a model that cannot count",
    "dial history delete 3f2a": "asks on a terminal; without one it refuses by design (exit 2)",
    "dial history pull | awk '$1 == \"new\" {print $2}' | head -1 | xargs dial chat --resume": (
        "with nothing new pulled, xargs runs 'dial chat --resume' without an id"
    ),
    "dial config init": "asks questions on a terminal (tests/test_config_cmd.py answers them)",
    "dial config set retries lots": "shows the usage error (exit 2) of a bad value",
    "dial config set modle echo": "shows the usage error (exit 2) of a misspelt key",
}

IDS = {  # conversations the docs quote by id prefix
    "3f2a": "3f2a6c1b-7e10-4e8e-9d1a-1b9e7a524c1d",
    "9bc1": "9bc1d2e3-0000-4000-8000-000000000001",
    "2019b432": "2019b432-5a6b-4c7d-8e9f-000000000002",
}
REVIEW = '''description = "Review a diff"
model = "echo"
system = "You are a strict code reviewer."
temperature = 0.2
prompt = """Review this change for {{focus|bugs}}:

{{input}}"""
'''
WRAPPER = """#!/bin/sh
"{real}" "$@"
code=$?
echo "$code $*" >> "{log}"
exit $code
"""


@dataclass(frozen=True)
class Example:
    where: str  # file:line
    command: str


def bare(command: str) -> str:
    """The command without a trailing ``# comment``."""
    return re.sub(r"\s+#\s.*$", "", command)


def examples(path: Path) -> list[Example]:
    """The commands of a document's sh and console blocks (see the module docstring)."""
    found: list[Example] = []
    fence: str | None = None
    lang = ""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence, lang = match.group(2), match.group(3)
            continue
        closing = match and not match.group(3) and match.group(2)[0] == fence[0]
        if closing and len(match.group(2)) >= len(fence):  # type: ignore[union-attr]
            fence = None
            continue
        text = line.strip()
        if lang == "console" and text.startswith("$ "):
            found.append(Example(f"{path.name}:{number}", text[2:]))
        elif lang == "sh" and RUNS_DIAL.search(text) and not text.startswith("#"):
            found.append(Example(f"{path.name}:{number}", text))
    return found


def _seed(home: Path, env: dict[str, str]) -> None:
    """What the docs take for granted: config, templates, files, quoted conversations."""
    from dialcli.conversation import Conversation, Role
    from dialcli.store import Store

    config = home / ".config" / "dial"
    (config / "templates").mkdir(parents=True)
    # docs/configuration.md's aliases (its `smart` names a DIAL of its own: left out)
    (config / "config.toml").write_text('[aliases]\nfast = "gpt-4o-mini"\n')
    (config / "templates" / "review.toml").write_text(REVIEW)
    (config / "templates" / "translate.toml").write_text(
        'prompt = "Translate {{text}} to {{lang|French}}"\n'
    )
    store = Store(Path(env["DIAL_HOME"]))
    for prefix, conv_id in IDS.items():
        conv = Conversation(model="echo", id=conv_id)
        conv.add(Role.USER, f"question {prefix}")
        conv.add(Role.ASSISTANT, f"question {prefix}")
        store.create(conv)
    files = {
        "app.py": "def add(a, b):\n    return a - b\n",
        "notes.md": "# Notes\n\nShip on Friday.\n",
        "settings.json": '{"style": "shout"}\n',
        "tickets.jsonl": '{"id": "T-1", "text": "The printer is on fire"}\n',
    }
    for name, text in files.items():
        (home / name).write_text(text)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    for name in ("diagram.png", "chart.png"):
        (home / name).write_bytes(png)
    (home / "Downloads").mkdir()
    for target in (
        "export.json",
        "backup.json",
        "Downloads/ai_dial_chat_conversations_history_11-26.json",
    ):
        done = subprocess.run(
            [dial_exe(), "history", "export", "--all", "-o", str(home / target)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    pushed = subprocess.run(
        [dial_exe(), "templates", "push", "translate"], env=env, capture_output=True, text=True
    )
    assert pushed.returncode in (0, 1), pushed.stderr  # 1: pushed by an earlier run already


@pytest.fixture
def sandbox(emulator, tmp_path: Path) -> tuple[Path, dict[str, str], Path]:
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "dial-runs.log"
    wrapper = bin_dir / "dial"
    wrapper.write_text(WRAPPER.format(real=dial_exe(), log=log))
    wrapper.chmod(0o755)
    env = {
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
        "HOME": str(home),
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "DIAL_URL": emulator.url,
        "DIAL_API_KEY": emulator.api_key or "",
        "DIAL_HOME": str(home / ".local" / "share" / "dial"),
        INTERNAL_EXIT_VAR: str(INTERNAL_EXIT),
        "question": "What is DIAL?",  # the exit-code example reads "$question"
    }
    _seed(home, env)
    return home, env, log


@pytest.mark.skipif(shutil.which("jq") is None, reason="the examples pipe into jq")
@pytest.mark.timeout(900)  # about 130 runs of dial, a few of them batches
@pytest.mark.parametrize("doc", DOCS, ids=[p.name for p in DOCS])
def test_every_documented_example_runs_without_a_usage_or_internal_error(sandbox, doc):
    home, env, log = sandbox
    failures = []
    ran = 0
    for example in examples(doc):
        if bare(example.command) in SKIPPED:
            continue
        log.write_text("")
        if os.environ.get("DOCS_EXAMPLES_TRACE"):
            print(example.where, example.command, file=sys.stderr, flush=True)
        done = subprocess.run(
            ["bash", "-c", example.command],
            cwd=home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        runs = [line.split(" ", 1) for line in log.read_text().splitlines()]
        ran += len(runs)
        if RUNS_DIAL.search(example.command) and not runs:
            failures.append(f"{example.where}: {example.command}\n    dial never ran")
        for code, args in runs:
            if int(code) in (2, INTERNAL_EXIT):
                tail = done.stderr.strip().splitlines()[-1:] or [""]
                failures.append(
                    f"{example.where}: {example.command}\n    dial {args} -> exit {code}: {tail[0]}"
                )
    assert not failures, "\n".join(failures)
    assert ran >= 10


def test_the_skip_list_names_only_documented_examples():
    documented = {bare(e.command) for doc in DOCS for e in examples(doc)}
    assert set(SKIPPED) <= documented, set(SKIPPED) - documented


def test_examples_are_found_in_every_kind_of_block():
    found = [e.command for doc in DOCS for e in examples(doc)]
    assert 'echo "summarise this" | dial ask            # one-shot, streamed to stdout' in found
    assert "printf 'name,city\\nAda,London\\nBob\\n' > people.csv" in found  # console setup
    assert any(c.startswith("dial batch -i people.csv") for c in found)
    assert len(found) > 100
    assert json.dumps(found)  # plain strings
