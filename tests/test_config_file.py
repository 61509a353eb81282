"""config.toml: api_key_command, warnings for typos and for a key others can read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_harness import run_dial

from dialcli.config import config_file_warnings, read_config_file, resolve_settings
from dialcli.errors import UsageError


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("DIAL_CONFIG", str(path))
    return path


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


# -- api_key_command -----------------------------------------------------------------------


def test_api_key_command_supplies_the_first_line_of_its_output(config_file):
    write(config_file, "api_key_command = \"printf 'sk-123\\\\nuser: me\\\\n'\"\n")
    assert resolve_settings({}).require_key() == "sk-123"


def test_api_key_command_runs_only_when_a_key_is_needed(config_file, tmp_path):
    marker = tmp_path / "ran"
    write(config_file, f'api_key_command = "touch {marker}; echo k"\n')
    settings = resolve_settings({})
    assert not marker.exists()
    assert settings.with_key().api_key == "k"
    assert marker.exists()


def test_environment_key_wins_over_api_key_command(config_file, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    write(config_file, f'api_key_command = "touch {marker}; echo k"\n')
    monkeypatch.setenv("DIAL_API_KEY", "from-env")
    assert resolve_settings({}).require_key() == "from-env"
    assert not marker.exists()


def test_failing_api_key_command_is_one_line_that_hides_its_output(config_file, monkeypatch):
    write(config_file, 'api_key_command = "echo SECRET-OUT; echo SECRET-ERR >&2; exit 3"\n')
    result = run_dial(["ask", "-m", "echo", "hi"])
    assert result.code == 2
    assert result.stderr.count("\n") == 1
    assert "api_key_command" in result.stderr and "exit status 3" in result.stderr
    assert "SECRET" not in result.stderr + result.stdout


def test_api_key_command_that_prints_nothing_is_a_usage_error(config_file):
    write(config_file, 'api_key_command = "true"\n')
    with pytest.raises(UsageError, match="printed no key"):
        resolve_settings({}).require_key()


def test_api_key_command_does_not_read_dials_stdin(config_file):
    write(config_file, 'api_key_command = "cat; echo k"\n')  # cat sees /dev/null, not the prompt
    assert resolve_settings({}).require_key() == "k"


@pytest.mark.usefixtures("dial_environ")
def test_api_key_command_key_is_used_for_requests(config_file, emulator, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    write(config_file, f'api_key_command = "echo {emulator.api_key}"\n')
    result = run_dial(["ask", "-m", "echo", "--no-save", "hello"])
    assert (result.code, result.stdout) == (0, "hello\n"), result.stderr


@pytest.mark.usefixtures("dial_environ")
def test_missing_key_mentions_api_key_command(config_file, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    result = run_dial(["ask", "-m", "echo", "hi"])
    assert result.code == 2
    assert "api_key_command" in result.stderr


# -- warnings ------------------------------------------------------------------------------


def test_unknown_keys_are_named_in_one_warning_each(config_file):
    write(config_file, 'modle = "gpt-4o"\n[timeouts]\nconect = 3\nread = 5\n')
    assert config_file_warnings(read_config_file(config_file)) == [
        f"unknown key 'modle' in {config_file}",
        f"unknown key 'timeouts.conect' in {config_file}",
    ]


def test_every_documented_key_is_known(config_file):
    write(
        config_file,
        'url = "http://x:1"\napi_key = "k"\napi_key_command = "echo k"\nmodel = "m"\n'
        'backend = "raw"\napi_version = "v"\nretries = 1\nsystem = "s"\nmarkdown = true\n'
        'home = "/tmp/h"\n[timeouts]\nconnect = 1\nread = 2\n[aliases]\nfast = "m"\n',
    )
    assert config_file_warnings(read_config_file(config_file)) == []


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_key_in_a_file_others_can_read_earns_a_warning(config_file, mode):
    write(config_file, 'api_key = "k"\n', mode)
    assert config_file_warnings(read_config_file(config_file)) == [
        f"{config_file} is readable by others and holds an API key; chmod 600 {config_file}"
    ]


def test_a_readable_file_without_a_key_is_fine(config_file):
    write(config_file, 'model = "gpt-4o"\n', 0o644)
    assert config_file_warnings(read_config_file(config_file)) == []


def test_warnings_go_to_stderr_once_and_the_command_still_runs(config_file, tmp_path):
    write(config_file, 'api_key = "k"\ncolour = "no"\n', 0o644)
    result = run_dial(["history", "path"])
    assert result.code == 0
    assert result.stdout == f"{os.environ['DIAL_HOME']}/conversations\n"
    assert result.stderr.splitlines() == [
        f"dial: warning: unknown key 'colour' in {config_file}",
        f"dial: warning: {config_file} is readable by others and holds an API key; "
        f"chmod 600 {config_file}",
    ]


def test_an_unparsable_file_is_left_to_the_command_to_report(config_file):
    write(config_file, "url = [unclosed\n")
    assert config_file_warnings(read_config_file(config_file)) == []
    result = run_dial(["history", "list"])
    assert result.code == 2
    assert result.stderr.startswith("dial: invalid config file")
    assert result.stderr.count("\n") == 1


def test_no_color_option_reaches_the_io_streams():
    from dialcli.__main__ import main
    from dialcli.output import IOStreams

    streams = IOStreams.fake(tty=True)
    assert main(["--no-color", "history", "path"], streams) == 0
    assert streams.no_color and not streams.color


def test_version_prints_the_package_version(capsys):
    from dialcli import __version__

    assert run_dial(["--version"]).code == 0
    assert capsys.readouterr().out == f"dial {__version__}\n"
