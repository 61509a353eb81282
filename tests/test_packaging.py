"""The wheel, as a user gets it: built, installed into a fresh venv, and run.

This is the CI packaging step: ``python -m build`` makes the wheel from a clean copy
of the sources, ``pip`` installs it into a new virtual environment (dependencies come
from PyPI), where ``dial-emulator`` must say how to get the ``emulator`` extra; with the
extra added, the installed ``dial`` must print its version and run the README's
emulator demo. It takes about a minute; set
``SKIP_PACKAGING=1`` to leave it out of a quick local run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from dialcli import __version__

REPO = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bool(os.environ.get("SKIP_PACKAGING")), reason="SKIP_PACKAGING is set"),
    pytest.mark.timeout(900),
]


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A copy, so that setuptools' build/ and egg-info never land in (or come from) the
    # working tree.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "dialcli", source / "dialcli", ignore=shutil.ignore_patterns("__pycache__")
    )
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(source)])
    (built,) = dist.glob("dialcli-*.whl")
    return built


def test_the_wheel_is_named_for_the_version_and_ships_py_typed(wheel):
    assert wheel.name.startswith(f"dialcli-{__version__}-py3-none-any")
    names = zipfile.ZipFile(wheel).namelist()
    assert "dialcli/py.typed" in names
    assert "dialcli/emulator/demo.py" in names
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "dial = dialcli.__main__:main" in text
    assert "dial-emulator = dialcli.emulator.__main__:main" in text
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    fields = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: Apache-2.0" in fields
    assert "Requires-Dist: rich" in fields and "Requires-Dist: aidial-client" in fields
    assert "Requires-Dist: fastapi" in fields and "Classifier: Typing :: Typed" in fields
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_wheel_installs_into_a_fresh_venv_and_runs_the_demo(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    clean = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "DIAL_CONFIG": str(tmp_path / "none.toml"),
    }
    run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)])
    version = run([str(bin_dir / "dial"), "--version"], env=clean)
    assert version.stdout == f"dial {__version__}\n"
    bare = subprocess.run(
        [str(bin_dir / "dial-emulator"), "--port", "0"], capture_output=True, text=True, env=clean
    )
    assert (bare.returncode, bare.stdout) == (2, "")
    assert bare.stderr.count("\n") == 1 and "'emulator' extra" in bare.stderr, bare.stderr

    run([str(bin_dir / "python"), "-m", "pip", "install", "-q", f"{wheel}[emulator]"])

    demo = run([str(bin_dir / "python"), "-m", "dialcli.emulator.demo"], env=clean, cwd=tmp_path)
    assert "Hello, DIAL" in demo.stdout
    assert "\necho\n" in demo.stdout  # `dial models`, piped: one id per line

    # The installed package is the wheel's, not this checkout.
    where = run(
        [str(bin_dir / "python"), "-c", "import dialcli; print(dialcli.__file__)"],
        env=clean,
        cwd=tmp_path,
    )
    assert str(env_dir) in where.stdout
