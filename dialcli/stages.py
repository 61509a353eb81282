"""Live stage progress on stderr while an application answers."""

from __future__ import annotations

from typing import Any, TextIO

from dialcli.backends.base import Delta, merge_custom_content
from dialcli.render import stage_mark

MODES = ("none", "names", "full")


class StageReporter:
    """Prints each stage's name when it opens, its mark when it closes; content in full mode."""

    def __init__(self, stream: TextIO, mode: str = "names") -> None:
        self._stream = stream
        self._mode = mode
        self._stages: dict[str, Any] = {}
        self._announced: set[int] = set()
        self._closed: set[int] = set()

    def __call__(self, delta: Delta) -> None:
        if self._mode == "none" or not delta.custom_content:
            return
        updates = delta.custom_content.get("stages")
        if not updates:
            return
        merge_custom_content(self._stages, {"stages": updates})
        stages = self._stages["stages"]
        for update in updates:
            index = update.get("index", 0)
            stage = stages[index] if index < len(stages) else {}
            name = stage.get("name") or f"stage {index + 1}"
            if index not in self._announced and stage.get("name"):
                self._announced.add(index)
                self._write(f"▸ {name}")
            if self._mode == "full" and update.get("content"):
                self._write("  " + str(update["content"]).replace("\n", "\n  "))
            status = stage.get("status")
            if status and index not in self._closed:
                self._closed.add(index)
                self._write(
                    f"{'✓' if status == 'completed' else '✗'} {name} ({stage_mark(status)})"
                )

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
        self._stream.flush()
