"""Tables of the figures, and docs/benchmarks.md (its hand-written intro kept)."""

from __future__ import annotations

import datetime
import importlib.metadata
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MARKER = "<!-- Everything below this line is written by benchmarks/run.py. -->"
DEFAULT_INTRO = """# Benchmarks

In a pipeline `dial` runs once per item, so its start-up is paid every time. These
figures put it, in one run and against the same local servers, next to the least a
client can do (`curl -N`, and `benchmarks/floor_httpx.py`: a bare script that imports
httpx and streams the reply, doing the same work as `dial` and no more) and the tools a
user might pick instead (`llm`, `sgpt`).

Reproduce with a regular (non-editable) install in a scratch virtual environment, with
bytecode caching on, as a user's install runs (about 3 minutes; the first run also
installs `llm` and `shell-gpt` into `.bench/`):

    python3 -m venv /tmp/dial-bench && /tmp/dial-bench/bin/pip install -q '.[emulator]'
    env -u PYTHONDONTWRITEBYTECODE /tmp/dial-bench/bin/python benchmarks/run.py

Every table is printed with the machine, its load average, the Python, where `dialcli`
was imported from and how many of its modules had cached bytecode.

What runs:

- `benchmarks/fast_server.py` (stdlib, asyncio) answers any `POST …/chat/completions`
  (DIAL and OpenAI paths) at once: model `echo` streams the prompt back, `flood` streams
  100,000 chunks `x`, `flood-N` N chunks, each chunk shaped like DIAL Core's.
- The emulator (`python -m dialcli.emulator`) serves the start-up commands.
- `llm` uses an OpenAI-compatible model in `extra-openai-models.yaml` (with the
  `Api-Key` header) under a private `LLM_USER_PATH`; `sgpt` uses `API_BASE_URL` in a
  private `HOME`, with `--no-md --no-cache`. Otherwise all run at their defaults: `llm`
  logs each prompt to its SQLite database, `dial` saves each conversation.
- Each run is a fresh process started under `/usr/bin/time -f %M` for its peak RSS
  (about 1 ms added to every client alike).

Reading the figures:

- The servers speak plain http on localhost and the runs carry no proxy variables, so
  `dial` skips loading the CA bundle (about 30 ms), and so does the httpx floor. Against
  an https DIAL every client pays that and the TLS handshake.
- The httpx floor does `dial`'s work and no more: it does not import httpx's
  command-line module (which `import httpx` loads, and with it click, rich and
  pygments when installed; `dial` blocks it), parses chunks with orjson, and writes
  and flushes once per network read, as `dial`'s raw backend does. Earlier versions of
  this page compared `dial` with a floor that did more work than it (CA bundle, CLI
  module, a write per token), which flattered `dial`.

"""
DIAL = "dial ask (raw)"
FAIR_FLOOR = "httpx floor, fair"
OLD_FLOOR = "httpx floor, old (CA bundle, CLI module, a write per token)"
STDLIB_FLOOR = "http.client floor (stdlib)"


@dataclass
class Results:
    startup: list[Any]
    startup_server: str
    oneshot: list[Any]
    oneshot_packed: list[Any]
    flood: list[Any]
    flood_packed: list[Any]
    chunks: int
    long: Any
    long_chunks: int
    slow: list[Any]
    peer_chunks: int
    peers: list[Any]
    seconds: float
    environment: str  # machine, load, Python, install and bytecode (environment.py)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def mb(kb: int) -> str:
    return f"{kb / 1024:.1f}"


def med(values: list[float]) -> float:
    return statistics.median(values)


def na(case: Any) -> str:
    return f"n/a ({case.problem})"


def find(cases: list[Any], label: str) -> Any | None:
    return next((c for c in cases if c.label == label and c.runs), None)


