"""Imports point one way: the layers drawn in docs/architecture.md ("Layers") hold.

Every ``import`` of a ``dialcli`` module counts, also one inside a function or under
``if TYPE_CHECKING:``: a late import keeps start-up fast, it does not make a circle
any less of a circle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dialcli"
DOC = ROOT / "docs" / "architecture.md"


def documented_layers() -> dict[str, int]:
    """``{unit: layer}`` from the table under "## Layers" (unit: a module or a package)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Layers\n", 1)[1].split("\n## ", 1)[0]
    layers: dict[str, int] = {}
    for number, cells in re.findall(r"^\| (\d+) \| (.+?) \|", section, re.MULTILINE):
        for unit in re.findall(r"`([\w/]+)`", cells):
            layers[unit.rstrip("/").removesuffix(".py")] = int(number)
    return layers


def unit_of(module: str) -> str:
    """``dialcli.backends.raw`` -> ``backends``; ``dialcli.turn`` -> ``turn``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "dialcli"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every dialcli module ``path`` imports, wherever the import statement is."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            # `from dialcli import config` names a module, not an attribute
            found.update(f"{base}.{alias.name}" for alias in node.names if base == "dialcli")
    return {name for name in found if name.startswith("dialcli.")}


def cross_unit_imports() -> list[tuple[str, str, str]]:
    """(importing module, its unit, imported unit) for every import across units."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        for target in imports_of(path):
            if unit_of(target) != unit_of(module):
                edges.append((module, unit_of(module), unit_of(target)))
    return edges


def test_every_module_has_a_documented_layer() -> None:
    layers = documented_layers()
    units = {unit_of(module_name(p)) for p in PACKAGE.rglob("*.py")} - {"dialcli"}
    missing = sorted(units - set(layers))
    assert not missing, f"add {missing} to the Layers table in {DOC.name}"


def test_imports_only_point_down_the_layers() -> None:
    layers = documented_layers()
    upward = [
        f"{module} ({unit}, layer {layers.get(unit)}) imports {target} (layer {layers.get(target)})"
        for module, unit, target in cross_unit_imports()
        if target in layers and unit in layers and layers[target] >= layers[unit]
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


@pytest.mark.parametrize(("low", "high"), [("chat", "cli"), ("turn", "chat"), ("turn", "cli")])
def test_named_circles_stay_broken(low: str, high: str) -> None:
    """The circle issue 13 found (chat -> cli -> chat) and the ones a shortcut would make."""
    offenders = [m for m, unit, target in cross_unit_imports() if unit == low and target == high]
    assert not offenders, f"{low} must not import {high}: {offenders}"


def test_the_checker_sees_late_and_type_only_imports() -> None:
    """The checker itself: an import inside a function or under TYPE_CHECKING counts."""
    sample = PACKAGE / "chat" / "repl.py"
    found = imports_of(sample)
    assert "dialcli.turn" in found  # imported inside a method
    assert "dialcli.session" in found  # imported under TYPE_CHECKING
