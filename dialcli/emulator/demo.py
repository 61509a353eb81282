"""The README quick start: start the emulator, ask it something, list models, stop it.

Run with ``python -m dialcli.emulator.demo [--backend raw|sdk]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DEMO_KEY = "demo-key"


def start_emulator(api_key: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m dialcli.emulator`` on a free port; return it and its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dialcli.emulator", "--port", "0", "--api-key", api_key],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http"):
        process.kill()
        raise SystemExit("dial demo: the emulator did not start")
    return process, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialcli.emulator.demo")
    parser.add_argument("--backend", choices=["raw", "sdk"], default="raw")
    args = parser.parse_args(argv)
    # The dial installed beside this interpreter, even when its venv is not activated.
    dial = (
        shutil.which("dial", path=str(Path(sys.executable).parent))
        or shutil.which("dial")
        or "dial"
    )
    process, url = start_emulator(DEMO_KEY)
    home = tempfile.mkdtemp(prefix="dial-demo-")
    env = {
        **os.environ,
        "DIAL_URL": url,
        "DIAL_API_KEY": DEMO_KEY,
        "DIAL_BACKEND": args.backend,
        "DIAL_HOME": home,
    }
    try:
        print(f"$ dial-emulator --port 0 --api-key {DEMO_KEY}   # serving at {url}", flush=True)
        print('$ echo "Hello, DIAL" | dial ask -m echo', flush=True)
        code = subprocess.run(
            [dial, "ask", "-m", "echo"], input=b"Hello, DIAL", env=env, check=False
        ).returncode
        print("$ dial models", flush=True)
        code = code or subprocess.run([dial, "models"], env=env, check=False).returncode
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
