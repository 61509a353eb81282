"""The private library APIs dial uses, each behind a pinned version and a public fallback.

These tests fail when the installed library is not the one the private use was checked
against, or the fast path silently stopped taking effect; and they run the public
fallback so that a library change degrades dial (slower start-up, less -v detail)
instead of breaking every command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import RunningEmulator

from dialcli.backends.base import ChatRequest
from dialcli.config import Settings
from dialcli.errors import NotFoundError

HI = [{"role": "user", "content": "hi"}]


# -- Typer: lazy coercion (cli/coercion.py) and completion help text (completions.py) -------


def test_typer_is_the_checked_minor_version_and_both_shortcuts_take_effect() -> None:
    import typer
    from typer import _completion_classes

    from dialcli.cli.coercion import CHECKED_TYPER, install, typer_is_checked
    from dialcli.completions import prepare

    assert typer_is_checked(), f"typer {typer.__version__} is not {CHECKED_TYPER}.x"
    assert install() is True
    prepare(skip_rich=typer_is_checked())
    assert _completion_classes._sanitize_help_text("[bold]x[/bold]") == "[bold]x[/bold]"


def test_another_typer_gets_typers_own_coercion_and_commands_still_work(tmp_path: Path) -> None:
    """A Typer of another minor version: nothing private is touched; values still parse."""
    code = (
        "import sys, typer\n"
        "typer.__version__ = '0.99.0'\n"
        "from dialcli.cli.coercion import install\n"
        "assert install() is False\n"
        "from dialcli.__main__ import main\n"
        "code = main(['history', 'list', '-n', '5'])\n"
        "import typer.core\n"
        "assert not getattr(typer.core.build_runtime_param, 'dial_lazy', False)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "DIAL_HOME": str(tmp_path), "DIAL_CONFIG": str(tmp_path / "none")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")


# -- aidial-client: our httpx client inside Dial (backends/sdk.py) ---------------------------


def test_aidial_client_is_the_checked_minor_version_and_its_private_api_is_used() -> None:
    from importlib.metadata import version

    from dialcli.backends import sdk

    installed = version("aidial-client")
    assert installed.split(".")[:2] == sdk.CHECKED_AIDIAL_CLIENT.split("."), installed
    assert sdk.PRIVATE_API is not None


def test_sdk_backend_works_on_public_apis_alone(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a changed aidial-client gets: listings, details and chat still work."""
    from dialcli.backends import sdk

    monkeypatch.setattr(sdk, "PRIVATE_API", None)
    settings = Settings(
        url=emulator.url,
        api_key=emulator.api_key or "k",
        home=tmp_path,
        config_path=tmp_path / "none.toml",
        retries=0,
    )
    with sdk.SdkBackend(settings) as backend:
        assert backend._http is None  # the public path, really
        assert "echo" in [m.id for m in backend.list_models()]
        assert backend.deployment("echo")["id"] == "echo"
        text = "".join(d.text for d in backend.stream(ChatRequest(model="echo", messages=HI)))
        assert text == "hi"
        assert backend.complete(ChatRequest(model="echo", messages=HI)).content == "hi"
        with pytest.raises(NotFoundError, match="not found"):
            backend.deployment("no-such-deployment")
        # Issue 17's calls go the same public way: limits (GET) and tokenize (POST).
        assert backend.deployment_limits("priced")["minuteTokenStats"]["total"] == 10_000
        counted = backend.tokenize("priced", [{"type": "string", "value": "a b c"}])
        assert counted == [{"status": "success", "token_count": 3}]


# -- aidial-client: our httpx.AsyncClient inside AsyncDial (engine/sdk.py) -------------------


def test_the_engines_async_private_api_is_used_on_the_checked_version() -> None:
    from aidial_client._http_client import AsyncHTTPClient

    from dialcli.engine import sdk

    assert sdk.PRIVATE_ASYNC_CLIENT is AsyncHTTPClient


@pytest.mark.parametrize("private", [True, False])
def test_async_sdk_backend_sends_through_our_client_on_either_path(
    emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private: bool
) -> None:
    """A changed aidial-client gets the public path: chat still goes through our client
    (its hooks log it and tell a broken-off answer from none), with our settings."""
    import asyncio
    import io

    from dialcli.debuglog import DebugLog
    from dialcli.engine import sdk

    if not private:
        monkeypatch.setattr(sdk, "PRIVATE_ASYNC_CLIENT", None)
    settings = Settings(
        url=emulator.url,
        api_key=emulator.api_key or "k",
        home=tmp_path,
        config_path=tmp_path / "none.toml",
        retries=0,
    )
    log = io.StringIO()

    async def ask() -> tuple[str, str]:
        backend = sdk.AsyncSdkBackend(settings, DebugLog(log))
        try:
            assert (backend._http is None) is not private
            request = ChatRequest(model="echo", messages=HI)
            text = "".join([delta.text async for delta in backend.astream(request)])
            return text, (await backend.acomplete(request)).content
        finally:
            await backend.aclose()

    assert asyncio.run(ask()) == ("hi", "hi")
    sent = [line for line in log.getvalue().splitlines() if "> POST " in line]
    assert len(sent) == 2 and all("/openai/deployments/echo/chat/completions" in s for s in sent)
    assert "user-agent: dial/" in log.getvalue()
