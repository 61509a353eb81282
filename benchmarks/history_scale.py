"""How `history list` and `history search` scale: 10,000 conversations of ~20 messages.

Builds the folder (or reuses ``--home``), then times each operation in fresh
processes, cold (no index) and warm, and prints medians of ``--runs`` runs:

    python benchmarks/history_scale.py                 # temp folder, removed after
    python benchmarks/history_scale.py --home /tmp/h   # build once, keep, reuse
    python benchmarks/history_scale.py --only list     # just the rows matching "list"

"wall" is the whole child process (interpreter start-up included); "store" is the
time inside it from importing dialcli.store to the result. This checkout's dialcli is
measured (PYTHONPATH), with its bytecode compiled first and PYTHONDONTWRITEBYTECODE
dropped, as an installed package would run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dialcli.conversation import Conversation, Role  # noqa: E402
from dialcli.store_index import INDEX_NAME, update  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from environment import describe  # noqa: E402

VOCABULARY = (
    "the of and to in is for that with on as are this be by from it or an can not "
    "function value error request response server client model token stream message "
    "python file data list return string number config deployment table index cache "
    "latency timeout retry header json schema query result user system prompt answer "
    "example because however therefore which would could should also then when where "
    "größe café naïve résumé — “quoted” …"
)
WORDS = VOCABULARY.split()
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "gemini-1.5-pro", "mistral-large"]
RARE_WORD = "zanzibar"  # planted in a few conversations: a search that scans everything
COMMON_WORD = "latency"  # in most conversations: a search that stops early


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[:1].upper() + text[1:] + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(6, 18)) for _ in range(sentences))


def build(home: Path, count: int, messages: int, seed: int = 7) -> None:
    """Write ``count`` conversations straight to disk (no fsync: this is a fixture)."""
    rng = random.Random(seed)
    directory = home / "conversations"
    directory.mkdir(parents=True, exist_ok=True)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(count):
        when = start + timedelta(minutes=n * 7 + rng.randint(0, 5))
        stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        conv = Conversation(model=rng.choice(MODELS), created=stamp, updated=stamp)
        if rng.random() < 0.3:
            conv.system = paragraph(rng, 2)
        for i in range(messages // 2):
            question = paragraph(rng, rng.randint(1, 3))
            if n % 1000 == 0 and i == 0:
                question += f" What about {RARE_WORD.capitalize()}?"
            conv.add(Role.USER, question)
            answer = "\n\n".join(paragraph(rng, rng.randint(2, 6)) for _ in range(3))
            conv.add(Role.ASSISTANT, answer, usage={"prompt_tokens": 100, "total_tokens": 400})
        path = directory / f"{conv.id}.json"
        path.write_bytes(orjson.dumps(conv.to_dict(), option=orjson.OPT_INDENT_2))


def bench_env() -> dict[str, str]:
    """This checkout's dialcli, with bytecode caching on (as an installed package has)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": str(REPO)}


def dial_argv() -> list[str]:
    """The installed `dial`, or this checkout's module when it is not installed."""
    found = shutil.which("dial", path=str(Path(sys.executable).parent)) or shutil.which("dial")
    return [found] if found else [sys.executable, "-m", "dialcli"]


def run_command(argv: list[str], home: Path) -> float:
    """Wall seconds of one command run with DIAL_HOME=home (output discarded)."""
    env = {**bench_env(), "DIAL_HOME": str(home)}
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def set_index(home: Path, cold: bool) -> None:
    """Cold: no index. Warm: the index as the write path leaves it (reads never write it)."""
    if cold:
        (home / "conversations" / INDEX_NAME).unlink(missing_ok=True)
    else:
        update(home / "conversations")


def measure_cli(label: str, args: list[str], home: Path, runs: int, cold: bool) -> float:
    """Median wall time of the real `dial ARGS`, cold (no index) or warm."""
    walls = []
    for _ in range(runs):
        set_index(home, cold)
        walls.append(run_command([*dial_argv(), *args], home))
    median = statistics.median(walls)
    print(
        f"{label:<44} {'cold' if cold else 'warm':<5} {median:>7.3f}"
        f" {min(walls):>7.3f} {max(walls):>7.3f}"
    )
    return median


