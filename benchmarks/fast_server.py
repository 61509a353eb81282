"""A minimal DIAL/OpenAI-compatible server that answers at once (stdlib only).

Used by ``benchmarks/run.py`` so the figures measure the clients, not a server:
every reply is built in memory and written in large blocks.

Any ``POST`` whose path ends in ``/chat/completions`` streams a chat completion, so
DIAL clients (``/openai/deployments/<model>/chat/completions``) and OpenAI clients
(``/v1/chat/completions``, ``/chat/completions``, model in the body) get the same
bytes. The model decides the reply:

* ``flood`` streams ``--chunks`` chunks (default 100,000), each with content ``"x"``;
  ``flood-N`` streams N chunks;
* anything else (``echo``) streams the last user message back, word by word.

Each stream is a role chunk, the content chunks, a finish chunk with usage, then
``data: [DONE]`` — the shape DIAL sends; each chunk carries ``id``, ``object``,
``created`` and ``model`` like DIAL Core's (aidial-client rejects chunks without).
``GET …/models`` lists ``echo`` and ``flood``.

How the events are written is the same for every client and chosen per run:

* ``--write event`` (the default): one event per write (one HTTP chunk each, and the
  socket flushed after each), as DIAL Core relays a model's stream: each client then
  gets many small network reads, and pays its per-read cost;
* ``--write packed``: many events per write (the whole ``echo`` reply, 1,000 ``flood``
  events per write), the best case for a client: few, large reads.

    python benchmarks/fast_server.py --port 0 [--api-key KEY] [--write packed]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import sys

DONE = b"data: [DONE]\n\n"
BLOCK_EVENTS = 1000  # content events per HTTP chunk (one write)
_DEPLOYMENT = re.compile(r"/deployments/(.+)/chat/completions$")
MODELS = ["echo", "flood"]
# What DIAL Core puts in every chunk; aidial-client (the sdk backend) requires them.
CHUNK_FIELDS = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1735689600}


def chunk(model: str, delta: dict, finish: str | None = None, usage: dict | None = None) -> bytes:
    """One ``data: {chat.completion.chunk}`` event, compact JSON."""
    body: dict = {**CHUNK_FIELDS, "model": model}
    body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def finish_chunk(model: str, completion_tokens: int) -> bytes:
    usage = {
        "prompt_tokens": 1,
        "completion_tokens": completion_tokens,
        "total_tokens": completion_tokens + 1,
    }
    return chunk(model, {}, "stop", usage)


def last_user_text(body: dict) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # OpenAI content parts
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def flood_count(model: str, default: int) -> int | None:
    if model == "flood":
        return default
    if model.startswith("flood-") and model[6:].isdigit():
        return int(model[6:])
    return None


class FastServer:
    def __init__(self, chunks: int, api_key: str | None, packed: bool = False) -> None:
        self.chunks = chunks
        self.api_key = api_key
        self.packed = packed
        self._flood_cache: dict[int, list[bytes]] = {}

    # -- replies ---------------------------------------------------------------

    def flood_blocks(self, count: int) -> list[bytes]:
        """The whole flood stream as HTTP-chunked blocks; the full blocks are one shared
        bytes object, so even a very long stream costs the server little memory."""
        blocks = self._flood_cache.get(count)
        if blocks is None and not self.packed:  # one event per write
            content = _http_chunk(chunk("flood", {"content": "x"}))
            blocks = [_http_chunk(chunk("flood", {"role": "assistant"}))]
            blocks += [content] * count
            blocks += [_http_chunk(finish_chunk("flood", count)), _http_chunk(DONE)]
            self._flood_cache[count] = blocks
        if blocks is None:
            content = chunk("flood", {"content": "x"})
            full, rest = divmod(count, BLOCK_EVENTS)
            blocks = [_http_chunk(chunk("flood", {"role": "assistant"}))]
            blocks += [_http_chunk(content * BLOCK_EVENTS)] * full
            if rest:
                blocks.append(_http_chunk(content * rest))
            blocks.append(_http_chunk(finish_chunk("flood", count) + DONE))
            self._flood_cache[count] = blocks
        return blocks

    def echo_blocks(self, model: str, text: str) -> list[bytes]:
        words = re.findall(r"\S+\s*|\s+", text)
        events = [chunk(model, {"role": "assistant"})]
        events += [chunk(model, {"content": word}) for word in words]
        events += [finish_chunk(model, len(words)), DONE]
        if self.packed:
            return [_http_chunk(b"".join(events))]
        return [_http_chunk(event) for event in events]

    # -- HTTP ------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        raw = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        if self.api_key and self.api_key not in (
            headers.get("api-key"),
            headers.get("authorization", "").removeprefix("Bearer "),
        ):
            error = {"error": {"message": "Unauthorized", "type": "auth_error", "code": "401"}}
            return await _send_json(writer, 401, error)
        if method == "GET" and path.rstrip("/").endswith(("/models", "/deployments")):
            data = [{"id": m, "object": "model", "owned_by": "bench"} for m in MODELS]
            return await _send_json(writer, 200, {"object": "list", "data": data})
        if method != "POST" or not path.endswith("/chat/completions"):
            error = {"error": {"message": f"no route {method} {path}", "code": "404"}}
            return await _send_json(writer, 404, error)
        body = json.loads(raw or b"{}")
        match = _DEPLOYMENT.search(path)
        model = match.group(1) if match else str(body.get("model", "echo"))
        count = flood_count(model, self.chunks)
        if not body.get("stream"):
            text = "x" * count if count is not None else last_user_text(body)
            message = {"role": "assistant", "content": text}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            reply = {"object": "chat.completion", "model": model, "choices": [choice]}
            return await _send_json(writer, 200, {**reply, "usage": usage})
        if count is not None:
            blocks = self.flood_blocks(count)
        else:
            blocks = self.echo_blocks(model, last_user_text(body))
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        for block in blocks:  # one write each; drain lets the event leave now
            writer.write(block)
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _send_json(writer: asyncio.StreamWriter, status: int, body: object) -> None:
    data = json.dumps(body).encode()
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    writer.write(
        b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n%s" % (status, reason.encode(), len(data), data)
    )
    await writer.drain()


async def serve(host: str, port: int, chunks: int, api_key: str | None, packed: bool) -> None:
    app = FastServer(chunks, api_key, packed)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = await asyncio.start_server(app.handle, sock=sock, backlog=128)
    app.flood_blocks(chunks)  # build the big reply before the first client asks
    print(f"http://{host}:{sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunks", type=int, default=100_000, help="content chunks of 'flood'")
    parser.add_argument("--api-key", default=None, help="require this Api-Key (or Bearer)")
    parser.add_argument(
        "--write", choices=["event", "packed"], default="event",
        help="one event per write (as DIAL Core sends; default) or many per write",
    )  # fmt: skip
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.chunks, args.api_key, args.write == "packed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
