"""A raw-socket HTTP server that misbehaves on purpose (stdlib only).

The scenario is the deployment id: ``POST /openai/deployments/<scenario>/chat/completions``.
It produces the faults a well-behaved server (the aidial-sdk emulator) cannot: dropped
connections, malformed events, stalls, HTML error pages, bytes split inside UTF-8
characters. Every request is recorded, so a test can check e.g. that a stream that had
already started was not retried::

    with FaultServer() as server:
        run_dial(url=server.url, model="drop")
        assert server.hits["drop"] == 1
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

CHUNK_DEFAULTS = {
    "id": "fault-0001",
    "created": 1_735_689_600,
    "object": "chat.completion.chunk",
}
HELLO = ["Hello", " world"]
UNICODE = ["héllo", " 世界", " 🎉"]
USAGE = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
_STATUS = re.compile(r"^status-(\d{3})(?:-retry-after-(\d+))?$")
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    """A chat.completion.chunk with aidial-sdk's key order."""
    choice = {"index": 0, "finish_reason": finish, "delta": delta}
    return {"choices": [choice], "usage": usage, **CHUNK_DEFAULTS}


def event(data: dict[str, Any] | str) -> bytes:
    """One SSE event as aidial-sdk writes it (compact JSON, raw UTF-8 here)."""
    # ensure_ascii=False: real servers may send raw UTF-8 (the sdk escapes it), and
    # the bytewise scenario needs multi-byte characters on the wire.
    text = (
        data
        if isinstance(data, str)
        else json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    )
    return f"data: {text}\n\n".encode()


