"""Many requests at once: `dial batch` and `dial ask` with several -m, against peers.

    python benchmarks/batch.py                  # everything (about 8 minutes)
    python benchmarks/batch.py --only fanout    # one part: jobs, limited, flat, fanout

Parts:
- jobs: 200 items against a 0.5 s-latency deployment with -j 8 (the ideal is
  200 / 8 x 0.5 s = 12.5 s), next to a shell loop of `dial ask` (run over --loop-items
  items and scaled to 200: it is one process per item, one after the other) and
  `xargs -P 8 dial ask` over all 200;
- limited: -j 16 against a deployment that takes 4 at once and refuses more with 429 +
  Retry-After: failures, and the most requests dial kept in flight (its -v summary);
- flat: 100,000 plain lines against benchmarks/fast_server.py (answers at once): wall
  time, items/s and peak RSS (/usr/bin/time -f %M);
- fanout: `dial ask -m latency -m latency-2 -m latency-3` (0.5 s each) wall time, and
  one `dial ask -m latency` and `dial ask -m echo` beside it (the single-request path).

Run it with the Python of a regular install (`pip install .` into a venv, bytecode
compiled: `python -m compileall` there), as `/path/to/venv/bin/python benchmarks/batch.py`;
the environment line says what was measured. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DIAL = str(BIN / "dial")
KEY = "bench-key"


def start(argv: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip()  # type: ignore[union-attr]
    if not url.startswith("http"):  # e.g. the emulator extra is not installed
        sys.exit(f"batch.py: {argv[2]} did not start (install with '.[emulator]')")
    return process, url


def env_for(url: str, home: str) -> dict[str, str]:
    # Bytecode is written and used, as on a user's machine (this one sets the variable).
    skip = ("DIAL_", "PYTHONDONTWRITEBYTECODE")
    keep = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return {**keep, "DIAL_URL": url, "DIAL_API_KEY": KEY, "DIAL_HOME": home}


def timed(
    cmd: str | list[str], env: dict[str, str], stdin: bytes = b""
) -> tuple[float, int, bytes, bytes]:
    """Wall seconds, peak RSS (KB), stdout, stderr of one run under /usr/bin/time."""
    shell = isinstance(cmd, str)
    argv = ["/usr/bin/time", "-f", "RSS %M", *(["sh", "-c", cmd] if shell else cmd)]
    started = time.perf_counter()
    done = subprocess.run(argv, input=stdin, env=env, capture_output=True)
    wall = time.perf_counter() - started
    match = re.search(rb"RSS (\d+)", done.stderr)
    return wall, int(match.group(1)) if match else 0, done.stdout, done.stderr


def lines(n: int) -> bytes:
    return b"".join(f"item {i}\n".encode() for i in range(1, n + 1))


def part_jobs(env: dict[str, str], loop_items: int) -> None:
    items = lines(200)
    print("\n### 200 items, 0.5 s each, 8 at a time (ideal 12.5 s)\n")
    # On a busy machine the emulator itself answers later than 0.5 s: "at the observed
    # latency" is 200 / 8 x the mean latency_ms dial recorded, the best any client could do.
    print("| client | wall (s) | ÷ ideal | mean latency (s) | ÷ ideal at that latency | failed |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for backend in ("raw", "sdk"):
        cmd = [DIAL, "batch", "--lines", "-m", "latency", "-j", "8", "--backend", backend]
        wall, _, out, _ = timed(cmd, env, items)
        results = [json.loads(line) for line in out.splitlines()]
        failed = sum(1 for r in results if r["error"])
        mean = statistics.mean(r["latency_ms"] or 0 for r in results) / 1000
        print(
            f"| `dial batch -j 8` ({backend}) | {wall:.1f} | {wall / 12.5:.2f} | {mean:.2f} "
            f"| {wall / (200 / 8 * mean):.2f} | {failed} |"
        )
    xargs = f"xargs -P 8 -I{{}} {DIAL} ask --no-save -m latency {{}} > /dev/null"
    wall, _, _, _ = timed(xargs, env, items)
    print(f"| `xargs -P 8 dial ask` (raw) | {wall:.1f} | {wall / 12.5:.2f} | | | |")
    loop = f'while read -r l; do {DIAL} ask --no-save -m latency "$l" < /dev/null > /dev/null; done'
    wall, _, _, _ = timed(loop, env, lines(loop_items))
    scaled = wall / loop_items * 200
    print(
        f"| shell loop of `dial ask` (raw; {loop_items} items, scaled to 200) "
        f"| {scaled:.1f} | {scaled / 12.5:.2f} | | | |"
    )


def part_limited(env: dict[str, str], items: int) -> None:
    print(f"\n### {items} items, -j 16, against a deployment that takes 4 at once\n")
    print("| backend | wall (s) | ideal (s) | failed | most in flight | 429s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for backend in ("raw", "sdk"):
        cmd = [DIAL, "batch", "--lines", "-m", "limited", "-j", "16", "-v", "--backend", backend]
        wall, _, out, err = timed(cmd, env, lines(items))
        failed = sum(1 for r in map(json.loads, out.splitlines()) if r["error"])
        summary = re.search(rb"at most (\d+) in flight, (\d+) answered 429", err)
        peak, throttled = (int(summary.group(1)), int(summary.group(2))) if summary else (0, 0)
        ideal = items / 4 * 0.5
        print(f"| {backend} | {wall:.1f} | {ideal:.1f} | {failed} | {peak} | {throttled} |")


def part_flat(env_fast: dict[str, str], count: int, backends: list[str]) -> None:
    print(f"\n### {count:,} plain lines against a server that answers at once\n")
    print("| backend | -j | wall (s) | items/s | peak RSS (MB) | failed |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as handle:
        handle.write(lines(count))
        path = handle.name
    try:
        for backend in backends:
            cmd = [DIAL, "batch", "--lines", "-i", path, "-m", "echo", "-j", "8"]
            wall, rss, out, _ = timed([*cmd, "--backend", backend], env_fast)
            ok = out.count(b'"error":null')
            print(
                f"| {backend} | 8 | {wall:.1f} | {count / wall:,.0f} | {rss / 1024:.0f} "
                f"| {count - ok} |"
            )
    finally:
        os.unlink(path)


def part_fanout(env: dict[str, str], runs: int) -> None:
    print(f"\n### One prompt, three models of 0.5 s each (median of {runs})\n")
    print("| command | backend | wall (s) |")
    print("| --- | --- | ---: |")
    commands = [
        (
            "`dial ask -m latency -m latency-2 -m latency-3`",
            ["-m", "latency", "-m", "latency-2", "-m", "latency-3"],
        ),
        ("`dial ask -m latency` (one model)", ["-m", "latency"]),
        ("`dial ask -m echo` (one model, no latency)", ["-m", "echo"]),
    ]
    for label, args in commands:
        for backend in ("raw", "sdk"):
            walls = []
            for _ in range(runs):
                cmd = [DIAL, "ask", "--no-save", "--backend", backend, *args, "hi"]
                wall, _, out, err = timed(cmd, env)
                if b"=== " not in out and out.strip() != b"hi":  # a failed run is no figure
                    sys.exit(f"batch.py: {' '.join(cmd)} failed: {err.decode()[-300:]}")
                walls.append(wall)
            print(f"| {label} | {backend} | {statistics.median(walls):.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["jobs", "limited", "flat", "fanout"])
    parser.add_argument("--loop-items", type=int, default=40)
    parser.add_argument("--limited-items", type=int, default=100)
    parser.add_argument("--flat-items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--flat-backends", default="raw,sdk", help="comma-separated")
    args = parser.parse_args()
    emulator, url = start(
        [
            sys.executable,
            "-m",
            "dialcli.emulator",
            "--port",
            "0",
            "--api-key",
            KEY,
            "--latency",
            "0.5",
            "--limit",
            "4",
        ]
    )
    fast, fast_url = start([sys.executable, str(HERE / "fast_server.py"), "--port", "0"])
    home = tempfile.mkdtemp(prefix="dial-bench-")
    env = env_for(url, home)
    sys.path.insert(0, str(HERE))
    from environment import describe

    print(describe(sys.executable, HERE.parent, env), end="")
    try:
        if args.only in (None, "fanout"):
            part_fanout(env, args.runs)
        if args.only in (None, "jobs"):
            part_jobs(env, args.loop_items)
        if args.only in (None, "limited"):
            part_limited(env, args.limited_items)
        if args.only in (None, "flat"):
            part_flat(env_for(fast_url, home), args.flat_items, args.flat_backends.split(","))
    finally:
        emulator.terminate()
        fast.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