STORE_SNIPPET = """
import os, sys, time
t = time.perf_counter()
from pathlib import Path
from dialcli.store import Store
store = Store(Path(os.environ["DIAL_HOME"]))
result = {call}
sys.stderr.write(f"{{time.perf_counter() - t}} {{len(result)}}\\n")
"""


def time_store_call(call: str, home: Path) -> tuple[float, float, int]:
    """(wall, store, result count) of one fresh `python -c` running ``call``."""
    env = {**bench_env(), "DIAL_HOME": str(home)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", STORE_SNIPPET.format(call=call)],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    wall = time.perf_counter() - started
    inner, count = done.stderr.split()
    return wall, float(inner), int(count)


def measure(label: str, call: str, home: Path, runs: int, cold: bool) -> None:
    walls, inners, count = [], [], 0
    for _ in range(runs):
        set_index(home, cold)
        wall, inner, count = time_store_call(call, home)
        walls.append(wall)
        inners.append(inner)
    print(
        f"{label:<34} {'cold' if cold else 'warm':<5} {statistics.median(walls):>7.3f}"
        f" {statistics.median(inners):>7.3f} {count:>6}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="data dir to build in / reuse (kept)")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="run only the rows whose label has this")
    args = parser.parse_args()
    compileall.compile_dir(REPO / "dialcli", quiet=1)
    home = args.home or Path(tempfile.mkdtemp(prefix="dial-bench-"))
    try:
        conv_dir = home / "conversations"
        if not conv_dir.is_dir() or not any(conv_dir.glob("*.json")):
            started = time.perf_counter()
            build(home, args.count, args.messages)
            print(f"built {args.count} conversations in {time.perf_counter() - started:.1f} s")
        files = [f for f in conv_dir.glob("*.json") if not f.name.startswith(".")]
        size = sum(f.stat().st_size for f in files) / 1e6
        print(describe(sys.executable, REPO, bench_env()), end="")
        print(f"{len(files)} files, {size:.0f} MB, median of {args.runs}")
        print("\nThe real command (wall time, seconds):")
        print(f"{'command':<44} {'index':<5} {'median':>7} {'min':>7} {'max':>7}")
        cli_cases = [
            ("dial history list --limit 20", ["history", "list", "--limit", "20"]),
            (f"dial history search {COMMON_WORD}", ["history", "search", COMMON_WORD]),
            (f"dial history search {RARE_WORD}", ["history", "search", RARE_WORD]),
            ("dial history search no-such-word", ["history", "search", "no-such-word"]),
        ]
        cli_cases = [c for c in cli_cases if args.only in c[0]]
        for label, cli_args in cli_cases:
            measure_cli(label, cli_args, home, args.runs, cold=True)
            measure_cli(label, cli_args, home, args.runs, cold=False)
        if args.only in "dial --version":
            measure_cli("dial --version (start-up floor)", ["--version"], home, args.runs, False)
        print("\nInside the store (fresh `python -c`, seconds):")
        print(f"{'operation':<34} {'index':<5} {'wall s':>7} {'store s':>7} {'items':>6}")
        cases = [
            ("summaries(limit=20)", "store.summaries(limit=20)"),
            (f"search('{COMMON_WORD}', limit=20)", f"store.search('{COMMON_WORD}', limit=20)"),
            (f"search('{RARE_WORD}')", f"store.search('{RARE_WORD}')"),
            ("search('Größe', limit=20)", "store.search('Größe', limit=20)"),
            ("search('no-such-word')", "store.search('no-such-word')"),
            # in every file's JSON keys/roles, in no content: every file is parsed
            ("search('assistant') (worst case)", "store.search('assistant')"),
            ("search('nö such wörd') (non-ASCII)", "store.search('nö such wörd')"),
            # the write path: a save brings the index up to date (cold: rebuilds it)
            ("append([]) (a save)", f"[store.append({files[0].stem!r}, [])]"),
        ]
        cases = [c for c in cases if args.only in c[0]]
        for label, call in cases:
            measure(label, call, home, args.runs, cold=True)
            measure(label, call, home, args.runs, cold=False)
        if args.only in "python -c pass":
            measure("python -c pass (start-up)", "[]", home, args.runs, cold=False)
        print(describe(sys.executable, REPO, bench_env()).splitlines()[0])
    finally:
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
