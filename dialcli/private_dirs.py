"""Directories dial creates: mode 0700 whatever the umask, and its own ones tightened.

The data directory holds questions, answers and (in the model cache) what a key can
see: nobody else on the machine should be able to list or read it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def private_dir(path: Path, home: Path | None = None) -> None:
    """Make ``path`` exist; every directory created on the way is 0700.

    With ``home`` (the data directory, ``path`` inside it or equal to it), existing
    directories from ``home`` down to ``path`` that this user owns and that others can
    open are tightened to 0700 too. Raises OSError when a directory cannot be made.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            continue  # made meanwhile by another dial; tightened below if it is ours
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
    if home is not None:
        for directory in _from_home(path, home):
            _tighten(directory)


def _from_home(path: Path, home: Path) -> list[Path]:
    try:
        inner = path.relative_to(home)
    except ValueError:
        return [path]
    chain = [home]
    for part in inner.parts:
        chain.append(chain[-1] / part)
    return chain


def _tighten(directory: Path) -> None:
    try:
        st = os.stat(directory)
        if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(directory, 0o700)
    except OSError:
        pass  # not ours to fix (or gone): the files inside are 0600 all the same
