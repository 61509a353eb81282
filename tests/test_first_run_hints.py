"""The first errors a newcomer meets say what to do: where the URL and the key came from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


def one_error(args: list[str]) -> tuple[int, str]:
    result = run_dial(args)
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    return result.code, result.stderr


def test_the_default_url_unreachable_says_it_is_the_default_and_how_to_set_it(
    closed_port, backend_name, monkeypatch
):
    # The default URL is ours to choose here: a closed port stands for localhost:8080.
    default = f"http://127.0.0.1:{closed_port}"
    monkeypatch.setattr("dialcli.config.DEFAULT_URL", default)
    monkeypatch.delenv("DIAL_URL")
    code, err = one_error(["models", "--backend", backend_name, "--retries", "0"])
    assert code == 6
    assert err.startswith(f"dial: cannot reach DIAL at {default}: ")
    assert f"; {default} is the default URL: set DIAL_URL, or 'url' in" in err
    assert os.environ["DIAL_CONFIG"] in err
    assert "'dial config set url URL'" in err and "'dial config init'" in err


@pytest.mark.parametrize("where", ["env", "file"])
def test_a_chosen_url_unreachable_names_where_it_came_from(
    closed_port, backend_name, monkeypatch, where
):
    url = f"http://127.0.0.1:{closed_port}"
    if where == "env":
        monkeypatch.setenv("DIAL_URL", url)
        origin = "DIAL_URL"
    else:
        monkeypatch.delenv("DIAL_URL")
        Path(os.environ["DIAL_CONFIG"]).write_text(f'url = "{url}"\n')
        origin = f"'url' in {os.environ['DIAL_CONFIG']}"
    code, err = one_error(["ask", "-m", "echo", "hi", "--backend", backend_name, "--retries", "0"])
    assert code == 6
    assert err.endswith(f" (the URL comes from {origin})\n")
    assert "is the default" not in err


@pytest.mark.parametrize("where", ["env", "file", "command"])
def test_a_401_names_where_the_key_came_from_never_the_key(backend_name, monkeypatch, where):
    wrong = "sk-wrong-key-7f3a"
    config = Path(os.environ["DIAL_CONFIG"])
    if where == "env":
        monkeypatch.setenv("DIAL_API_KEY", wrong)
        origin = "DIAL_API_KEY"
    elif where == "file":
        monkeypatch.delenv("DIAL_API_KEY")
        config.write_text(f'api_key = "{wrong}"\n')
        config.chmod(0o600)
        origin = f"'api_key' in {config}"
    else:
        monkeypatch.delenv("DIAL_API_KEY")
        config.write_text(f'api_key_command = "echo {wrong}"\n')
        origin = f"api_key_command in {config}"
    code, err = one_error(["models", "--backend", backend_name])
    assert code == 3
    assert "(HTTP 401)" in err
    assert err.endswith(
        f" (the API key came from {origin}; 'dial config show' lists every setting)\n"
    )
    assert wrong not in err


def test_a_401_with_a_token_says_the_token_was_sent(backend_name, monkeypatch):
    monkeypatch.setenv("DIAL_TOKEN", "not-the-emulators-token")
    code, err = one_error(["models", "--backend", backend_name])
    assert code == 3
    assert "(the token was sent, from DIAL_TOKEN;" in err
    assert "not-the-emulators-token" not in err


def test_other_errors_get_no_hint(backend_name):
    code, err = one_error(["ask", "-m", "fail-403", "hi", "--backend", backend_name])
    assert code == 3 and "came from" not in err and "comes from" not in err
