"""The documentation covers what the program defines: commands, options, settings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialcli.config import CONFIG_KEYS, ENV_VARS, TIMEOUT_KEYS

DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"


def commands() -> Iterator[tuple[str, object]]:
    from typer.main import get_command

    from dialcli.cli.app import app

    def walk(path: str, command: object) -> Iterator[tuple[str, object]]:
        yield path, command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(f"{path} {name}", sub)

    yield from walk("dial", get_command(app))


def long_options() -> set[str]:
    names: set[str] = set()
    for _, command in commands():
        for param in command.params:  # type: ignore[attr-defined]
            for name in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
                if name.startswith("--"):
                    names.add(name)
    return names


@pytest.mark.parametrize("path", [path for path, _ in commands()])
def test_usage_md_describes_every_command(path):
    assert f"## {path}" in (DOCS / "usage.md").read_text().replace("### ", "## ")


@pytest.mark.parametrize("option", sorted(long_options()))
def test_usage_md_mentions_every_long_option(option):
    text = (DOCS / "usage.md").read_text()
    assert re.search(rf"`[^`]*{re.escape(option)}(?![\w-])", text), option


@pytest.mark.parametrize("key", sorted(CONFIG_KEYS | {f"timeouts.{k}" for k in TIMEOUT_KEYS}))
def test_configuration_md_documents_every_config_key(key):
    assert f"`{key}`" in (DOCS / "configuration.md").read_text()


@pytest.mark.parametrize("name", [name for name, _ in ENV_VARS])
def test_every_environment_variable_is_documented(name):
    assert f"`{name}`" in (DOCS / "configuration.md").read_text()
    assert f"`{name}`" in (DOCS / "usage.md").read_text()


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_links_between_the_docs_point_at_existing_files(page):
    # Relative links only: the pattern has no ':', so it never matches http(s) URLs.
    links = re.findall(r"\]\(([\w./-]+)(?:#[\w-]*)?\)", page.read_text())
    assert links or page.name != "README.md"
    for target in links:
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
