"""``dial-emulator``: serve the emulator until SIGINT/SIGTERM, printing only its URL."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialcli.emulator.load import LoadSettings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="dial-emulator",
        description="A local DIAL Core emulator for testing dial. Prints its URL, then serves.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8080, help="port to bind; 0 picks a free one (default 8080)"
    )
    parser.add_argument("--api-key", default=None, help="accept this Api-Key (default: accept any)")
    parser.add_argument(
        "--token",
        default=None,
        help="accept this bearer token (Authorization: Bearer ...; default: accept any)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.5,
        help="seconds the latency and limited deployments wait before answering (default 0.5)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=4,
        help="requests in flight the limited deployment accepts before 429 (default 4)",
    )
    return parser.parse_args(argv)


async def serve(
    sock: socket.socket,
    url: str,
    api_key: str | None,
    token: str | None,
    load: LoadSettings | None = None,
) -> None:
    """Run uvicorn on ``sock``; print ``url`` once it accepts connections."""
    import uvicorn

    from dialcli.emulator.app import build_app

    config = uvicorn.Config(
        build_app(api_key, token, load),
        log_config=None,  # uvicorn's default config logs access lines to stdout
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        print(url, flush=True)
    await task


# What the emulator imports beyond dial's own dependencies: the `emulator` extra.
EXTRA_MODULES = ("aidial_sdk", "fastapi", "starlette", "uvicorn")


def missing_extra() -> str | None:
    """The first module of the `emulator` extra that cannot be imported, if any."""
    import importlib

    for name in EXTRA_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            return name
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dial-emulator`` and ``python -m dialcli.emulator``."""
    args = parse_args(argv)
    missing = missing_extra()
    if missing:
        print(
            f"dial-emulator: {missing} is not installed; install dial with the 'emulator'"
            " extra: pip install 'dialcli[emulator]' (from a clone: pip install '.[emulator]')",
            file=sys.stderr,
        )
        return 2
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as err:
        print(f"dial-emulator: cannot bind {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    # uvicorn catches SIGINT/SIGTERM while serving and re-raises them once it has shut
    # down; these no-op handlers absorb the re-raise so the exit is a quiet 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    from dialcli.emulator.load import LoadSettings

    load = LoadSettings(latency=args.latency, limit=args.limit)
    asyncio.run(serve(sock, f"http://{host}:{port}", args.api_key, args.token, load))
    return 0


if __name__ == "__main__":
    sys.exit(main())
