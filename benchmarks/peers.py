"""The tools a user might pick instead of dial, each in its own venv under ``.bench/``.

``llm`` talks to the benchmark server through an OpenAI-compatible model declared in
``extra-openai-models.yaml`` (in a private ``LLM_USER_PATH``) with the ``Api-Key``
header; ``sgpt`` through ``API_BASE_URL`` in a private ``~/.config/shell_gpt/.sgptrc``
(``HOME`` points at a folder under ``.bench/``, so nobody's own setup is touched).
Both call ``{base}/chat/completions`` with the model in the body.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Pinned, so that figures taken on different days compare the same tools. sgpt 1.x
# imports click, which Typer no longer depends on; install it alongside.
PINS = {"llm": ("llm", "0.36"), "sgpt": ("shell-gpt", "1.5.1")}
PACKAGES = {"llm": ["llm==0.36"], "sgpt": ["shell-gpt==1.5.1", "click"]}


@dataclass
class Peer:
    name: str
    exe: Path
    env: dict[str, str] = field(default_factory=dict)
    version: str = ""
    problem: str = ""  # why it cannot run, when it cannot

    def argv(self, model: str) -> list[str]:
        if self.name == "llm":
            return [str(self.exe), "-m", f"bench-{model}"]
        return [str(self.exe), "--no-md", "--no-cache", "--model", model]


def ensure_venv(root: Path, name: str) -> tuple[Path, str]:
    """``.bench/<name>`` with the peer installed; (executable, version) or raises."""
    venv = root / name
    exe = venv / "bin" / name
    dist, pinned = PINS[name]
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    installed = ""
    if exe.exists():
        done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True)
        installed = done.stdout.decode().strip()
    if installed != pinned:
        print(f"installing {name} into {venv} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", *PACKAGES[name]],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    return exe, version


def configure_llm(home: Path, url: str, key: str, models: list[str]) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    yaml = "".join(
        f'- model_id: bench-{model}\n  model_name: {model}\n  api_base: "{url}/v1"\n'
        f"  headers:\n    Api-Key: {key}\n"
        for model in models
    )
    (home / "extra-openai-models.yaml").write_text(yaml)
    return {"LLM_USER_PATH": str(home)}


def configure_sgpt(home: Path, url: str, key: str, models: list[str]) -> dict[str, str]:
    config = home / ".config" / "shell_gpt"
    config.mkdir(parents=True, exist_ok=True)
    (config / ".sgptrc").write_text(
        f"OPENAI_API_KEY={key}\n"
        f"API_BASE_URL={url}/v1\n"
        "DEFAULT_MODEL=echo\n"
        f"CHAT_CACHE_PATH={home / 'chat_cache'}\n"
        f"CACHE_PATH={home / 'cache'}\n"
    )
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


def prepare(root: Path, url: str, key: str, models: list[str]) -> list[Peer]:
    """Install (once) and configure llm and sgpt; a peer that fails says why."""
    peers = []
    for name, configure in (("llm", configure_llm), ("sgpt", configure_sgpt)):
        try:
            exe, version = ensure_venv(root, name)
        except (OSError, subprocess.CalledProcessError) as err:
            peers.append(Peer(name, root / name, problem=f"not installed: {err}"))
            continue
        env = configure(root / f"{name}-home", url, key, models)
        peers.append(Peer(name, exe, env, version))
    return peers
