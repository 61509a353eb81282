"""Faults a well-behaved server cannot produce, from the raw fault server, on both backends."""

from __future__ import annotations

import pytest
from cli_harness import run_dial


def ask(backend: str, scenario: str, *extra: str):
    return run_dial(["ask", "--backend", backend, "-m", scenario, *extra, "hi"])


@pytest.mark.parametrize(
    ("scenario", "answer"),
    [
        ("ok", "Hello world\n"),
        ("ok-crlf", "Hello world\n"),
        ("ok-bytewise", "héllo 世界 🎉\n"),
        ("finish-no-done", "Hello world\n"),
    ],
)
def test_well_formed_streams_in_any_framing_give_the_answer(
    at_fault_server, backend_name, scenario, answer
):
    result = ask(backend_name, scenario)
    assert (result.code, result.stdout, result.stderr) == (0, answer, "")


@pytest.mark.parametrize("scenario", ["drop", "reset"])
def test_dropped_connection_mid_stream_keeps_the_text_and_exits_6(
    at_fault_server, backend_name, scenario
):
    result = ask(backend_name, scenario)
    assert result.code == 6
    assert result.stdout == "Hello world\n"
    assert result.stderr.startswith("dial: answer incomplete: connection dropped")
    assert result.stderr.count("\n") == 1
    assert at_fault_server.hits[scenario] == 1, "a started stream must never be replayed"


def test_malformed_chunk_is_a_server_error(at_fault_server, backend_name):
    result = ask(backend_name, "malformed")
    assert result.code == 1
    assert result.stdout == "Hello\n"
    assert result.stderr.startswith("dial: answer incomplete: malformed chunk in the event stream")


def test_stream_ending_without_done_or_finish_reason_is_incomplete(at_fault_server, backend_name):
    result = ask(backend_name, "no-done")
    assert result.code == 1
    assert result.stdout == "Hello world\n"
    assert result.stderr == (
        "dial: answer incomplete: the stream ended before the answer was finished\n"
    )


def test_error_event_mid_stream_reports_the_servers_message(at_fault_server, backend_name):
    result = ask(backend_name, "error-event")
    assert result.code == 1
    assert result.stdout == "Hello\n"
    assert result.stderr == (
        "dial: answer incomplete: server error during the answer: boom mid-stream\n"
    )


def test_stall_mid_stream_ends_with_a_read_timeout(at_fault_server, backend_name):
    result = ask(backend_name, "stall", "--timeout", "0.5")
    assert result.code == 6
    assert result.stdout == "Hello\n"
    assert result.stderr == (
        "dial: answer incomplete: read timeout: no data from the server for 0.5 s\n"
    )


def test_server_that_never_answers_ends_with_a_read_timeout(at_fault_server, backend_name):
    result = ask(backend_name, "stall-headers", "--timeout", "0.5")
    assert result.code == 6
    assert result.stdout == ""
    assert result.stderr == "dial: read timeout: no data from the server for 0.5 s\n"


def test_html_error_page_from_a_proxy_is_one_clear_line(at_fault_server, backend_name):
    result = ask(backend_name, "html-502", "--retries", "0")
    assert result.code == 1
    assert result.stderr == (
        "dial: unexpected HTML page from the server: 502 Bad Gateway (HTTP 502)\n"
    )


@pytest.mark.parametrize("scenario", ["not-sse", "not-sse-text"])
def test_a_200_reply_that_is_not_an_event_stream_is_refused(
    at_fault_server, backend_name, scenario
):
    result = ask(backend_name, scenario)
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("dial: expected an event stream, got ")
    assert result.stderr.count("\n") == 1


# Where aidial-client cannot behave like raw, the difference is stated as an explicit
# expected value per backend (docs/architecture.md, "Differences between the backends").
DIFFERENCES = {
    "bare-chunks": {
        "raw": (0, "Hello world\n", ""),
        "sdk": (1, "", "dial: malformed chunk in the event stream (rejected by aidial-client"),
    },
    "scalar-chunk": {
        "raw": (1, "Hello\n", "dial: answer incomplete: malformed chunk in the event stream: '42'"),
        "sdk": (1, "Hello\n", "dial: answer incomplete: unexpected reply from the server"),
    },
}


def test_an_error_field_that_is_null_is_not_an_error(at_fault_server, backend_name):
    result = ask(backend_name, "null-error")
    assert (result.code, result.stdout, result.stderr) == (0, "Hello world\n", "")


@pytest.mark.parametrize("scenario", sorted(DIFFERENCES))
def test_documented_differences_between_the_backends(at_fault_server, backend_name, scenario):
    code, out, err_start = DIFFERENCES[scenario][backend_name]
    result = ask(backend_name, scenario)
    assert (result.code, result.stdout) == (code, out), result.stderr
    assert result.stderr.startswith(err_start)
    assert result.stderr.count("\n") == (1 if code else 0)
