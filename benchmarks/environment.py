"""What a table of figures was measured on: machine, load, Python, install, bytecode.

Printed with every table (``run.py`` and ``history_scale.py``), because each of these
moves the figures: a second process on a 2-core machine, an editable install's finder,
or a package whose bytecode is not cached (``PYTHONDONTWRITEBYTECODE``) recompiling
every module on every start.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

_PROBE = """
import importlib.util, json, os, sys
import dialcli
root = os.path.dirname(dialcli.__file__)
sources = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".py")]
cached = [s for s in sources if os.path.exists(importlib.util.cache_from_source(s))]
print(json.dumps({"root": root, "modules": len(sources), "cached": len(cached),
                  "python": sys.version.split()[0], "executable": sys.executable,
                  "nobytecode": bool(sys.dont_write_bytecode)}))
"""


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load() -> str:
    """The 1-minute load average, with the number of cores to read it against."""
    try:
        one, _, _ = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load average {one:.2f} on {os.cpu_count()} cores"


def install(python: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Where ``python`` imports dialcli from, and how much of it has cached bytecode."""
    import json

    # From "/", as a console script sees it: `python -c` in a checkout imports the checkout.
    done = subprocess.run(
        [python, "-c", _PROBE], capture_output=True, text=True, env=env, check=True, cwd="/"
    )
    return json.loads(done.stdout)


def describe(python: str, repo: Path, env: dict[str, str] | None = None) -> str:
    """Markdown bullet lines: machine, Python, the dialcli install and its bytecode."""
    info = install(python, env)
    root = Path(str(info["root"]))
    kind = (
        "editable install of this checkout (Python start-up includes the editable finder)"
        if root.is_relative_to(repo)
        else f"regular (non-editable) install in {root.parent}"
    )
    bytecode = f"{info['cached']} of {info['modules']} modules have cached bytecode"
    if info["nobytecode"]:
        bytecode += "; PYTHONDONTWRITEBYTECODE is set for the runs"
    return (
        f"- Machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}; {load()} when the table was printed\n"
        f"- Python {info['python']} ({info['executable']}); dialcli: {kind}; {bytecode}\n"
    )


if __name__ == "__main__":  # python benchmarks/environment.py: what this venv would give
    print(describe(sys.executable, Path(__file__).resolve().parent.parent), end="")
