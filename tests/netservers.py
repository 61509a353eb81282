"""A self-signed HTTPS DIAL stand-in and a recording HTTP proxy, for network-environment tests."""

from __future__ import annotations

import json
import select
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_CHUNK = b'"id":"tls-1","object":"chat.completion.chunk","created":1735689600'
SSE_ANSWER = (
    b'data: {"choices":[{"index":0,"delta":{"content":"secure hello"},"finish_reason":null}],'
    + _CHUNK
    + b"}\n\n"
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],' + _CHUNK + b"}\n\n"
    b"data: [DONE]\n\n"
)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl CLI)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class _DialHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": [{"id": "tls-echo", "object": "model"}]})
        self._send(200, "application/json", body.encode())

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self._send(200, "text/event-stream", SSE_ANSWER)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TLSServer:
    """HTTPS on a free loopback port, with a certificate no system store trusts."""

    def __init__(self, folder: Path) -> None:
        self.cert, key = make_certificate(folder)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _DialHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class RecordingProxy:
    """A forward proxy (plain HTTP and CONNECT) that records each request line."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(65536)
                if not data:
                    return
                head += data
            request_line = head.split(b"\r\n", 1)[0].decode()
            self.requests.append(request_line)
            method, target, _ = request_line.split(" ", 2)
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = head.split(b"\r\n\r\n", 1)[1]
            else:
                # Absolute-form target: forward as-is with the connection closed after.
                _, _, hostport, path = target.split("/", 3)
                host, port = hostport.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                origin_form = f"{method} /{path} HTTP/1.1".encode()
                rest = origin_form + head[len(request_line) :]
            with upstream:
                if rest:
                    upstream.sendall(rest)
                _pipe(client, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    while True:
        readable, _, _ = select.select(sockets, [], [], 10)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            (b if sock is a else a).sendall(data)


class SilentHTTPServer:
    """A plain-HTTP server that, like many, waits for a request line's end before it
    answers: a TLS ClientHello (binary, usually without CR/LF) gets no reply at all."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self._listener.close()
        for conn in self._open:
            conn.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)  # read nothing, answer nothing, keep it open
