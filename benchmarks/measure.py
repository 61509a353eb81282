"""Run one command in a fresh process and measure it: wall, first byte, peak RSS.

The parent writes stdin and reads stdout in large blocks (so it never slows the child
down). Peak RSS comes from GNU time (``/usr/bin/time -f %M``), which adds about a
millisecond to every run, the same for every tool: ``os.wait4`` cannot be used, as a
child spawned by a big Python process starts with that process's peak RSS on its
counter (vfork, then exec, keeps the old high-water mark).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

READ_SIZE = 1 << 20
GNU_TIME = "/usr/bin/time"


@dataclass
class Run:
    wall: float  # process start to exit and end of stdout, seconds
    first_byte: float | None  # process start to the first byte on stdout
    last_byte: float  # process start to the end of stdout
    out_bytes: int
    max_rss_kb: int
    code: int
    stdout_head: bytes = b""
    stderr: bytes = b""
    # user + system CPU seconds of the process (and of GNU time around it): unlike wall
    # time, barely moved by other processes waiting for the same cores
    cpu: float = 0.0

    @property
    def streaming(self) -> float:
        """From the first byte on stdout to the last (the streaming phase)."""
        return self.last_byte - (self.first_byte or 0.0)


def run_once(
    argv: Sequence[str], env: dict[str, str], stdin: bytes = b"", timeout: float = 120
) -> Run:
    """Start ``argv``, feed ``stdin``, drain stdout, and time it."""
    stderr_path = f"/tmp/dial-bench-stderr-{os.getpid()}"
    rss_path = f"/tmp/dial-bench-rss-{os.getpid()}"
    command = list(argv)
    if os.path.exists(GNU_TIME):
        command = [GNU_TIME, "-f", "%M", "-o", rss_path, *command]
    with open(stderr_path, "w+b") as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err_file, env=env
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            if stdin:
                proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        fd = proc.stdout.fileno()
        first = None
        total = 0
        head = b""
        deadline = started + timeout
        while True:
            block = os.read(fd, READ_SIZE)
            now = time.perf_counter()
            if not block:
                break
            if first is None:
                first = now - started
            if len(head) < 200:
                head += block[:200]
            total += len(block)
            if now > deadline:
                proc.kill()
        last = time.perf_counter() - started
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        proc.stdout.close()
        err_file.seek(0)
        err = err_file.read()[-2000:]
    os.unlink(stderr_path)
    max_rss = usage.ru_maxrss  # an upper bound (see above), when GNU time is missing
    if command[0] == GNU_TIME:
        with open(rss_path) as rss_file:
            max_rss = int(rss_file.read().split()[-1])
        os.unlink(rss_path)
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, first, last, total, max_rss, proc.returncode, head, err, cpu)
