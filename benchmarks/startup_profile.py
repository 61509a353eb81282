"""Where `echo hi | dial ask` spends its start-up, beside the fair httpx floor.

Runs both ``--runs`` times under ``python -X importtime`` against ``fast_server.py`` and
prints, per group of modules, the median import time (self, summed over the group's
modules), so the gap between dial and the floor can be read by cause:

    env -u PYTHONDONTWRITEBYTECODE /tmp/dial-bench/bin/python benchmarks/startup_profile.py

Groups: ``typer`` (and its vendored click), the HTTP stack (httpx, httpcore, h11,
anyio, idna, certifi, sniffio), ``dialcli``, and the standard library (everything
else). Import times under ``-X importtime`` are inflated a little by the measuring.

A second table profiles one whole ``dial ask`` (cProfile, in a fresh process) and
splits each group's own time into module bodies (what importing it runs, class
creation included) and calls after that (building the command, parsing, the request,
saving); the import system's own work (finding files, unmarshalling) is its own row.
cProfile slows function calls more than anything else, so read it as shares.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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


# Runs ``dial ask`` in-process under cProfile and prints, per function, its file,
# name and own time: one line each, tab-separated.
PROFILE = """
import cProfile, pstats, sys
profiler = cProfile.Profile()
profiler.enable()
from dialcli.__main__ import main
code = main(sys.argv[1:])
profiler.disable()
for (path, _line, name), (_cc, _nc, own, _cum, _callers) in pstats.Stats(profiler).stats.items():
    sys.stderr.write(f"PROFILE\t{path}\t{name}\t{own}\\n")
sys.exit(code)
"""


def profile_group(path: str, name: str) -> str:
    """The group of one profiled function, from the file it is in."""
    if path == "~" or path.startswith("<frozen"):
        return "import system and builtins"  # marshal, exec, finders, I/O calls
    parts = Path(path).parts
    if "site-packages" in parts:
        return group(parts[parts.index("site-packages") + 1].removesuffix(".py"))
    return "standard library"


def profile_once(argv: list[str], env: dict[str, str]) -> dict[tuple[str, str], float]:
    """Milliseconds of own time per (group, "module bodies" or "calls"), for one run."""
    done = subprocess.run(
        [sys.executable, "-c", PROFILE, *argv],
        input=b"hi\n", env=env, capture_output=True, check=True, cwd="/",
    )  # fmt: skip
    totals: dict[tuple[str, str], float] = {}
    for line in done.stderr.decode().splitlines():
        if not line.startswith("PROFILE\t"):
            continue
        _, path, name, own = line.split("\t")
        kind = "module bodies" if name == "<module>" else "calls"
        key = (profile_group(path, name), kind)
        totals[key] = totals.get(key, 0.0) + float(own) * 1000
    return totals


def print_profile(runs: list[dict[tuple[str, str], float]]) -> None:
    keys = sorted({k for r in runs for k in r}, key=lambda k: -statistics.median(
        [r.get(k, 0.0) for r in runs]))  # fmt: skip
    whole = statistics.median([sum(r.values()) for r in runs])
    print(f"\n`dial ask` under cProfile (median of {len(runs)} runs, ms of own time):\n")
    print("| group | part | ms | share |")
    print("|---|---|---|---|")
    for key in keys:
        ms = statistics.median([r.get(key, 0.0) for r in runs])
        print(f"| {key[0]} | {key[1]} | {ms:.1f} | {ms / whole:.0%} |")
    print(f"| total | | {whole:.1f} | 100% |")


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
        profiles = []
        for _ in range(args.runs):
            for name, argv in clients.items():
                runs[name].append(import_times(argv, env))
            profiles.append(profile_once(["ask", "-m", "echo"], env))
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
    print_profile(profiles)


if __name__ == "__main__":
    main()
