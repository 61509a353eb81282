"""dial against its floor and its peers, on one local server, in one run.

    python benchmarks/run.py              # prints the tables, rewrites docs/benchmarks.md
    python benchmarks/run.py --no-write   # print only

Run it with the Python of the environment to measure (``dial`` is the one next to
``python``): for the published figures, a regular (non-editable) install in a scratch
venv, ``pip install '.[emulator]'``. The first run installs ``llm`` and ``shell-gpt``
into ``.bench/``.
Every figure is the median of ``--runs`` fresh processes (min and max beside it);
the tools take turns within each round, and "dial ÷ tool" is the median of the
per-round ratios. Not part of the test suite; never run in CI.
"""

from __future__ import annotations

import argparse
import compileall
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import environment  # noqa: E402
import peers  # noqa: E402
import report  # noqa: E402
from measure import Run, run_once  # noqa: E402

REPO = HERE.parent
KEY = "bench-key"
PROMPT = b"hi\n"
LONG_ANSWER = 1_000_000  # chunks: peak RSS must not grow with the answer


@dataclass
class Case:
    label: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    check: Callable[[Run], str | None] = lambda run: None  # why a run is wrong, or None
    runs: list[Run] = field(default_factory=list)
    problem: str = ""  # set when the tool cannot run: the row says "n/a (...)"


# -- servers --------------------------------------------------------------------------