def pair_ratio(cases: list[Any], case: Any, value: Any) -> float | None:
    """Median over rounds of value(dial's run) / value(this case's run)."""
    ref = find(cases, DIAL)
    if ref is None or not case.runs:
        return None
    return med([value(a) / value(b) for a, b in zip(ref.runs, case.runs, strict=True)])


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    # A "|" inside a cell (echo hi | dial ...) would end it: escape it.
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def startup_table(cases: list[Any]) -> str:
    rows = []
    for c in cases:
        if not c.runs:
            rows.append([f"`{c.label}`", na(c), "", "", ""])
            continue
        walls = [r.wall for r in c.runs]
        peak = max(r.max_rss_kb for r in c.runs)
        rows.append([f"`{c.label}`", ms(med(walls)), ms(min(walls)), ms(max(walls)), mb(peak)])
    return table(["command", "median ms", "min ms", "max ms", "peak RSS MB"], rows)


def oneshot_table(cases: list[Any]) -> str:
    rows = []
    for c in cases:
        if not c.runs:
            rows.append([c.label, na(c), "", "", "", "", ""])
            continue
        walls = [r.wall for r in c.runs]
        first = med([r.first_byte or r.wall for r in c.runs])
        ratio = pair_ratio(cases, c, lambda r: r.wall)
        cpu_ratio = pair_ratio(cases, c, lambda r: r.cpu)
        rows.append([
            c.label, ms(med(walls)), ms(min(walls)), ms(max(walls)), ms(first),
            ms(med([r.cpu for r in c.runs])), mb(max(r.max_rss_kb for r in c.runs)),
            f"{ratio:.2f}" if ratio else "", f"{cpu_ratio:.2f}" if cpu_ratio else "",
        ])  # fmt: skip
    header = ["client", "median ms", "min ms", "max ms", "first token ms", "CPU ms"]
    return table([*header, "peak RSS MB", "dial ÷ client (time)", "(CPU)"], rows)


def stream_table(cases: list[Any], chunks: int) -> str:
    rows = []
    for c in cases:
        if not c.runs:
            rows.append([c.label, na(c), "", "", "", "", "", ""])
            continue
        rates = [chunks / r.streaming for r in c.runs]
        ratio = pair_ratio(cases, c, lambda r: chunks / r.streaming)
        rows.append([
            c.label, f"{med(rates):,.0f}", f"{min(rates):,.0f}", f"{max(rates):,.0f}",
            f"{med([r.streaming for r in c.runs]):.3f}", f"{med([r.wall for r in c.runs]):.3f}",
            mb(max(r.max_rss_kb for r in c.runs)), f"{ratio:.2f}" if ratio else "",
        ])  # fmt: skip
    header = ["client", "chunks/s median", "min", "max", "stream s", "wall s", "peak RSS MB"]
    return table([*header, "dial ÷ client (chunks/s)"], rows)


def targets(res: Results) -> str:
    lines = []

    def check(name: str, ok: bool | None, figure: str) -> None:
        mark = "n/a" if ok is None else ("met" if ok else "**not met**")
        lines.append(f"- {name}: {figure} — {mark}")

    for what in ("--version", "--help"):
        now, before = find(res.startup, f"dial {what}"), find(res.startup, f"dial {what} (before)")
        if now and before:
            ratio = med([a.wall / b.wall for a, b in zip(now.runs, before.runs, strict=True)])
            check(f"`dial {what}` no slower than before this change", ratio <= 1.05,
                  f"{ratio:.2f}x the earlier build's time (paired)")  # fmt: skip
    for cases, mode in ((res.oneshot, "one event per write"), (res.oneshot_packed, "packed")):
        floor = find(cases, FAIR_FLOOR)
        ratio = pair_ratio(cases, floor, lambda r: r.wall) if floor else None
        cpu = pair_ratio(cases, floor, lambda r: r.cpu) if floor else None
        figure = f"{ratio:.2f}x wall, {cpu:.2f}x CPU" if ratio and cpu else "n/a"
        check(f"`echo hi | dial ask` within 1.3x of the fair httpx floor ({mode})",
              ratio is not None and ratio <= 1.3, figure)  # fmt: skip
    for name, factor in (("llm", 4), ("sgpt", 7)):
        peer = next((c for c in res.oneshot if c.label == name), None)
        ratio = pair_ratio(res.oneshot, peer, lambda r: r.wall) if peer and peer.runs else None
        why = peer.problem if peer else "skipped"
        speed = f"{1 / ratio:.1f}x faster" if ratio else f"n/a ({why})"
        ok = None if ratio is None else ratio <= 1 / factor
        check(f"raw `ask` at least {factor}x faster than `{name}`", ok, speed)
    dial = find(res.flood, DIAL)
    answers = [
        ("answer `hi`", find(res.oneshot, DIAL)),
        (f"{res.chunks:,} chunks", dial),
        (f"{res.long_chunks:,} chunks", res.long if res.long.runs else None),
    ]
    peaks = [(name, max(r.max_rss_kb for r in c.runs)) for name, c in answers if c]
    if peaks:
        check("peak RSS at most 35 MB whatever the answer's length",
              max(p for _, p in peaks) <= 35 * 1024,
              ", ".join(f"{mb(p)} MB ({name})" for name, p in peaks))  # fmt: skip
    return "\n".join(lines) + "\n"


