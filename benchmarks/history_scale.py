"""dial at 1, 1,000, 10,000 and 100,000 saved conversations (about 20 messages each).

Builds each data folder once under ``--root`` (100,000 conversations: 1.25 GB, about
ten minutes; kept and reused), then times the real commands in fresh processes, the
sizes taking turns within each round, and prints medians with min and max:

- ``echo hi | dial ask -c`` against ``fast_server.py`` and ``dial history show last``,
  each with its ratio to the same command at 1 conversation (paired per round);
- ``dial history list --limit 20`` cold (no ``.cache/``: every file's head is read)
  and warm (the index and journal as dial's own writes leave them);
- ``dial history search zanzibar``: a word in one conversation in 1,000, so every
  file is read;
- ``dial --version``: the start-up every command pays.

Run it with the Python of an environment where dial is installed (not this checkout):

    python3 -m venv /tmp/dial-bench && /tmp/dial-bench/bin/pip install '.[emulator]'
    env -u PYTHONDONTWRITEBYTECODE /tmp/dial-bench/bin/python benchmarks/history_scale.py \
        --root /tmp/dial-history [--sizes 1,1000,10000,100000] [--runs 5]
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
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dialcli.conversation import Conversation, Role  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
import environment  # noqa: E402
from measure import Run, run_once  # noqa: E402

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


KEY = "bench-key"


def bench_env(home: Path, url: str) -> dict[str, str]:
    """The user's environment minus what changes the figures (see run.clean_env)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DIAL_")
        and not k.lower().endswith("_proxy")
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(DIAL_HOME=str(home), DIAL_URL=url, DIAL_API_KEY=KEY, DIAL_MODEL="echo")
    env["DIAL_CONFIG"] = str(home / "no-config.toml")
    return env


def dial_exe() -> str:
    found = shutil.which("dial", path=str(Path(sys.executable).parent))
    if not found:
        raise SystemExit("dial is not installed next to this Python: pip install . first")
    return found


def ensure_home(root: Path, size: int, messages: int) -> Path:
    home = root / str(size)
    done = home / ".built"
    if not done.exists():
        shutil.rmtree(home, ignore_errors=True)
        started = time.perf_counter()
        build(home, size, messages)
        done.write_text(str(size))
        print(f"built {size:,} conversations in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)  # fmt: skip
    return home


CASES: list[tuple[str, list[str], bytes, str]] = [
    # label, argv after `dial`, stdin, what to do first: "" or "cold" (drop .cache/)
    ("echo hi | dial ask -c", ["ask", "-c"], b"hi\n", ""),
    ("dial history show last", ["history", "show", "last"], b"", ""),
    ("dial history list --limit 20, cold", ["history", "list", "--limit", "20"], b"", "cold"),
    ("dial history list --limit 20, warm", ["history", "list", "--limit", "20"], b"", ""),
    (f"dial history search {RARE_WORD}", ["history", "search", RARE_WORD], b"", ""),
    ("dial --version", ["--version"], b"", ""),
]


def run_case(argv: list[str], stdin: bytes, prepare: str, home: Path, url: str) -> Run:
    if prepare == "cold":
        shutil.rmtree(home / "conversations" / ".cache", ignore_errors=True)
    run = run_once([dial_exe(), *argv], bench_env(home, url), stdin, timeout=600)
    if run.code != 0:
        raise SystemExit(f"dial {' '.join(argv)} failed: {run.stderr.decode()[-300:]}")
    return run


def measure_all(homes: dict[int, Path], url: str, runs: int, only: str) -> dict:
    """{(label, size): [Run]}: every case, every size, sizes taking turns per round."""
    results: dict[tuple[str, int], list[Run]] = {}
    cases = [c for c in CASES if only in c[0]]
    for home in homes.values():  # warm-up: the index as dial's writes leave it
        run_case(["history", "list", "--limit", "1"], b"", "", home, url)
        run_case(["ask", "-c"], b"hi\n", "", home, url)
    for n in range(runs):
        for label, argv, stdin, prepare in cases:
            for size, home in homes.items():
                run = run_case(argv, stdin, prepare, home, url)
                results.setdefault((label, size), []).append(run)
        print(f"  round {n + 1}/{runs}", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)
    return results


def render(results: dict, sizes: list[int], runs: int) -> str:
    big, small = sizes[-1], sizes[0]
    head = ["command"] + [f"{size:,}" for size in sizes]
    head += [f"{big:,} ÷ {small:,} (wall)", "(CPU)", f"CPU s at {big:,}"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    labels = list(dict.fromkeys(label for label, _ in results))
    for label in labels:
        cells = [f"`{label}`"]
        for size in sizes:
            walls = [r.wall for r in results[(label, size)]]
            cells.append(f"{statistics.median(walls):.3f} ({min(walls):.3f}–{max(walls):.3f})")
        first, last = results[(label, small)], results[(label, big)]
        for value in (lambda r: r.wall, lambda r: r.cpu):
            ratio = statistics.median(
                [value(b) / value(a) for a, b in zip(first, last, strict=True)]
            )
            cells.append(f"{ratio:.2f}")
        cells.append(f"{statistics.median([r.cpu for r in last]):.3f}")
        lines.append("| " + " | ".join(cells).replace("echo hi |", "echo hi \\|") + " |")
    peaks = {
        label: max(r.max_rss_kb for size in sizes for r in results[(label, size)]) / 1024
        for label in labels
    }
    rss = ", ".join(f"{label}: {mb:.1f} MB" for label, mb in peaks.items())
    return (
        "\n".join(lines)
        + f"\n\nSeconds, median (min–max) of {runs} fresh processes per cell; the ratio"
        " columns are medians of the per-round ratios of the largest folder to the"
        " smallest, by wall time and by CPU time (user + system, which other processes"
        f" on the machine move much less). Peak RSS over all sizes: {rss}.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/dial-history"))
    parser.add_argument("--sizes", default="1,1000,10000,100000")
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="run only the rows whose label has this")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    homes = {size: ensure_home(args.root, size, args.messages) for size in sizes}
    load_at_start = environment.load()
    env = bench_env(homes[sizes[0]], "")
    installed = environment.install(sys.executable, env)
    compileall.compile_dir(str(installed["root"]), quiet=1)
    server = subprocess.Popen(
        [sys.executable, str(REPO / "benchmarks" / "fast_server.py"), "--port", "0",
         "--api-key", KEY],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        url = server.stdout.readline().decode().strip()
        results = measure_all(homes, url, args.runs, args.only)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(environment.describe(sys.executable, REPO, env), end="")
    print(f"- At the start: {load_at_start}")
    print(f"- {args.messages} messages a conversation (about 12.5 KB of JSON each)\n")
    print(render(results, sizes, args.runs))


if __name__ == "__main__":
    main()
