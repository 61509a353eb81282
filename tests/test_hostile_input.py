"""Hostile configuration and arguments: issue 14, defects 4, 6, 7, 9, 14, 15.

Each case is a usage error (exit 2, one line naming the key and where it came from),
checked through both backends; none is an internal error and none shows a key.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cli_harness import run_dial, run_installed

SECRET = "s3cret-key-0123456789"


@pytest.fixture
def at_fault_server(fault_server, dial_environ, monkeypatch):
    monkeypatch.setenv("DIAL_URL", fault_server.url)
    fault_server.reset()
    return fault_server


def config(text: str) -> Path:
    path = Path(os.environ["DIAL_CONFIG"])
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def ask(backend: str, *args: str, stdin: bytes = b""):
    return run_dial(["ask", "--backend", backend, "-m", "ok", *args, "hi"], stdin)


# -- 15: bad values in config.toml --------------------------------------------------------

BAD_CONFIG = [
    ("home = 123", "home"),
    ("api_key = 123", "api_key"),
    ('home = "~nosuchuser-dial/x"', "home"),
    ("[timeouts]\nread = nan", "timeouts.read"),
    ("[timeouts]\nread = inf", "timeouts.read"),
    ("[timeouts]\nconnect = -inf", "timeouts.connect"),
    ('[timeouts]\nread = "soon"', "timeouts.read"),
    ("retries = 1000000", "retries"),
    ("retries = -1", "retries"),
    ("retries = 2.5", "retries"),
    ("retries = true", "retries"),
    ('api_key = "ключ"', "api_key"),
    ("api_key_command = 7", "api_key_command"),
    ("url = 8080", "url"),
    ('model = ["a"]', "model"),
    ("backend = 1", "backend"),
    ("system = 5", "system"),
    ('aliases = "x"', "aliases"),
    ("aliases = { fast = 1 }", "aliases.fast"),
    ("timeouts = 3", "timeouts"),
    ("markdown = 'yes'", "markdown"),
    ("api_version = 1", "api_version"),
]


@pytest.mark.parametrize(("text", "key"), BAD_CONFIG, ids=[k for _, k in BAD_CONFIG])
def test_a_bad_value_in_config_toml_is_a_usage_error_naming_key_and_file(
    at_fault_server, backend_name, text, key
):
    path = config(text)
    result = ask(backend_name)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("dial: ") and result.stderr.count("\n") == 1
    assert f"'{key}'" in result.stderr and str(path) in result.stderr
    assert "ключ" not in result.stderr
    assert at_fault_server.hits["ok"] == 0


BAD_OPTIONS = [
    (["--timeout", "inf"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--max-tokens", "1e20"], "--max-tokens"),
    (["--max-tokens", "99999999999999999999"], "--max-tokens"),
    (["--temperature", "nan"], "--temperature"),
]


@pytest.mark.parametrize(("args", "name"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS])
def test_a_bad_option_value_is_a_usage_error_naming_the_option(
    at_fault_server, backend_name, args, name
):
    result = ask(backend_name, *args)
    assert result.code == 2, result.stderr
    assert name in result.stderr and result.stderr.count("\n") == 1
    assert at_fault_server.hits["ok"] == 0


@pytest.mark.parametrize("url", ["  {url}", "{url}\n", "\t{url}"])
def test_dial_url_with_surrounding_blanks_is_a_usage_error(
    at_fault_server, backend_name, monkeypatch, url
):
    monkeypatch.setenv("DIAL_URL", url.format(url=at_fault_server.url))
    result = ask(backend_name)
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("dial: invalid DIAL URL") and "DIAL_URL" in result.stderr


# -- 4: control characters in keys --------------------------------------------------------


@pytest.mark.parametrize(
    "key", [SECRET + "\r", SECRET + "\n", "s3cret\x1bkey-0123", SECRET + "\x7f"]
)
def test_a_key_with_control_characters_is_a_usage_error_that_never_shows_it(
    at_fault_server, backend_name, monkeypatch, key
):
    monkeypatch.setenv("DIAL_API_KEY", key)
    result = ask(backend_name)
    assert result.code == 2, result.stderr
    assert result.stderr == (
        "dial: the API key from DIAL_API_KEY contains a control character"
        " (a line ending copied from a file?); it was not sent\n"
    )
    assert at_fault_server.hits["ok"] == 0


def test_a_token_with_a_control_character_is_refused_the_same_way(
    at_fault_server, backend_name, monkeypatch
):
    monkeypatch.setenv("DIAL_TOKEN", SECRET + "\r\n")
    result = ask(backend_name)
    assert result.code == 2, result.stderr
    assert result.stderr == (
        "dial: the token from DIAL_TOKEN contains a control character"
        " (a line ending copied from a file?); it was not sent\n"
    )
    assert at_fault_server.hits["ok"] == 0


def test_a_key_from_config_with_a_control_character_names_the_file(at_fault_server, backend_name):
    path = config(f'api_key = "{SECRET}\\r"')
    result = ask(backend_name)
    assert result.code == 2
    assert str(path) in result.stderr and SECRET not in result.stderr


def test_api_key_command_output_with_crlf_is_stripped(at_fault_server, backend_name, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    config(f"api_key_command = \"printf '{SECRET}\\\\r\\\\n'\"")
    result = ask(backend_name)
    assert (result.code, result.stdout, result.stderr) == (0, "Hello world\n", "")
    assert at_fault_server.requests_for("ok")[-1].headers["api-key"] == SECRET


# -- 14: arguments that are not valid UTF-8 -------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "-m", "ok", "\udcff"],
        ["ask", "-m", "ok", "-s", "a\udcffb", "hi"],
        ["ask", "-m", "\udcff", "hi"],
        ["ask", "-m", "ok", "lone \ud800 surrogate"],
    ],
    ids=["prompt", "system", "model", "surrogate"],
)
def test_an_argument_that_is_not_utf8_is_a_usage_error(at_fault_server, backend_name, args):
    result = run_dial([args[0], "--backend", backend_name, *args[1:]])
    assert result.code == 2, result.stderr
    assert result.stderr.startswith("dial: ") and "not valid UTF-8" in result.stderr
    assert result.stderr.count("\n") == 1
    assert at_fault_server.hits["ok"] == 0


def test_an_argument_that_is_not_utf8_from_a_real_shell(dial_env, backend_name):
    done = run_installed(
        ["ask", "--backend", backend_name, b"\xff".decode("utf-8", "surrogateescape")], dial_env
    )
    assert done.returncode == 2, done.stderr
    assert b"not valid UTF-8" in done.stderr


# -- 6: directories dial creates are 0700 --------------------------------------------------


def test_models_creates_its_directories_0700_whatever_the_umask(at_fault_server, backend_name):
    home = Path(os.environ["DIAL_HOME"])
    old = os.umask(0)
    try:
        result = run_dial(["models", "--backend", backend_name])
    finally:
        os.umask(old)
    assert result.code == 0, result.stderr
    made = [home, *[p for p in home.rglob("*") if p.is_dir()]]
    assert len(made) >= 2
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in made} == {"0o700"}


def test_existing_directories_dial_owns_are_tightened(at_fault_server, backend_name):
    home = Path(os.environ["DIAL_HOME"])
    (home / "conversations").mkdir(parents=True)
    (home / "cache").mkdir()
    for p in (home, home / "conversations", home / "cache"):
        p.chmod(0o755)
    assert run_dial(["models", "--backend", backend_name]).code == 0
    assert ask(backend_name).code == 0
    for p in (home, home / "conversations", home / "cache"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700, p


# -- 7: a model name never leaves /openai/deployments/ --------------------------------------


@pytest.mark.parametrize("model", ["../../v1/bucket", "..", ".", "a/../../x", "ok/./..", "%2e%2e"])
def test_a_model_with_dot_segments_stays_under_deployments(at_fault_server, backend_name, model):
    result = run_dial(["ask", "--backend", backend_name, "--retries", "0", "-m", model, "hi"])
    paths = [r.path.split("?")[0] for r in at_fault_server.requests]
    assert all(p.startswith("/openai/deployments/") for p in paths), paths
    assert all("/../" not in p and not p.endswith("/..") for p in paths), paths
    assert result.code in (2, 4), result.stderr
    assert result.stderr.count("\n") == 1


def test_a_model_with_dot_segments_stays_under_a_url_prefix(
    at_fault_server, backend_name, monkeypatch
):
    monkeypatch.setenv("DIAL_URL", at_fault_server.url + "/prefix")
    result = run_dial(
        ["ask", "--backend", backend_name, "--retries", "0", "-m", "../../../ok", "hi"]
    )
    paths = [r.path.split("?")[0] for r in at_fault_server.requests]
    assert all(p.startswith("/prefix/openai/deployments/") for p in paths), paths
    assert result.code in (2, 4)


# -- 9: reads of user-named files are bounded ---------------------------------------------


def test_config_json_from_dev_zero_is_refused_after_the_limit(at_fault_server, backend_name):
    result = ask(backend_name, "--config-json", "@/dev/zero")
    assert result.code == 2, result.stderr
    assert "larger than" in result.stderr and result.stderr.count("\n") == 1


def test_attaching_dev_zero_is_refused_after_the_limit(at_fault_server, backend_name):
    result = ask(backend_name, "-a", "/dev/zero")
    assert result.code == 2, result.stderr
    assert "larger than" in result.stderr and result.stderr.count("\n") == 1
    assert at_fault_server.hits["ok"] == 0


def test_a_config_file_that_never_ends_is_refused_after_the_limit(at_fault_server, monkeypatch):
    monkeypatch.setenv("DIAL_CONFIG", "/dev/zero")
    result = ask("raw")
    assert result.code == 2
    assert result.stderr == "dial: cannot read config file /dev/zero: larger than 1 MiB\n"


def batch(backend: str, *args: str, stdin: bytes = b""):
    return run_dial(["batch", "--backend", backend, "-m", "ok", *args], stdin)


def test_a_batch_input_without_line_ends_is_one_failed_item_not_a_hang(
    at_fault_server, backend_name
):
    result = batch(backend_name, "--lines", "-i", "/dev/zero")
    assert (result.code, result.stderr) == (1, "dial: 1 of 1 items failed\n")
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["error"]["message"] == (
        "line 1: longer than 16 MiB; the rest of the input was not read"
    )
    assert at_fault_server.hits["ok"] == 0


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_too_long_line_ends_the_input_after_the_items_before_it(
    at_fault_server, backend_name, fmt, tmp_path
):
    long_line = b"x" * (16 * 1024 * 1024 + 1)
    if fmt == "csv":
        data = b"prompt\nfirst\n" + long_line + b"\nnever read\n"
    else:
        data = b'{"prompt": "first"}\n' + long_line + b'\n{"prompt": "never read"}\n'
    path = tmp_path / f"items.{fmt}"
    path.write_bytes(data)
    result = batch(backend_name, "-i", str(path))
    assert (result.code, result.stderr) == (1, "dial: 1 of 2 items failed\n")
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert (first["answer"], first["error"]) == ("Hello world", None)
    assert second["error"]["message"].endswith(
        "longer than 16 MiB; the rest of the input was not read"
    )
    assert at_fault_server.hits["ok"] == 1


def test_a_batch_template_file_that_never_ends_is_refused(at_fault_server, backend_name):
    result = batch(backend_name, "--lines", "--template", "@/dev/zero", stdin=b"a\n")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == "dial: template /dev/zero is larger than 16 MiB\n"
    assert at_fault_server.hits["ok"] == 0


@pytest.mark.parametrize("source", ["/dev/zero", "-"])
def test_history_import_of_an_endless_file_is_refused_after_the_limit(
    dial_environ, source, monkeypatch
):
    import dialcli.cli.history_files as history_files

    # The real limit is 512 MiB; a small one shows the same check without the memory.
    monkeypatch.setattr(history_files, "MAX_IMPORT_BYTES", 1024 * 1024)
    result = run_dial(["history", "import", source], b"[" * (2 * 1024 * 1024))
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == f"dial: {source} is larger than 1 MiB: not an export\n"
    assert not (Path(os.environ["DIAL_HOME"]) / "conversations").exists()
