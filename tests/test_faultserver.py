"""Self-checks for the fault server the fault tests rely on."""

from __future__ import annotations

import json

import httpx
import pytest
from faultserver import FaultServer


def post(server: FaultServer, scenario: str) -> httpx.Response:
    url = f"{server.url}/openai/deployments/{scenario}/chat/completions"
    return httpx.post(url, json={"messages": [], "stream": True}, timeout=5)


def contents(body: bytes) -> str:
    text = ""
    for line in body.decode().splitlines():
        if line.startswith("data: {"):
            delta = json.loads(line[6:])["choices"][0]["delta"]
            text += delta.get("content") or ""
    return text


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [("ok", "Hello world"), ("ok-crlf", "Hello world"), ("ok-bytewise", "héllo 世界 🎉")],
)
def test_ok_scenarios_are_complete_streams(
    fault_server: FaultServer, scenario: str, expected: str
) -> None:
    resp = post(fault_server, scenario)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert contents(resp.content) == expected
    assert resp.content.rstrip().endswith(b"data: [DONE]")


def test_drop_breaks_the_body(fault_server: FaultServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        post(fault_server, "drop")


def test_status_scenarios_and_request_recording(fault_server: FaultServer) -> None:
    before = fault_server.hits["status-429"]
    resp = post(fault_server, "status-429")
    assert resp.status_code == 429 and resp.headers["retry-after"] == "1"
    assert resp.json()["error"]["code"] == "429"
    assert post(fault_server, "status-503-retry-after-0").headers["retry-after"] == "0"
    assert fault_server.hits["status-429"] == before + 1
    assert fault_server.requests_for("status-429")[-1].json() == {"messages": [], "stream": True}


def test_stall_times_out_the_reader(fault_server: FaultServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        url = f"{fault_server.url}/openai/deployments/stall-headers/chat/completions"
        httpx.post(url, json={}, timeout=0.3)


def test_models_listing(fault_server: FaultServer) -> None:
    data = httpx.get(fault_server.url + "/openai/models").json()["data"]
    assert "ok" in {m["id"] for m in data}
