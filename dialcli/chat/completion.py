"""What Tab offers at the chat prompt: slash commands, deployments after ``/model``,
paths after ``/attach``. Pure (but for listing a folder): readline is wired up in
``lineinput.py``, the only module that imports it."""

from __future__ import annotations

import os
from collections.abc import Callable

from dialcli.chat.commands import COMMANDS

# Readline splits the line into words at these only: a path's '/' and '.', or a
# deployment id's '-' and ':', stay inside the word being completed.
WORD_BREAKS = " \t\n"


def candidates(line: str, begidx: int, text: str, models: Callable[[], list[str]]) -> list[str]:
    """Completions of ``text``, the word at ``begidx`` of ``line``; ``models`` is called
    only after ``/model`` (it may read the model cache)."""
    before = line[:begidx].split()
    if not before:
        return _commands(text) if text.startswith("/") else []
    if len(before) != 1:
        return []
    command = before[0].lower()
    if command == "/model":
        return sorted(f"{m} " for m in set(models()) if m.startswith(text))
    if command == "/attach":
        return paths(text)
    return []


def _commands(text: str) -> list[str]:
    typed = text[1:].lower()
    return [
        f"/{name} " if command.usage else f"/{name}"
        for name, command in sorted(COMMANDS.items())
        if name.startswith(typed)
    ]


def paths(text: str) -> list[str]:
    """Files and folders starting with ``text`` (``~`` allowed); a folder ends in ``/``
    so Tab can go on into it, a file in a space."""
    expanded = os.path.expanduser(text)
    folder, prefix = os.path.split(expanded)
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return []
    typed_folder = text[: len(text) - len(prefix)]  # as typed: keeps '~/' and './'
    out = []
    for name in sorted(names):
        if not name.startswith(prefix) or (name.startswith(".") and not prefix.startswith(".")):
            continue
        is_dir = os.path.isdir(os.path.join(folder, name))
        out.append(typed_folder + name + ("/" if is_dir else " "))
    return out
