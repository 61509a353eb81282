"""dial config: show (every setting and its source), path, set/unset, init."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")

HAND_WRITTEN = """\
# my DIAL settings
model = "echo"   # the cheap one

[aliases]
# short names
fast = "echo"
"""


def config_path() -> Path:
    return Path(os.environ["DIAL_CONFIG"])


def shown(*args: str) -> dict:
    result = run_dial(["config", "show", "--json", *args])
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_set_keeps_comments_and_other_keys_and_writes_0600(monkeypatch):
    monkeypatch.delenv("DIAL_URL")
    path = config_path()
    path.write_text(HAND_WRITTEN)
    path.chmod(0o644)
    assert run_dial(["config", "set", "url", "https://dial.example.com"]).code == 0
    assert run_dial(["config", "set", "aliases.smart", "inspect"]).code == 0
    assert run_dial(["config", "set", "timeouts.read", "300"]).code == 0
    assert path.read_text() == (
        "# my DIAL settings\n"
        'model = "echo"   # the cheap one\n'
        'url = "https://dial.example.com"\n'
        "\n[aliases]\n# short names\n"
        'fast = "echo"\nsmart = "inspect"\n'
        "\n[timeouts]\nread = 300.0\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings = shown()
    assert settings["url"] == {
        "value": "https://dial.example.com",
        "source": "file",
        "from": str(path),
    }
    assert settings["aliases.smart"]["value"] == "inspect"
    assert settings["timeouts.read"]["value"] == 300.0


def test_set_makes_a_missing_directory_0700(tmp_path, monkeypatch):
    path = tmp_path / "new" / "dir" / "config.toml"
    monkeypatch.setenv("DIAL_CONFIG", str(path))
    assert run_dial(["config", "set", "model", "echo"]).code == 0
    assert path.read_text() == 'model = "echo"\n'
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["modle", "echo"], "unknown setting 'modle': did you mean 'model'?"),
        (["retries", "many"], "invalid value for retries: expected a whole number"),
        (["retries", "11"], "11 is not between 0 and 10"),
        (["timeouts.read", "0"], "is not a finite number of seconds above 0"),
        (["url", "ftp://dial"], "invalid DIAL URL 'ftp://dial'"),
        (["backend", "curl"], "choose 'raw' or 'sdk'"),
        (["markdown", "maybe"], "expected true or false"),
        (["system_question", "perhaps"], "expected true or false"),
        (["max_prompt_tokens", "0"], "not a positive integer"),
        (["timeouts.write", "3"], "unknown setting 'timeouts.write'"),
    ],
)
def test_set_refuses_what_loading_would_refuse_and_leaves_the_file(args, message):
    config_path().write_text(HAND_WRITTEN)
    result = run_dial(["config", "set", *args])
    assert result.code == 2
    assert result.stderr.startswith("dial: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    assert config_path().read_text() == HAND_WRITTEN


def test_a_key_from_stdin_is_saved_and_never_shown(emulator):
    result = run_dial(["config", "set", "api_key", "-"], stdin="sk-from-stdin-123\n")
    assert (result.code, result.stdout, result.stderr) == (0, "", "")
    assert 'api_key = "sk-from-stdin-123"' in config_path().read_text()
    for args, tty in ((["--json"], False), ([], False), ([], True)):
        listing = run_dial(["config", "show", *args], tty=tty)
        assert listing.code == 0 and "sk-from-stdin" not in listing.stdout + listing.stderr
    # DIAL_API_KEY (set by the fixture) wins over the file, and show says so.
    assert shown()["api_key"] == {"value": "(hidden)", "source": "env", "from": "DIAL_API_KEY"}


def test_show_leaves_credentials_out_of_the_url(monkeypatch):
    monkeypatch.setenv("DIAL_URL", "https://bob:s3cret-pw@dial.example.com/base")
    result = run_dial(["config", "show"])
    assert "url\thttps://dial.example.com/base\tenv (DIAL_URL)\n" in result.stdout
    assert "s3cret-pw" not in result.stdout and "bob" not in result.stdout


def test_show_names_flag_env_file_and_default(monkeypatch):
    config_path().write_text(HAND_WRITTEN)
    monkeypatch.setenv("DIAL_MODEL", "inspect")
    settings = shown("--backend", "sdk", "--retries", "5")
    assert settings["backend"] == {"value": "sdk", "source": "flag", "from": "--backend"}
    assert settings["retries"] == {"value": 5, "source": "flag", "from": "--retries"}
    assert settings["model"] == {"value": "inspect", "source": "env", "from": "DIAL_MODEL"}
    assert settings["aliases.fast"]["source"] == "file"
    assert settings["api_version"]["source"] == "default"
    assert settings["system_question"] == {"value": True, "source": "default", "from": None}
    assert settings["timeouts.connect"] == {"value": 10.0, "source": "default", "from": None}
    assert settings["config"] == {
        "value": str(config_path()),
        "source": "env",
        "from": "DIAL_CONFIG",
    }


def test_show_is_a_table_on_a_terminal_and_lines_in_a_pipe():
    config_path().write_text(HAND_WRITTEN)
    piped = run_dial(["config", "show"]).stdout.splitlines()
    assert f"model\techo\tfile ({config_path()})" in piped
    table = run_dial(["config", "show"], tty=True).stdout.splitlines()
    assert table[0].split() == ["KEY", "VALUE", "SOURCE"]
    assert run_dial(["config"]).stdout == run_dial(["config", "show"]).stdout


def test_unset_removes_the_key_and_an_emptied_table():
    config_path().write_text(HAND_WRITTEN)
    assert run_dial(["config", "unset", "aliases.fast"]).code == 0
    assert run_dial(["config", "unset", "model"]).code == 0
    assert config_path().read_text() == "# my DIAL settings\n"
    assert shown()["model"]["source"] == "default"
    again = run_dial(["config", "unset", "model"], tty=True)
    assert again.code == 0 and "model was not set" in again.stderr


def test_set_on_a_terminal_says_when_the_environment_wins():
    result = run_dial(["config", "set", "url", "https://dial.example.com"], tty=True)
    assert result.code == 0
    assert f"url = 'https://dial.example.com' in {config_path()}" in result.stderr
    assert "DIAL_URL is set and wins over the file" in result.stderr


def test_path_prints_the_config_file():
    assert run_dial(["config", "path"]).stdout == f"{config_path()}\n"


def test_init_without_a_terminal_is_a_usage_error():
    result = run_dial(["config", "init"], stdin="http://x\nkey\n")
    assert result.code == 2 and "needs a terminal" in result.stderr
    assert not config_path().exists()


def test_init_checks_the_answers_with_one_listing_then_saves(emulator, backend_name, monkeypatch):
    monkeypatch.delenv("DIAL_URL")
    monkeypatch.delenv("DIAL_API_KEY")
    answers = f"{emulator.url}\n{emulator.api_key}\n"
    result = run_dial(["config", "init", "--backend", backend_name], stdin=answers, tty=True)
    assert result.code == 0, result.stderr
    assert "deployment(s) at" in result.stderr and emulator.api_key not in result.stderr
    # The default model (gpt-4o) is listed by the emulator: no question about it.
    saved = config_path().read_text()
    assert f'url = "{emulator.url}"' in saved and f'api_key = "{emulator.api_key}"' in saved
    assert stat.S_IMODE(config_path().stat().st_mode) == 0o600
    assert run_dial(["ask", "-m", "echo", "saved settings work"]).stdout == "saved settings work\n"


def test_init_with_a_wrong_key_saves_nothing(emulator, backend_name, monkeypatch):
    monkeypatch.delenv("DIAL_URL")
    monkeypatch.delenv("DIAL_API_KEY")
    answers = f"{emulator.url}\nwrong-key\n"
    result = run_dial(["config", "init", "--backend", backend_name], stdin=answers, tty=True)
    assert result.code == 3
    assert "nothing was saved" in result.stderr and "wrong-key" not in result.stderr
    assert not config_path().exists()


def test_init_at_a_closed_port_saves_nothing(closed_port, backend_name, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    answers = f"http://127.0.0.1:{closed_port}\nsome-key\n"
    args = ["config", "init", "--backend", backend_name, "--retries", "0"]
    result = run_dial(args, stdin=answers, tty=True)
    assert result.code == 6 and "nothing was saved" in result.stderr
    assert not config_path().exists()


def test_init_asks_for_a_model_when_the_default_is_not_listed(emulator, monkeypatch):
    monkeypatch.delenv("DIAL_URL")
    monkeypatch.delenv("DIAL_API_KEY")
    monkeypatch.setenv("DIAL_MODEL", "no-such-model")
    answers = f"{emulator.url}\n{emulator.api_key}\ninspect\n"
    result = run_dial(["config", "init"], stdin=answers, tty=True)
    assert result.code == 0, result.stderr
    assert "The default model 'no-such-model' is not among them (echo, " in result.stderr
    assert "Saved url, api_key, model in" in result.stderr
    assert "DIAL_MODEL is set in your environment and wins over the file" in result.stderr
    assert 'model = "inspect"' in config_path().read_text()


def test_init_ended_with_ctrl_d_saves_nothing(emulator, monkeypatch):
    monkeypatch.delenv("DIAL_API_KEY")
    result = run_dial(["config", "init"], stdin=f"{emulator.url}\n", tty=True)
    assert result.code == 130
    assert not config_path().exists()


def test_init_on_a_real_terminal_does_not_echo_the_key(dial_env, emulator):
    """The installed program on a pseudo-terminal: the key typed is never shown."""
    import pexpect
    from cli_harness import dial_exe

    env = {k: v for k, v in dial_env.items() if k not in ("DIAL_URL", "DIAL_API_KEY")}
    child = pexpect.spawn(dial_exe(), ["config", "init"], env=env, encoding="utf-8", timeout=20)
    child.logfile_read = transcript = io.StringIO()  # all the terminal showed
    child.expect_exact("DIAL URL [http://localhost:8080]: ")
    child.sendline(emulator.url)
    child.expect_exact("API key: ")
    child.sendline(emulator.api_key)
    child.expect_exact("Saved url, api_key in")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    shown = transcript.getvalue()
    assert emulator.url in shown  # the URL was echoed as typed: the terminal echoes
    assert emulator.api_key not in shown
    assert f'api_key = "{emulator.api_key}"' in Path(dial_env["DIAL_CONFIG"]).read_text()
