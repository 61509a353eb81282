"""TLS verification and proxies, on both backends, over real loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_harness import run_dial
from netservers import RecordingProxy, SilentHTTPServer, TLSServer


@pytest.fixture
def tls_server(tmp_path) -> Iterator[TLSServer]:
    server = TLSServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    server = RecordingProxy()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_inherited_proxies(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_a_self_signed_server_is_refused_by_default(tls_server, monkeypatch, backend_name):
    monkeypatch.setenv("DIAL_URL", tls_server.url)
    monkeypatch.setenv("DIAL_API_KEY", "k")
    result = run_dial(["ask", "--backend", backend_name, "--retries", "0", "-m", "x", "hi"])
    assert result.code == 6
    assert result.stderr.startswith(f"dial: TLS failure talking to {tls_server.url}: ")
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr and "SSL_CERT_FILE" in result.stderr
    assert result.stderr.count("\n") == 1


def test_ssl_cert_file_makes_the_certificate_trusted(tls_server, monkeypatch, backend_name):
    monkeypatch.setenv("DIAL_URL", tls_server.url)
    monkeypatch.setenv("DIAL_API_KEY", "k")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cert))
    result = run_dial(["ask", "--backend", backend_name, "-m", "x", "hi"])
    assert (result.code, result.stdout) == (0, "secure hello\n"), result.stderr


def test_http_proxy_is_used_and_no_proxy_bypasses_it(
    emulator, proxy, dial_environ, monkeypatch, backend_name
):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "via proxy"])
    assert (result.code, result.stdout) == (0, "via proxy\n"), result.stderr
    assert any("/openai/deployments/echo/chat/completions" in r for r in proxy.requests)
    seen = len(proxy.requests)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    result = run_dial(["ask", "--backend", backend_name, "-m", "echo", "direct"])
    assert (result.code, result.stdout) == (0, "direct\n")
    assert len(proxy.requests) == seen


def test_https_proxy_tunnels_with_connect(tls_server, proxy, monkeypatch, backend_name):
    monkeypatch.setenv("DIAL_URL", tls_server.url)
    monkeypatch.setenv("DIAL_API_KEY", "k")
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.cert))
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    result = run_dial(["ask", "--backend", backend_name, "-m", "x", "hi"])
    assert (result.code, result.stdout) == (0, "secure hello\n"), result.stderr
    host = tls_server.url.removeprefix("https://")
    assert proxy.requests == [f"CONNECT {host} HTTP/1.1"]


def test_https_to_a_silent_plain_http_server_fails_at_the_handshake_timeout(
    monkeypatch, backend_name, tmp_path
):
    # The connect timeout is far longer than the handshake's own 3 s: before the fix the
    # answer was "connect timeout ... within 60 s", after a minute.
    server = SilentHTTPServer()
    try:
        monkeypatch.setenv("DIAL_URL", server.url)
        monkeypatch.setenv("DIAL_API_KEY", "k")
        config = tmp_path / "config.toml"
        config.write_text("[timeouts]\nconnect = 60\n")
        monkeypatch.setenv("DIAL_CONFIG", str(config))
        result = run_dial(["ask", "--backend", backend_name, "-m", "x", "hi"])
    finally:
        server.stop()
    plain = server.url.replace("https://", "http://")
    assert result.code == 6, result.stderr
    assert result.stderr == (
        f"dial: TLS failure talking to {server.url}: no TLS handshake within 3 s; "
        f"if the server speaks plain HTTP, use {plain}\n"
    )
    assert server.connections == 1  # a TLS failure is not retried