def answer_events(words: list[str], *, finish: bool = True, done: bool = True) -> list[bytes]:
    """Role chunk, one chunk per word, then (optionally) the finish chunk and [DONE]."""
    events = [event(chunk({"role": "assistant"}))]
    events += [event(chunk({"content": w})) for w in words]
    if finish:
        events.append(event(chunk({}, finish="stop", usage=USAGE)))
    if done:
        events.append(event("[DONE]"))
    return events


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    scenario: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class FaultServer:
    """Serves fault scenarios on a free loopback port from a background thread."""

    host: str = "127.0.0.1"
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)  # so the accept loop notices stop()
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    # -- lifecycle -------------------------------------------------------------
    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop accepting and release stalled connections."""
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()

    def reset(self) -> None:
        """Forget recorded requests and hit counts (between tests)."""
        with self._lock:
            self.hits.clear()
            self.requests.clear()

    def requests_for(self, scenario: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.scenario == scenario]

    # -- serving ---------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                request = self._read_request(conn)
                if request is None:
                    return
                with self._lock:
                    self.hits[request.scenario] += 1
                    self.requests.append(request)
                self._respond(conn, request)
        except OSError:
            pass  # the client went away; that is its business

    def _read_request(self, conn: socket.socket) -> Recorded | None:
        data = b""
        while b"\r\n\r\n" not in data:
            piece = conn.recv(65536)
            if not piece:
                return None
            data += piece
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            piece = conn.recv(65536)
            if not piece:
                break
            body += piece
        path = target.split("?", 1)[0]
        match = re.fullmatch(r"/openai/deployments/(.+)/chat/completions", path)
        scenario = match.group(1) if match else path
        return Recorded(method, target, scenario, headers, body)

    def _respond(self, conn: socket.socket, request: Recorded) -> None:
        from hostile_scenarios import HOSTILE, evil_listing

        path = request.path.split("?", 1)[0]
        if path == "/hostile/openai/models":  # DIAL_URL=<url>/hostile lists evil names
            evil_listing(self, conn)
            return
        if request.scenario in HOSTILE and path != request.scenario:
            HOSTILE[request.scenario](self, conn, request)
            return
        if request.method == "GET" and path in ("/openai/models", "/openai/deployments"):
            data = [{"id": s, "model": s, "object": "model"} for s in SCENARIOS]
            self._send_json(conn, 200, {"object": "list", "data": data})
            return
        scenario = request.scenario
        handler = SCENARIOS.get(scenario)
        status = _STATUS.match(scenario)
        if handler is not None and path != scenario:
            handler(self, conn)
        elif status:
            self._send_status(conn, int(status.group(1)), status.group(2))
        else:
            message = f"Deployment {scenario} is not found"
            self._send_json(conn, 404, _error(message, "invalid_request_error", 404))

    # -- response helpers ------------------------------------------------------
    @staticmethod
    def _head(status: int, headers: dict[str, str]) -> bytes:
        # Connection: close keeps the server one-request-per-connection (no keep-alive).
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
        lines += [f"{k}: {v}" for k, v in {**headers, "connection": "close"}.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _send_json(
        self, conn: socket.socket, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        head = {"content-type": "application/json", "content-length": str(len(payload))}
        conn.sendall(self._head(status, {**head, **(headers or {})}) + payload)

    def _send_status(self, conn: socket.socket, status: int, retry_after: str | None) -> None:
        headers = {}
        if status in (429, 503):
            headers["retry-after"] = retry_after if retry_after is not None else "1"
        message = f"Emulated HTTP {status} (fault server)"
        kind = "invalid_request_error" if status < 500 else "runtime_error"
        self._send_json(conn, status, _error(message, kind, status), headers)

    def _start_sse(self, conn: socket.socket) -> None:
        headers = {"content-type": "text/event-stream; charset=utf-8"}
        conn.sendall(self._head(200, {**headers, "transfer-encoding": "chunked"}))

    @staticmethod
    def _send_chunk(conn: socket.socket, data: bytes) -> None:
        conn.sendall(b"%x\r\n%s\r\n" % (len(data), data))

    def _stream(self, conn: socket.socket, events: list[bytes], *, end: bool = True) -> None:
        """Send events as chunked HTTP; ``end=False`` leaves the body unterminated."""
        self._start_sse(conn)
        for item in events:
            self._send_chunk(conn, item)
        if end:
            conn.sendall(b"0\r\n\r\n")

    # -- scenarios -------------------------------------------------------------
    def ok(self, conn: socket.socket) -> None:
        self._stream(conn, answer_events(HELLO))

    def ok_crlf(self, conn: socket.socket) -> None:
        events = [e.replace(b"\n", b"\r\n") for e in answer_events(HELLO)]
        self._stream(conn, events)

    def ok_bytewise(self, conn: socket.socket) -> None:
        # One HTTP chunk per byte, each in its own send() with Nagle off and a short
        # pause, so reads split inside multi-byte UTF-8 characters and inside "data:".
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._start_sse(conn)
        for byte in _iter_bytes(b"".join(answer_events(UNICODE))):
            self._send_chunk(conn, byte)
            time.sleep(0.0002)
        conn.sendall(b"0\r\n\r\n")

    def drop(self, conn: socket.socket) -> None:
        self._stream(conn, answer_events(HELLO, finish=False, done=False), end=False)
        # Closing here (FIN, no "0\r\n\r\n") leaves the chunked body incomplete.

    def reset_conn(self, conn: socket.socket) -> None:
        self._stream(conn, answer_events(HELLO, finish=False, done=False), end=False)
        # SO_LINGER 0: close() sends RST instead of FIN ("connection reset by peer").
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def malformed(self, conn: socket.socket) -> None:
        events = answer_events(["Hello"], finish=False, done=False)
        self._stream(conn, [*events, b"data: {not json\n\n", event("[DONE]")])

    def no_done(self, conn: socket.socket) -> None:
        self._stream(conn, answer_events(HELLO, finish=False, done=False))

    def finish_no_done(self, conn: socket.socket) -> None:
        self._stream(conn, answer_events(HELLO, done=False))

    def stall(self, conn: socket.socket) -> None:
        self._stream(conn, answer_events(["Hello"], finish=False, done=False), end=False)
        self._stop.wait()

    def stall_headers(self, conn: socket.socket) -> None:
        self._stop.wait()

    def html_502(self, conn: socket.socket) -> None:
        payload = NGINX_502.encode()
        head = {"content-type": "text/html", "content-length": str(len(payload)), "server": "nginx"}
        conn.sendall(self._head(502, head) + payload)

    def not_sse(self, conn: socket.socket) -> None:
        message = {"role": "assistant", "content": "Hello world"}
        choice = {"index": 0, "finish_reason": "stop", "message": message}
        body = {**CHUNK_DEFAULTS, "object": "chat.completion", "choices": [choice], "usage": USAGE}
        self._send_json(conn, 200, body)

    def not_sse_text(self, conn: socket.socket) -> None:
        payload = b"this is not an event stream\n\x00\xff garbage\n"
        head = {"content-type": "text/plain", "content-length": str(len(payload))}
        conn.sendall(self._head(200, head) + payload)

    # Where the two backends differ (docs/architecture.md lists each):
    def bare_chunks(self, conn: socket.socket) -> None:
        words = [chunk({"content": w}) for w in HELLO]
        final = chunk({}, finish="stop", usage=USAGE)
        self._stream(conn, [*(event(_bare(c)) for c in [*words, final]), event("[DONE]")])

    def scalar_chunk(self, conn: socket.socket) -> None:
        events = answer_events(["Hello"], finish=False, done=False)
        self._stream(conn, [*events, b"data: 42\n\n", event("[DONE]")])

    def null_error(self, conn: socket.socket) -> None:
        events = answer_events(HELLO, finish=False, done=False)
        final = {**chunk({}, finish="stop", usage=USAGE), "error": None}
        self._stream(conn, [*events, event(final), event("[DONE]")])

    def error_event(self, conn: socket.socket) -> None:
        events = answer_events(["Hello"], finish=False, done=False)
        error = {"error": {"message": "boom mid-stream", "type": "runtime_error", "code": "500"}}
        self._stream(conn, [*events, event(error), event("[DONE]")])


def _bare(data: dict[str, Any]) -> dict[str, Any]:
    """A chunk as a minimal OpenAI-compatible server may send it: no id/object/created."""
    return {k: v for k, v in data.items() if k not in CHUNK_DEFAULTS}


def _error(message: str, kind: str, status: int) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": str(status)}}


def _iter_bytes(data: bytes) -> Iterator[bytes]:
    for i in range(len(data)):
        yield data[i : i + 1]


# Scenario name (the deployment id in the URL) -> behaviour. ``status-N`` and
# ``status-N-retry-after-S`` are matched separately.
SCENARIOS = {
    "ok": FaultServer.ok,
    "ok-crlf": FaultServer.ok_crlf,
    "ok-bytewise": FaultServer.ok_bytewise,
    "drop": FaultServer.drop,
    "reset": FaultServer.reset_conn,
    "malformed": FaultServer.malformed,
    "no-done": FaultServer.no_done,
    "finish-no-done": FaultServer.finish_no_done,
    "stall": FaultServer.stall,
    "stall-headers": FaultServer.stall_headers,
    "html-502": FaultServer.html_502,
    "not-sse": FaultServer.not_sse,
    "not-sse-text": FaultServer.not_sse_text,
    "error-event": FaultServer.error_event,
    "bare-chunks": FaultServer.bare_chunks,
    "scalar-chunk": FaultServer.scalar_chunk,
    "null-error": FaultServer.null_error,
}
