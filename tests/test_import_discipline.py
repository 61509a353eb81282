"""Start-up stays cheap: what a command imports, checked in a fresh interpreter.

Not a timing test. ``dial --help`` must not load the HTTP stack or any heavy library,
and a raw ``dial ask`` must not load the vendor client, openai, rich or pydantic
(Typer would load pydantic for option values; dialcli.cli.coercion keeps it out).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import typer
from typer.main import get_command

from dialcli.cli.app import app
from dialcli.cli.coercion import install

# Runs dial's main() as the console script does, then reports what got imported.
# A None entry in sys.modules is a blocked import (httpx._main), not a loaded module.
PROBE = """
import sys
from dialcli.__main__ import main
code = main()
loaded = sorted(name for name, module in sys.modules.items() if module is not None)
sys.stderr.write("\\nMODULES " + " ".join(loaded) + "\\n")
sys.exit(code)
"""

HEAVY = {"aidial_client", "openai", "rich", "pydantic", "pydantic_core"}


def loaded_roots(args: list[str], env: dict[str, str], stdin: bytes = b"") -> tuple[bytes, set]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], input=stdin, env=env, capture_output=True, timeout=60
    )
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    modules = stderr.rsplit("MODULES ", 1)[1].split()
    return done.stdout, {name.split(".")[0] for name in modules}


def test_help_imports_no_http_stack_and_no_heavy_library(dial_env):
    out, roots = loaded_roots(["--help"], dial_env)
    assert b"Usage" in out
    assert roots & (HEAVY | {"httpx", "httpcore"}) == set()


def test_raw_ask_imports_neither_the_vendor_client_nor_rich_nor_pydantic(dial_env):
    out, roots = loaded_roots(["ask", "-m", "echo", "--backend", "raw"], dial_env, b"hi")
    assert out.strip() == b"hi"
    assert "httpx" in roots  # the probe really ran a request
    assert roots & HEAVY == set()


def test_a_single_ask_loads_neither_asyncio_nor_the_async_engine(dial_env, backend_name):
    # The async engine is for batch and several -m; one request stays synchronous.
    # (openai, under the sdk backend, imports asyncio itself: only raw can be held to it.)
    args = ["ask", "-m", "echo", "--backend", backend_name]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], input=b"hi", env=dial_env, capture_output=True
    )
    assert done.returncode == 0, done.stderr
    modules = done.stderr.decode().rsplit("MODULES ", 1)[1].split()
    assert done.stdout.strip() == b"hi"
    assert backend_name == "sdk" or "asyncio" not in modules
    assert not [name for name in modules if name.startswith(("dialcli.engine", "dialcli.batch"))]
    # Each costs start-up on every question, and is needed only when there is more to
    # say (-u, a 404's "did you mean"), or for other commands (search, models).
    elsewhere = {"usage", "usage_report", "model_cache", "store_search", "backends.model_info"}
    assert {f"dialcli.{name}" for name in elsewhere} & set(modules) == set()


def test_raw_models_imports_no_heavy_library(dial_env):
    out, roots = loaded_roots(["models", "--backend", "raw"], dial_env)
    assert b"echo" in out
    assert roots & HEAVY == set()


# -- the coercion that keeps pydantic out must agree with Typer's --------------------

SAMPLES: dict[Any, list[Any]] = {
    str: ["x", "", "-", " a b ", "é"],
    int: ["0", "1", "2", "5", "10", "11", "-1", "05", "1.0", "1e3", " 3", "x", "", "1_0"],
    float: ["0", "0.1", "0.05", "1.5", "2", "2.0", "2.5", "-0.5", ".5", "1e-1", "nan", "inf", "x"],
    bool: [True, False],
}


def _params(command: Any) -> list[Any]:
    found = [p for p in command.params if hasattr(p, "type_descriptor")]
    for sub in getattr(command, "commands", {}).values():
        found += _params(sub)
    return found


def _outcome(runtime: Any, value: Any, param: Any) -> tuple[str, Any]:
    try:
        result = runtime.coerce(value, param=param, ctx=None)
    except typer.BadParameter as err:
        return ("error", err.format_message())
    return ("ok", (type(result), result))


def _samples(param: Any) -> list[Any]:
    annotation = param.type_descriptor.annotation
    if param.multiple or param.nargs != 1:
        return [None, (), ("a",), ("a", "b c")]
    return [None, *SAMPLES.get(annotation, [])]


@pytest.mark.parametrize("param", _params(get_command(app)), ids=lambda p: p.name)
def test_fast_option_coercion_gives_typers_values_and_errors(param):
    import typer.core as core
    from typer._coercion import build_runtime_param as typer_build

    install()
    desc = param.type_descriptor
    ours, theirs = core.build_runtime_param(desc), typer_build(desc)
    for value in _samples(param):
        assert _outcome(ours, value, param) == _outcome(theirs, value, param), value
