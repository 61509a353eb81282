"""`dial models` against the emulator, on both backends."""

from __future__ import annotations

import json

import pytest
from cli_harness import run_dial

pytestmark = pytest.mark.usefixtures("dial_environ")


def test_piped_output_is_one_id_per_line(backend_name):
    result = run_dial(["models", "--backend", backend_name])
    assert result.code == 0, result.stderr
    ids = result.stdout.splitlines()
    assert {"echo", "slow", "long", "inspect"} <= set(ids)
    assert all(line == line.strip() and " " not in line for line in ids)


def test_terminal_output_is_an_aligned_table_with_descriptions(backend_name, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    result = run_dial(["models", "--backend", backend_name], tty=True)
    assert result.code == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "DESCRIPTION"]
    echo = next(row for row in rows if row.startswith("echo "))
    assert echo.split(None, 2) == ["echo", "Echo", "Streams your last message back, word by word."]
    flaky = next(row for row in rows if row.startswith("flaky "))
    assert flaky.endswith("Fails the first K requests per prompt ('fail K: ...').")
    gpt = next(row for row in rows if row.startswith("gpt-4o "))
    assert "Alias of echo, a name the docs use." in gpt
    name_column = header.index("NAME")
    assert all(row[name_column - 2 : name_column] == "  " for row in rows)


def test_json_output_has_the_full_objects(backend_name):
    result = run_dial(["models", "--backend", backend_name, "--json"])
    assert result.code == 0, result.stderr
    models = json.loads(result.stdout)
    echo = next(m for m in models if m["id"] == "echo")
    assert echo["display_name"] == "Echo"
    assert echo["capabilities"]["chat_completion"] is True


def test_piped_and_json_listings_name_the_same_models(backend_name):
    ids = run_dial(["models", "--backend", backend_name]).stdout.splitlines()
    listed = json.loads(run_dial(["models", "--backend", backend_name, "--json"]).stdout)
    assert ids == [m["id"] for m in listed]


def test_wrong_key_exits_3(backend_name, monkeypatch):
    monkeypatch.setenv("DIAL_API_KEY", "not-the-key")
    result = run_dial(["models", "--backend", backend_name])
    assert result.code == 3
    assert result.stderr.startswith("dial: ") and result.stderr.count("\n") == 1


# -- aliases from config.toml ----------------------------------------------------------------


@pytest.fixture
def aliases(dial_environ, tmp_path, monkeypatch):
    config = tmp_path / "aliases.toml"
    config.write_text('[aliases]\nfast = "echo"\nghost = "not-deployed"\n')
    monkeypatch.setenv("DIAL_CONFIG", str(config))


@pytest.mark.usefixtures("aliases")
def test_terminal_listing_shows_the_aliases_under_the_table():
    result = run_dial(["models"], tty=True)
    assert result.code == 0, result.stderr
    assert result.stdout.endswith(
        "\nAliases (config.toml):\n  fast  -> echo\n  ghost -> not-deployed  (not listed)\n"
    )


@pytest.mark.usefixtures("aliases")
def test_a_long_description_is_cut_to_the_terminal_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    result = run_dial(["models"], tty=True)
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) == 60
    assert any(line.endswith("…") for line in lines)


def test_piped_listing_stays_one_id_per_line_with_aliases():
    result = run_dial(["models"])
    assert result.code == 0, result.stderr
    assert "fast" not in result.stdout and "Aliases" not in result.stdout


@pytest.mark.usefixtures("aliases")
def test_models_show_takes_an_alias():
    result = run_dial(["models", "show", "fast", "--json"])
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "echo"
