"""`dial ask` end to end against the emulator, on both backends (the contract suite)."""

from __future__ import annotations

import json

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


def ask(backend: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    result = run_dial(["ask", "--backend", backend, *args], stdin)
    return result.code, result.stdout, result.stderr


def inspect(backend: str, *args: str, stdin: str = "") -> dict:
    code, out, err = ask(backend, "-m", "inspect", *args, stdin=stdin)
    assert code == 0, err
    return json.loads(out)


def test_echo_answer_streams_to_stdout_with_one_trailing_newline(backend_name):
    code, out, err = ask(backend_name, "-m", "echo", "Hello, DIAL")
    assert (code, out, err) == (0, "Hello, DIAL\n", "")


@pytest.mark.parametrize(
    "text",
    [
        "emoji 🎉👩‍👩‍👧 done",
        "CJK 世界 こんにちは 안녕하세요",
        "combining e\u0301 a\u0308 n\u0303",
        "RTL שלום עליכם مرحبا",
        "  leading and   inner   spaces",
    ],
)
def test_unicode_survives_byte_for_byte(backend_name, text):
    code, out, _ = ask(backend_name, "-m", "echo", text)
    assert code == 0
    assert out == text + "\n"


def test_streamed_and_non_streamed_answers_are_identical(backend_name):
    text = "one two  three 🎉 four"
    streamed = ask(backend_name, "-m", "echo", text)
    whole = ask(backend_name, "-m", "echo", "--no-stream", text)
    assert streamed == whole == (0, text + "\n", "")


def test_empty_answer_prints_one_newline(backend_name):
    code, out, err = ask(backend_name, "-m", "long", "0")
    assert (code, out, err) == (0, "\n", "")


def test_very_long_answer_arrives_whole(backend_name):
    code, out, _ = ask(backend_name, "-m", "long", "20000")
    assert code == 0
    words = out.split()
    assert len(words) == 20000
    assert out.endswith("\n") and not out.endswith("\n\n")


def test_piped_stdin_and_argument_are_joined_by_a_blank_line(backend_name):
    received = inspect(backend_name, "find the bug", stdin="print(1)\n")
    assert received["messages"][-1] == {"role": "user", "content": "print(1)\n\nfind the bug"}


def test_dash_reads_the_prompt_from_stdin_only(backend_name):
    received = inspect(backend_name, "-", stdin="only stdin")
    assert received["messages"][-1]["content"] == "only stdin"


def test_system_prompt_temperature_and_max_tokens_reach_the_server(backend_name):
    received = inspect(
        backend_name, "-s", "Be terse.", "--temperature", "0.3", "--max-tokens", "42", "hi"
    )
    assert received["messages"][0] == {"role": "system", "content": "Be terse."}
    assert received["temperature"] == 0.3
    assert received["max_tokens"] == 42


def test_api_version_is_sent_in_the_query(backend_name, monkeypatch):
    monkeypatch.setenv("DIAL_API_VERSION", "2025-01-01-preview")
    received = inspect(backend_name, "hi")
    assert received["headers"]["api-version"] == "2025-01-01-preview"


def test_json_output_has_model_content_finish_reason_and_usage(backend_name):
    code, out, err = ask(backend_name, "-m", "echo", "--json", "three small words")
    assert code == 0, err
    document = json.loads(out)
    assert document["model"] == "echo"
    assert document["content"] == "three small words"
    assert document["finish_reason"] == "stop"
    assert document["usage"]["completion_tokens"] == 3
    assert document["usage"]["total_tokens"] >= 3


def test_json_output_is_the_same_without_streaming(backend_name):
    streamed = json.loads(ask(backend_name, "-m", "echo", "--json", "a b c")[1])
    whole = json.loads(ask(backend_name, "-m", "echo", "--json", "--no-stream", "a b c")[1])
    assert streamed.pop("conversation_id") != whole.pop("conversation_id")
    assert (
        set(streamed.pop("latency_ms")) == set(whole.pop("latency_ms")) == {"first_byte", "total"}
    )
    assert streamed.pop("responseId") != whole.pop("responseId"), "each answer has its own id"
    assert streamed == whole


def test_no_prompt_is_a_usage_error(backend_name):
    code, out, err = ask(backend_name, "-m", "echo")
    assert (code, out) == (2, "")
    assert err.startswith("dial: no prompt") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("model", "code", "needle"),
    [
        ("no-such-model", 4, "deployment 'no-such-model' not found"),
        ("fail-400", 2, "(HTTP 400)"),
        ("fail-403", 3, "(HTTP 403)"),
        ("fail-429", 5, "(HTTP 429)"),
        ("fail-500", 1, "(HTTP 500)"),
        ("fail-503", 1, "(HTTP 503)"),
    ],
)
def test_each_error_class_has_its_exit_code_and_one_line(backend_name, model, code, needle):
    result = run_dial(["ask", "--backend", backend_name, "--retries", "0", "-m", model, "hi"])
    assert result.code == code, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("dial: ")
    assert result.stderr.count("\n") == 1
    assert needle in result.stderr


def test_unknown_deployment_suggests_dial_models(backend_name):
    code, _, err = ask(backend_name, "-m", "nope", "hi")
    assert code == 4
    assert "dial models" in err


def test_error_in_the_middle_of_the_stream_keeps_what_arrived(backend_name):
    code, out, err = ask(backend_name, "-m", "midstream", "alpha beta gamma delta")
    assert code == 1
    assert out.startswith("alpha")
    assert out.endswith("\n")
    assert err.startswith("dial: answer incomplete: server error during the answer:")
    assert err.count("\n") == 1


def test_wrong_key_exits_3(backend_name, monkeypatch):
    monkeypatch.setenv("DIAL_API_KEY", "wrong-key-0000")
    code, out, err = ask(backend_name, "-m", "echo", "hi")
    assert (code, out) == (3, "")
    assert "(HTTP 401)" in err
    assert "wrong-key-0000" not in err


def test_missing_key_names_the_variable_and_the_config_file(backend_name, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    code, _, err = ask(backend_name, "-m", "echo", "hi")
    assert code == 2
    assert "DIAL_API_KEY" in err
    assert "config.toml" in err
    assert err.count("\n") == 1


def test_connection_refused_is_a_network_error(backend_name, monkeypatch, closed_port):
    monkeypatch.setenv("DIAL_URL", f"http://127.0.0.1:{closed_port}")
    code, _, err = ask(backend_name, "--retries", "0", "-m", "echo", "hi")
    assert code == 6
    assert err.startswith("dial: cannot reach DIAL at http://127.0.0.1:")
    assert err.count("\n") == 1