def machine(res: Results) -> str:
    try:
        curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout
        curl = " ".join(curl.split()[:2])
    except OSError:
        curl = "curl missing"
    versions = [f"dialcli {_version('dialcli')}", f"httpx {_version('httpx')}", curl]
    versions += [f"{p.name} {p.version}" for p in res.peers if p.version]
    return (
        res.environment
        + f"- Versions: {', '.join(versions)}\n"
        + f"- Run on {datetime.date.today().isoformat()}, took {res.seconds:.0f} s: "
        f"`python benchmarks/run.py{_arguments()}`\n"
    )


def _arguments() -> str:
    """The run's options as given (``--before``'s path named, not spelled out)."""
    words = []
    for word in sys.argv[1:]:
        words.append("<an earlier install's dial>" if words[-1:] == ["--before"] else word)
    return "".join(f" {w}" for w in words)


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def render(res: Results) -> str:
    runs = max((len(c.runs) for c in res.startup), default=0)
    return (
        "## Results\n\n"
        + machine(res)
        + f"- Each figure: median of {runs} fresh processes, min and max beside it; "
        "the clients take turns within each round, and a ratio is the median of the "
        "per-round ratios (below 1 for time, above 1 for chunks/s: dial is faster).\n\n"
        "### Targets\n\n"
        + targets(res)
        + f"\n### Start-up and one-shot commands\n\nAgainst {res.startup_server}; "
        "`ask` reads `hi` from stdin.\n\n"
        + startup_table(res.startup)
        + "\n### One question, every client (one event per write)\n\n"
        "`echo hi | <client>` against the fast server (`benchmarks/fast_server.py`), which "
        "answers `hi` at once, one event per write as DIAL Core relays a stream; "
        '"first token" is process start to the first byte on stdout.\n\n'
        + oneshot_table(res.oneshot)
        + "\n### One question, dial and the floors (packed writes)\n\n"
        "The same against the fast server in packed mode (the whole reply in one write).\n\n"
        + oneshot_table(res.oneshot_packed)
        + f"\n### Streaming throughput: {res.chunks:,} chunks (one event per write)\n\n"
        f"The fast server streams {res.chunks:,} chunks of one character as fast as it can; "
        "chunks/s counts from the first byte on stdout to the last (start-up excluded). "
        "`curl` relays the raw event stream without parsing it.\n\n"
        + stream_table(res.flood, res.chunks)
        + f"\n### Streaming throughput: {res.chunks:,} chunks (packed, 1,000 per write)\n\n"
        + stream_table(res.flood_packed, res.chunks)
        + f"\n### Streaming throughput, slower clients: {res.peer_chunks:,} chunks\n\n"
        f"The same, {res.peer_chunks:,} chunks, so ten runs of each fit in the time budget; "
        "dial runs again here for the per-round ratios.\n\n"
        + stream_table(res.slow, res.peer_chunks)
    )


def write_doc(path: Path, results_text: str) -> None:
    """Replace everything below MARKER; keep (or create) the intro above it."""
    intro = DEFAULT_INTRO
    if path.exists():
        text = path.read_text()
        if MARKER in text:
            intro = text.split(MARKER, 1)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(intro.rstrip("\n") + "\n\n" + MARKER + "\n\n" + results_text)
