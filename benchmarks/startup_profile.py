"""Where `echo hi | dial ask` spends its start-up, beside the fair httpx floor.

Runs both ``--runs`` times under ``python -X importtime`` against ``fast_server.py`` and
prints, per group of modules, the median import time (self, summed over the group's
modules), so the gap between dial and the floor can be read by cause:

    env -u PYTHONDONTWRITEBYTECODE /tmp/dial-bench/bin/python benchmarks/startup_profile.py

Groups: ``typer`` (and its vendored click), the HTTP stack (httpx, httpcore, h11,
anyio, idna, certifi, sniffio), ``dialcli``, and the standard library (everything
else). Import times under ``-X importtime`` are inflated a little by the measuring.

A second table times one ``dial ask`` in phases, in a fresh process with perf_counter
and no profiler: the floor's imports first (httpx, httpcore, orjson), then what dial
adds on top, one layer at a time: Typer's import, dial's own modules, then the run,
split into Typer's part (building the ``ask`` command, parsing, calling it) and dial's
(settings, the request, the answer, saving). The floor's run is timed the same way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import environment  # noqa: E402

KEY = "bench-key"
HTTP = ("httpx", "httpcore", "h11", "anyio", "idna", "certifi", "sniffio", "h2", "hpack")


def group(module: str) -> str:
    root = module.split(".")[0]
    if root in ("typer", "click", "annotated_doc"):
        return "typer"
    if root in HTTP:
        return "http stack"
    if root == "dialcli":
        return "dialcli"
    if root == "orjson":
        return "orjson"
    return "standard library"


def import_times(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Milliseconds of import (self) per group, for one run."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        input=b"hi\n", env=env, capture_output=True, check=True, cwd="/",
    )  # fmt: skip
    totals: dict[str, float] = {}
    for line in done.stderr.decode().splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line[len("import time:") :].split("|")
        key = group(name.strip())
        totals[key] = totals.get(key, 0.0) + int(own) / 1000
    return totals


# What the fair floor imports, then what dial adds, each timed; then one run of each.
PHASES = """
import sys, time
from importlib import import_module
clock = time.perf_counter
marks = [("start", clock())]
sys.modules.setdefault("httpx._main", None)
import httpx, httpcore, orjson
marks.append(("the floor's imports (httpx, httpcore, orjson)", clock()))
if sys.argv[1] == "floor":
    sys.argv = sys.argv[1:]
    sys.path.insert(0, sys.argv.pop(1))
    import floor_httpx
    marks.append(("the floor's script", clock()))
    floor_httpx.main()
    marks.append(("the floor: the request and the answer", clock()))
else:
    import typer
    marks.append(("dial: Typer's import", clock()))
    for name in sys.argv[2].split(","):
        import_module(name)
    marks.append(("dial: its own modules", clock()))
    from dialcli.__main__ import main
    from dialcli.cli import ask
    own = []
    def timed(opts, run=ask.run_ask):
        started = clock()
        try:
            run(opts)
        finally:
            own.append(clock() - started)
    ask.run_ask = timed
    main(sys.argv[3:])
    end = clock()
    marks.append(("dial: Typer builds ask, parses, calls it", end - own[0]))
    marks.append(("dial: settings, request, answer, saved", end))
for (_, before), (label, at) in zip(marks, marks[1:]):
    sys.stderr.write(f"PHASE\t{label}\t{(at - before) * 1000}\\n")
"""

# dial's modules that a plain ``ask`` loads, in the order it loads them.
MODULES = """
import sys
from dialcli.__main__ import main
main(sys.argv[1:])
sys.stderr.write("MODULES " + ",".join(m for m in sys.modules if m.startswith("dialcli")))
"""


def phases(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PHASES, *argv],
        input=b"hi\n", env=env, capture_output=True, check=True, cwd="/",
    )  # fmt: skip
    found = {}
    for line in done.stderr.decode().splitlines():
        if line.startswith("PHASE\t"):
            _, label, ms = line.split("\t")
            found[label] = float(ms)
    return found


def print_phases(runs: dict[str, list[dict[str, float]]], bare: list[float]) -> None:
    print(f"\nOne run in phases (median of {len(bare)} runs each, ms of wall time):\n")
    print("| phase | dial ask | httpx floor, fair |")
    print("|---|---|---|")
    print(f"| interpreter start-up (`python -c pass`) | {statistics.median(bare):.1f} |"
          f" {statistics.median(bare):.1f} |")  # fmt: skip
    labels = list(dict.fromkeys(label for r in runs["dial"] + runs["floor"] for label in r))
    totals = {"dial": statistics.median(bare), "floor": statistics.median(bare)}
    for label in labels:
        cells = []
        for who in ("dial", "floor"):
            values = [r[label] for r in runs[who] if label in r]
            ms = statistics.median(values) if values else 0.0
            totals[who] += ms
            cells.append(f"{ms:.1f}" if values else "")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"| total | {totals['dial']:.1f} | {totals['floor']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    dial = shutil.which("dial", path=str(Path(sys.executable).parent))
    if not dial:
        raise SystemExit("dial is not installed next to this Python")
    scratch = Path(tempfile.mkdtemp(prefix="dial-startup-"))
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fast_server.py"), "--port", "0", "--api-key", KEY],
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().decode().strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIAL_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(DIAL_URL=url, DIAL_API_KEY=KEY, DIAL_HOME=str(scratch))
        env["DIAL_CONFIG"] = str(scratch / "none.toml")
        clients = {
            "dial ask": ["-m", "dialcli", "ask", "-m", "echo"],
            "httpx floor, fair": [str(HERE / "floor_httpx.py"), url, KEY, "echo"],
        }
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in clients}
        ask = ["ask", "-m", "echo"]
        listed = subprocess.run(
            [sys.executable, "-c", MODULES, *ask],
            input=b"hi\n", env=env, capture_output=True, check=True, cwd="/",
        )  # fmt: skip
        modules = listed.stderr.decode().rsplit("MODULES ", 1)[1].strip()
        timed: dict[str, list[dict[str, float]]] = {"dial": [], "floor": []}
        bare: list[float] = []
        for _ in range(args.runs):
            for name, argv in clients.items():
                runs[name].append(import_times(argv, env))
            timed["dial"].append(phases(["dial", modules, *ask], env))
            timed["floor"].append(phases(["floor", str(HERE), url, KEY, "echo"], env))
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
            bare.append((time.perf_counter() - started) * 1000)
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)
    groups = ["typer", "http stack", "dialcli", "orjson", "standard library"]
    print(environment.describe(sys.executable, HERE.parent, env), end="")
    print(f"- median of {args.runs} runs each, milliseconds of import (self time)\n")
    print("| group | " + " | ".join(clients) + " | difference |")
    print("|---|" + "---|" * (len(clients) + 1))
    for name in [*groups, "total"]:
        cells = []
        for client in clients:
            values = [
                sum(r.values()) if name == "total" else r.get(name, 0.0) for r in runs[client]
            ]
            cells.append(statistics.median(values))
        print(
            f"| {name} | "
            + " | ".join(f"{c:.1f}" for c in cells)
            + f" | {cells[0] - cells[1]:+.1f} |"
        )
    print_phases(timed, bare)


if __name__ == "__main__":
    main()
