"""Settings: flags > environment > config.toml > defaults, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_harness import run_dial

from dialcli.config import DEFAULT_API_VERSION, resolve_settings
from dialcli.errors import UsageError


def env_with(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"DIAL_CONFIG": str(tmp_path / "config.toml"), **values}


def test_defaults_apply_when_nothing_is_set(tmp_path):
    settings = resolve_settings({}, env_with(tmp_path))
    assert settings.backend == "raw"
    assert settings.api_version == DEFAULT_API_VERSION
    assert settings.api_key is None


def test_environment_overrides_the_config_file_and_flags_override_both(tmp_path):
    (tmp_path / "config.toml").write_text(
        'url = "http://file:1"\nmodel = "from-file"\nbackend = "sdk"\napi_key = "file-key"\n'
    )
    env = env_with(tmp_path, DIAL_MODEL="from-env", DIAL_URL="http://env:2")
    settings = resolve_settings({"backend": "raw"}, env)
    assert settings.model == "from-env"
    assert settings.url == "http://env:2"
    assert settings.backend == "raw"
    assert settings.api_key == "file-key"


def test_dial_home_sets_the_data_directory(tmp_path):
    settings = resolve_settings({}, env_with(tmp_path, DIAL_HOME=str(tmp_path / "h")))
    assert settings.home == tmp_path / "h"


@pytest.mark.parametrize(
    "url", ["localhost:8080", "ftp://host", "http://", "http://host:notaport", "not a url"]
)
def test_malformed_url_is_a_usage_error_once_a_request_is_due(tmp_path, url):
    settings = resolve_settings({}, env_with(tmp_path, DIAL_URL=url, DIAL_API_KEY="k"))
    with pytest.raises(UsageError, match="invalid DIAL URL"):
        settings.for_requests()


def test_invalid_toml_names_the_file(tmp_path):
    (tmp_path / "config.toml").write_text("url = [unclosed\n")
    with pytest.raises(UsageError, match=r"invalid config file .*config.toml"):
        resolve_settings({}, env_with(tmp_path))


def test_unreadable_config_is_its_own_error(tmp_path):
    (tmp_path / "config.toml").mkdir()  # a directory cannot be read as a file, even by root
    with pytest.raises(UsageError, match="cannot read config file"):
        resolve_settings({}, env_with(tmp_path))


def test_unknown_backend_is_a_usage_error_once_a_request_is_due(tmp_path):
    settings = resolve_settings({}, env_with(tmp_path, DIAL_BACKEND="grpc", DIAL_API_KEY="k"))
    with pytest.raises(UsageError, match="unknown backend 'grpc'"):
        settings.for_requests()


@pytest.mark.parametrize(
    "env",
    [{"DIAL_URL": "notaurl"}, {"DIAL_BACKEND": "grpc"}],
    ids=["bad-url", "bad-backend"],
)
@pytest.mark.parametrize(
    ("args", "shown"),
    [(["history", "path"], "home"), (["history", "list"], ""), (["--show-completion"], "dial")],
    ids=["history-path", "history-list", "show-completion"],
)
def test_local_commands_never_fail_over_url_or_backend(monkeypatch, tmp_path, env, args, shown):
    monkeypatch.setenv("DIAL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DIAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHELL", "/bin/bash")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_dial(args)
    assert (result.code, result.stderr) == (0, "")
    assert shown in result.stdout


def test_bad_url_from_the_command_line_exits_2_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("DIAL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DIAL_URL", "localhost:8080")
    monkeypatch.setenv("DIAL_API_KEY", "k")
    result = run_dial(["ask", "hi"])
    assert result.code == 2
    assert result.stderr == (
        "dial: invalid DIAL URL 'localhost:8080' (DIAL_URL): expected http(s)://host[:port][/path]\n"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["ask", "--temperature", "3", "hi"], "--temperature"),
        (["ask", "--temperature", "warm", "hi"], "--temperature"),
        (["ask", "--max-tokens", "0", "hi"], "--max-tokens"),
        (["ask", "--max-tokens", "-5", "hi"], "--max-tokens"),
        (["ask", "--bogus"], "--bogus"),
    ],
)
def test_invalid_options_are_one_line_usage_errors(args, needle):
    result = run_dial(args)
    assert result.code == 2
    assert result.stderr.startswith("dial: ")
    assert result.stderr.count("\n") == 1
    assert needle in result.stderr
