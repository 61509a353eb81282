"""The programs a chat command hands text to: the user's editor (/edit) and the
clipboard (/copy). Both are found on PATH when the command runs, never at start."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from dialcli.errors import UsageError

# Tried in this order; the first one on PATH is used. The Wayland and X11 tools come
# first on Linux, where a desktop may have several; pbcopy is macOS's.
CLIPBOARD_TOOLS: tuple[tuple[str, ...], ...] = (
    ("wl-copy",),
    ("xclip", "-selection", "clipboard"),
    ("xsel", "--clipboard", "--input"),
    ("pbcopy",),
)
TOOL_TIMEOUT = 10.0  # a clipboard tool that hangs (no display) must not hang the chat


def copy_to_clipboard(text: str, env: Mapping[str, str] | None = None) -> str:
    """Hand ``text`` to the first clipboard tool found; its name. UsageError if none."""
    env = os.environ if env is None else env
    path = env.get("PATH", os.defpath)
    for argv in CLIPBOARD_TOOLS:
        program = shutil.which(argv[0], path=path)
        if program is None:
            continue
        try:
            done = subprocess.run(
                [program, *argv[1:]],
                input=text.encode("utf-8"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=TOOL_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise UsageError(f"{argv[0]} failed: {err}") from None
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = f": {said[-1]}" if said else ""
            raise UsageError(f"{argv[0]} failed (exit {done.returncode}){detail}")
        return argv[0]
    names = ", ".join(argv[0] for argv in CLIPBOARD_TOOLS)
    raise UsageError(f"no clipboard tool found (install one of: {names})")


def editor_command(env: Mapping[str, str] | None = None) -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split like a shell would."""
    env = os.environ if env is None else env
    chosen = env.get("VISUAL") or env.get("EDITOR") or "vi"
    try:
        argv = shlex.split(chosen)
    except ValueError:
        argv = []
    if not argv:
        raise UsageError(f"cannot run the editor {chosen!r}: set $VISUAL or $EDITOR")
    return argv


def edit_text(text: str, env: Mapping[str, str] | None = None) -> str:
    """Open ``text`` in the user's editor; what the file holds when the editor exits."""
    argv = editor_command(env)
    fd, name = tempfile.mkstemp(prefix="dial-edit-", suffix=".md")  # private: 0600
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            done = subprocess.run([*argv, name], check=False)
        except OSError as err:
            raise UsageError(
                f"cannot run the editor {argv[0]!r}: {err.strerror}; set $VISUAL or $EDITOR"
            ) from None
        if done.returncode != 0:
            raise UsageError(f"the editor exited with {done.returncode}; nothing was asked")
        return path.read_text(encoding="utf-8")
    finally:
        path.unlink(missing_ok=True)