def start_server(argv: list[str], log: Path, timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """Start a server that prints its URL on stdout once it listens."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log.open("wb"), cwd=REPO)
    assert proc.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    if not selector.select(timeout) or proc.poll() is not None:
        proc.kill()
        raise RuntimeError(f"{argv[1:3]} did not start: {log.read_text()[-300:]}")
    url = proc.stdout.readline().decode().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"{argv[1:3]} printed {url!r}, not its URL")
    return proc, url


# -- the cases ------------------------------------------------------------------------


def clean_env(scratch: Path) -> dict[str, str]:
    """The user's environment minus what would change the figures: DIAL_* settings,
    proxies (curl and httpx would send localhost through them) and the switch that
    stops Python from caching bytecode (an installed package always has it)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("DIAL_")
        and not k.lower().endswith("_proxy")
        and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["DIAL_HOME"] = str(scratch / "dial-home")
    env["DIAL_CONFIG"] = str(scratch / "no-config.toml")  # absent: defaults apply
    return env


def expect(content: bytes, exact: bool = False) -> Callable[[Run], str | None]:
    def check(run: Run) -> str | None:
        if run.code != 0:
            lines = run.stderr.decode("utf-8", "replace").strip().splitlines()
            return f"exit {run.code}: {lines[-1] if lines else 'no message'}"
        ok = run.stdout_head == content if exact else content in run.stdout_head
        return None if ok else f"unexpected output {run.stdout_head[:60]!r}"

    return check


def expect_bytes(count: int) -> Callable[[Run], str | None]:
    def check(run: Run) -> str | None:
        if run.code != 0:
            return f"exit {run.code}: {run.stderr.decode('utf-8', 'replace').strip()[-200:]}"
        return None if run.out_bytes >= count else f"only {run.out_bytes} bytes out"

    return check


def dial_cases(dial: str, env: dict[str, str], before: str | None) -> list[Case]:
    """Section a/b: start-up and one-shot commands against the emulator; with
    ``before`` (another install's dial), its --help and --version beside ours."""
    earlier = []
    if before:
        earlier = [
            Case("dial --version (before)", [before, "--version"], env, expect(b"dial")),
            Case("dial --help (before)", [before, "--help"], env, expect(b"Usage")),
        ]
    return [
        Case("dial --version", [dial, "--version"], env, expect(b"dial")),
        *earlier[:1],
        Case("dial --help", [dial, "--help"], env, expect(b"Usage")),
        *earlier[1:],
        Case("dial models", [dial, "models"], env, expect(b"echo")),
        Case("dial history list", [dial, "history", "list"], env, expect(b"")),
        Case("echo hi | dial ask -m echo", [dial, "ask", "-m", "echo"], env, expect(b"hi\n", True)),
        Case(
            "echo hi | dial ask -m echo --backend sdk",
            [dial, "ask", "-m", "echo", "--backend", "sdk"],
            env,
            expect(b"hi\n", True),
        ),
    ]


FLOORS = [
    (report.FAIR_FLOOR, "floor_httpx.py"),
    (report.OLD_FLOOR, "floor_httpx_old.py"),
    (report.STDLIB_FLOOR, "floor_stdlib.py"),
]


def client_cases(
    dial: str, env: dict[str, str], url: str, model: str, tools: list[peers.Peer], check: Callable
) -> list[Case]:
    """The same request by dial (both backends), the floors and the peers."""
    cases = [
        Case("dial ask (raw)", [dial, "ask", "-m", model], env, check),
        Case("dial ask --backend sdk", [dial, "ask", "-m", model, "--backend", "sdk"], env, check),
        Case("curl -N (floor)", curl_argv(url, model), env, curl_ok),
    ]
    for label, script in FLOORS:
        argv = [sys.executable, str(HERE / script), url, KEY, model]
        cases.append(Case(label, argv, env, check))
    for peer in tools:
        case = Case(peer.name, peer.argv(model), {**env, **peer.env}, check, problem=peer.problem)
        cases.append(case)
    return cases


def curl_argv(url: str, model: str) -> list[str]:
    body = '{"messages":[{"role":"user","content":"hi"}],"stream":true}'
    target = f"{url}/openai/deployments/{model}/chat/completions?api-version=2024-02-01"
    headers = ["-H", f"Api-Key: {KEY}", "-H", "Content-Type: application/json"]
    return ["curl", "-sSN", *headers, "--data-binary", body, target]


def curl_ok(run: Run) -> str | None:
    return None if run.code == 0 and b"data:" in run.stdout_head else f"curl exit {run.code}"


# -- running --------------------------------------------------------------------------


def measure(cases: list[Case], runs: int, warmup: int = 2) -> None:
    """Warm up, then ``runs`` rounds in which every case runs once, in turn."""
    for case in cases:
        if case.problem:
            continue
        for _ in range(warmup):
            run = run_once(case.argv, case.env, PROMPT)
            problem = case.check(run)
            if problem:
                case.problem = problem
                break
    live = [c for c in cases if not c.problem]
    for n in range(runs):
        for case in live:
            run = run_once(case.argv, case.env, PROMPT)
            problem = case.check(run)
            if problem:
                raise SystemExit(f"{case.label}: run {n + 1} went wrong: {problem}")
            case.runs.append(run)
        print(f"  round {n + 1}/{runs}", file=sys.stderr, end="\r", flush=True)
    print(file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds per section (default 10)")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks in the long stream")
    parser.add_argument(
        "--peer-chunks", type=int, default=10_000, help="chunks in the stream for slow clients"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip llm and sgpt")
    parser.add_argument(
        "--peers-dir", type=Path, default=REPO / ".bench", help="venvs of llm and sgpt"
    )
    parser.add_argument("--before", help="another install's dial: its --help/--version beside")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite the docs")
    args = parser.parse_args()
    started = time.perf_counter()
    dial = shutil.which("dial", path=str(Path(sys.executable).parent)) or shutil.which("dial")
    if not dial:
        raise SystemExit("dial is not installed here: pip install -e . in this environment")
    scratch = Path(tempfile.mkdtemp(prefix="dial-bench-"))
    servers: list[subprocess.Popen] = []
    load_at_start = environment.load()
    try:
        env = clean_env(scratch)
        # pip compiles an installed package's bytecode; an editable checkout needs this.
        installed = environment.install(sys.executable, env)
        compileall.compile_dir(str(installed["root"]), quiet=1)
        urls = {}
        for write in ("event", "packed"):
            fast, urls[write] = start_server(
                [sys.executable, str(HERE / "fast_server.py"), "--port", "0", "--api-key", KEY,
                 "--chunks", str(args.chunks), "--write", write],
                scratch / f"fast_server_{write}.log",
            )  # fmt: skip
            servers.append(fast)
        fast_url = urls["event"]
        try:
            emulator, emulator_url = start_server(
                [sys.executable, "-m", "dialcli.emulator", "--port", "0", "--api-key", KEY],
                scratch / "emulator.log",
            )
            servers.append(emulator)
            startup_server = "the emulator (`python -m dialcli.emulator`)"
        except RuntimeError as err:
            print(f"emulator unavailable ({err}); using the fast server", file=sys.stderr)
            emulator_url = fast_url
            startup_server = "the fast server (the emulator did not start)"
        models = ["echo", "flood", f"flood-{args.peer_chunks}"]
        tools = [] if args.no_peers else peers.prepare(args.peers_dir, fast_url, KEY, models)

        print("start-up and one-shot commands ...", file=sys.stderr)
        startup_env = {**env, "DIAL_URL": emulator_url, "DIAL_API_KEY": KEY}
        startup = dial_cases(dial, startup_env, args.before)
        measure(startup, args.runs)
        for case in startup:
            if case.label == "dial history list" and "No such command" in case.problem:
                case.problem = "command missing"

        fast_env = {**env, "DIAL_URL": fast_url, "DIAL_API_KEY": KEY}
        print("one-shot ask, every client, fast server ...", file=sys.stderr)
        oneshot = client_cases(dial, fast_env, fast_url, "echo", tools, expect(b"hi"))
        measure(oneshot, args.runs)
        print("one-shot ask, dial and the floors, packed writes ...", file=sys.stderr)
        packed_env = {**env, "DIAL_URL": urls["packed"], "DIAL_API_KEY": KEY}
        oneshot_packed = [
            c
            for c in client_cases(dial, packed_env, urls["packed"], "echo", [], expect(b"hi"))
            if "sdk" not in c.label
        ]
        measure(oneshot_packed, args.runs)

        print(f"streaming {args.chunks:,} chunks ...", file=sys.stderr)
        flood = [
            c
            for c in client_cases(dial, fast_env, fast_url, "flood", [], expect_bytes(args.chunks))
            if "sdk" not in c.label
        ]
        measure(flood, args.runs, warmup=1)
        print(f"streaming {args.chunks:,} chunks, packed writes ...", file=sys.stderr)
        flood_packed = [
            c
            for c in client_cases(
                dial, packed_env, urls["packed"], "flood", [], expect_bytes(args.chunks)
            )
            if "sdk" not in c.label
        ]
        measure(flood_packed, args.runs, warmup=1)

        print(f"one answer of {LONG_ANSWER:,} chunks (peak RSS) ...", file=sys.stderr)
        # Packed writes: this row is about memory, and a million writes would take minutes.
        long = client_cases(
            dial, packed_env, urls["packed"], f"flood-{LONG_ANSWER}", [], expect_bytes(LONG_ANSWER)
        )[:1]
        measure(long, 1, warmup=0)

        model = f"flood-{args.peer_chunks}"
        print(f"streaming {args.peer_chunks:,} chunks, slower clients ...", file=sys.stderr)
        check = expect_bytes(args.peer_chunks)
        slow = client_cases(dial, fast_env, fast_url, model, tools, check)
        slow = [c for c in slow if "floor" not in c.label]
        measure(slow, args.runs, warmup=1)

        results = report.Results(
            startup=startup,
            startup_server=startup_server,
            oneshot=oneshot,
            oneshot_packed=oneshot_packed,
            flood=flood,
            flood_packed=flood_packed,
            chunks=args.chunks,
            long=long[0],
            long_chunks=LONG_ANSWER,
            slow=slow,
            peer_chunks=args.peer_chunks,
            peers=tools,
            seconds=time.perf_counter() - started,
            environment=environment.describe(sys.executable, REPO, env)
            + f"- At the start: {load_at_start}\n",
        )
        text = report.render(results)
        print(text)
        if not args.no_write:
            path = REPO / "docs" / "benchmarks.md"
            report.write_doc(path, text)
            print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)
    finally:
        for proc in servers:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
