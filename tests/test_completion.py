"""Shell completion: the committed scripts, Typer's protocol, and what Tab offers.

Completion runs ``dial`` as the shells do: a fresh process with ``_DIAL_COMPLETE`` and
the words typed so far in the environment, candidates on stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_harness import dial_exe, run_dial

from dialcli import completions, model_cache
from dialcli.conversation import Conversation, Role
from dialcli.store import Store

REPO = Path(__file__).resolve().parent.parent
CLOSED_URL = "http://127.0.0.1:9"  # discard port: nothing listens, a request would fail


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def completion_env(home: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DIAL_HOME": str(home),
        "DIAL_CONFIG": str(tmp_path / "config.toml"),
        "DIAL_URL": CLOSED_URL,
    }
    env.update(extra)
    return env


def complete(env: dict[str, str], line: str, shell: str = "bash") -> list[str]:
    """The candidates ``dial`` prints for ``line`` (the cursor at its end)."""
    full = dict(env, _DIAL_COMPLETE=f"complete_{shell}")
    if shell == "bash":
        words = line.split(" ")
        full.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    else:
        full.update(_TYPER_COMPLETE_ARGS=line, _TYPER_COMPLETE_FISH_ACTION="get-args")
    done = subprocess.run(
        [dial_exe()], env=full, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [line for line in done.stdout.splitlines() if line]


def write_cache(home: Path, models: list[str], *, url: str = CLOSED_URL, age: float = 0) -> None:
    model_cache.save(home, url, models, checked=time.time() - age)


def save_conversation(home: Path, question: str) -> str:
    conv = Conversation(model="echo")
    conv.add(Role.USER, question)
    conv.add(Role.ASSISTANT, question)
    Store(home).create(conv)
    return conv.id


# -- the scripts ---------------------------------------------------------------------------


def test_committed_completion_scripts_are_current(tmp_path):
    """Fails when completions/ is stale: run `python -m dialcli.completions` and commit."""
    written = completions.write_all(tmp_path)
    for path in written:
        committed = REPO / "completions" / path.name
        assert committed.read_text() == path.read_text(), (
            f"{committed} is stale: run `{completions.REGENERATE}`"
        )


def test_the_generator_command_writes_the_three_files(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "dialcli.completions", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=True,
    )
    names = sorted(Path(line).name for line in done.stdout.splitlines())
    assert names == ["dial.bash", "dial.fish", "dial.zsh"]


@pytest.mark.parametrize("shell", completions.SHELLS)
def test_each_script_calls_dial_back_with_the_completion_variable(shell):
    text = (REPO / "completions" / completions.FILE_NAMES[shell]).read_text()
    assert f"_DIAL_COMPLETE=complete_{shell}" in text
    if shell == "zsh":
        assert text.startswith("#compdef dial\n")


def test_show_completion_prints_the_committed_script(tmp_path, capsys):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SHELL": "/usr/bin/zsh"}
    done = subprocess.run(
        [dial_exe(), "--show-completion"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (REPO / "completions" / "dial.zsh").read_text()


def test_install_completion_for_bash_writes_the_script_and_sources_it(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    for _ in range(2):  # a second install changes nothing
        done = subprocess.run(
            [dial_exe(), "--install-completion"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    script = tmp_path / ".bash_completions" / "dial.sh"
    assert script.read_text() == (REPO / "completions" / "dial.bash").read_text()
    assert (tmp_path / ".bashrc").read_text().count(f"source '{script}'") == 1
    assert "bash completion installed in" in done.stderr
    assert done.stdout == ""


# -- through the protocol ------------------------------------------------------------------


def test_subcommands_and_options_complete(home, tmp_path):
    env = completion_env(home, tmp_path)
    assert complete(env, "dial ") == [
        "ask",
        "chat",
        "batch",
        "usage",
        "tokens",
        "models",
        "history",
        "templates",
        "config",
    ]
    assert {"--model", "--cid", "--continue"} <= set(complete(env, "dial ask --"))
    assert complete(env, "dial history sh") == ["show"]


def test_local_template_names_complete_after_dash_t(home, tmp_path):
    folder = tmp_path / "templates"
    (folder / "work").mkdir(parents=True)
    for name in ("translate.toml", "tldr.toml", "work/review.toml"):
        (folder / name).write_text('prompt = "x"\n')
    env = completion_env(home, tmp_path)  # DIAL_URL is closed: only local files are read
    assert complete(env, "dial ask -t t") == ["tldr", "translate"]
    assert complete(env, "dial chat --template w") == ["work/review"]
    assert complete(env, "dial templates show ") == ["tldr", "translate", "work/review"]


def test_model_ids_from_a_fresh_cache_complete_after_dash_m(home, tmp_path):
    write_cache(home, ["gpt-4o", "gpt-4o-mini", "claude-3"])
    env = completion_env(home, tmp_path, DIAL_API_KEY="k")  # a key, yet no request is made
    assert complete(env, "dial ask -m ") == ["gpt-4o", "gpt-4o-mini", "claude-3"]
    assert complete(env, "dial ask --model gpt-4o-") == ["gpt-4o-mini"]
    assert complete(env, "dial models show cl") == ["claude-3"]


def test_aliases_from_config_complete_with_the_models(home, tmp_path):
    write_cache(home, ["gpt-4o-mini"])
    (tmp_path / "config.toml").write_text('[aliases]\nfast = "gpt-4o-mini"\n')
    env = completion_env(home, tmp_path)
    assert complete(env, "dial ask -m ") == ["fast", "gpt-4o-mini"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_protocols_offer_models_with_alias_help(home, tmp_path, shell):
    write_cache(home, ["gpt-4o"])
    (tmp_path / "config.toml").write_text('[aliases]\nfast = "gpt-4o"\n')
    out = "\n".join(complete(completion_env(home, tmp_path), "dial ask -m ", shell))
    assert "gpt-4o" in out
    assert "alias for gpt-4o" in out


def test_conversation_ids_complete_for_history_and_cid(home, tmp_path):
    first = save_conversation(home, "first question")
    second = save_conversation(home, "second question")
    env = completion_env(home, tmp_path)
    offered = complete(env, "dial history show ")
    assert offered[0] == "last"
    assert set(offered[1:]) == {first, second}
    assert complete(env, f"dial ask --cid {first[:6]}") == [first]
    assert complete(env, f"dial history delete {second} {first[:6]}") == [first]


def test_a_cache_written_for_another_url_is_not_offered(home, tmp_path):
    write_cache(home, ["elsewhere"], url="http://other.example:8080")
    assert complete(completion_env(home, tmp_path), "dial ask -m ") == []


def test_a_stale_cache_is_offered_as_is_when_no_key_is_set(home, tmp_path):
    write_cache(home, ["old-model"], age=model_cache.TTL + 60)
    assert complete(completion_env(home, tmp_path), "dial ask -m ") == ["old-model"]


def test_a_stale_cache_is_refreshed_from_dial_when_a_key_is_set(home, tmp_path, emulator):
    write_cache(home, ["old-model"], url=emulator.url, age=model_cache.TTL + 60)
    env = completion_env(home, tmp_path, DIAL_URL=emulator.url, DIAL_API_KEY=emulator.api_key)
    offered = complete(env, "dial ask -m ")
    assert {"echo", "inspect"} <= set(offered) and "old-model" not in offered
    cached = model_cache.load(home, emulator.url)
    assert cached is not None and cached.fresh(time.time()) and "echo" in cached.models


def test_an_unreachable_dial_costs_one_short_wait_then_the_stale_list(home, tmp_path):
    # A server that accepts and never answers: the Tab press must try it once, give up
    # on its short read timeout (not retry, not wait the usual 120 s), and show the cache.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        write_cache(home, ["old-model"], url=url, age=model_cache.TTL + 60)
        env = completion_env(home, tmp_path, DIAL_URL=url, DIAL_API_KEY="k")
        assert complete(env, "dial ask -m ") == ["old-model"]
        silent.setblocking(False)
        attempts = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                silent.accept()[0].close()
                attempts += 1
    assert attempts == 1
    cached = model_cache.load(home, url)
    assert cached is not None and cached.fresh(time.time())  # the next Tab stays local


def test_api_key_command_is_never_run_on_a_tab_press(home, tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "config.toml").write_text(f'api_key_command = "touch {marker}; echo k"\n')
    write_cache(home, ["old-model"], age=model_cache.TTL + 60)
    assert complete(completion_env(home, tmp_path), "dial ask -m ") == ["old-model"]
    assert not marker.exists()


def test_a_broken_config_file_completes_nothing_and_prints_nothing(home, tmp_path):
    (tmp_path / "config.toml").write_text("url = [unclosed\n")
    assert complete(completion_env(home, tmp_path), "dial ask -m ") == []


def test_completion_with_a_fresh_cache_imports_no_httpx_click_or_rich(home, tmp_path):
    write_cache(home, ["gpt-4o"])
    env = completion_env(home, tmp_path, DIAL_API_KEY="k", _DIAL_COMPLETE="complete_zsh")
    env["_TYPER_COMPLETE_ARGS"] = "dial ask -m "
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dialcli"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "gpt-4o" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not imported & {"httpx", "click", "rich", "aidial_client", "openai", "pydantic"}


# -- dial models feeds the cache -------------------------------------------------------------


@pytest.mark.usefixtures("dial_environ")
def test_dial_models_writes_the_completion_cache(backend_name):
    result = run_dial(["models", "--backend", backend_name])
    assert result.code == 0, result.stderr
    cached = model_cache.load(Path(os.environ["DIAL_HOME"]), os.environ["DIAL_URL"])
    assert cached is not None and cached.fresh(time.time())
    assert cached.models == result.stdout.splitlines()


def test_cache_file_is_small_json_keyed_by_url(home):
    write_cache(home, ["a", "b"])
    doc = json.loads(model_cache.cache_path(home).read_text())
    assert doc["url"] == CLOSED_URL and doc["models"] == ["a", "b"] and doc["version"] == 1


# -- real shells -----------------------------------------------------------------------------


def shell_env(home: Path, tmp_path: Path) -> dict[str, str]:
    write_cache(home, ["gpt-4o", "gpt-4o-mini"])
    return completion_env(home, tmp_path, PATH=f"{Path(dial_exe()).parent}:{os.environ['PATH']}")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_offers_models_through_the_committed_script(home, tmp_path):
    script = REPO / "completions" / "dial.bash"
    probe = (
        f"source '{script}'; COMP_WORDS=(dial ask -m gpt-4o-); COMP_CWORD=3; "
        '_dial_completion dial; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", probe],
        env=shell_env(home, tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.split() == ["gpt-4o-mini"], done.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="needs fish")
def test_fish_offers_models_through_the_committed_script(home, tmp_path):
    script = REPO / "completions" / "dial.fish"
    done = subprocess.run(
        ["fish", "--no-config", "-c", f"source '{script}'; complete -C 'dial ask -m gpt-4o-'"],
        env=shell_env(home, tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.split() == ["gpt-4o-mini"], done.stderr


@pytest.mark.skipif(shutil.which("zsh") is None, reason="needs zsh")
def test_zsh_offers_models_on_the_first_tab_when_autoloaded_pty(home, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    functions = tmp_path / "zfunc"
    functions.mkdir()
    shutil.copy(REPO / "completions" / "dial.zsh", functions / "_dial")  # as installed
    zsh = pexpect.spawn(
        "zsh",
        ["-f", "-i"],
        env=shell_env(home, tmp_path),
        encoding="utf-8",
        dimensions=(24, 120),
        timeout=20,
    )
    try:
        zsh.sendline(f"fpath=({functions} $fpath); autoload -Uz compinit; compinit -u -D")
        zsh.sendline("echo READY")
        zsh.expect("READY\r\n")
        zsh.send("dial ask -m gpt-4o-\t")
        zsh.expect("gpt-4o-mini")
    finally:
        zsh.close(force=True)
