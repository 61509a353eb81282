"""Live stage progress on stderr while an application answers."""

from __future__ import annotations

from typing import Any, TextIO

from dialcli.backends.base import Delta, merge_custom_content
from dialcli.render import stage_mark
from dialcli.sanitize import for_terminal, one_line


class StageReporter:
    """Prints each stage's name when it opens, its mark when it closes; content in full mode."""

    def __init__(self, stream: TextIO, mode: str = "names") -> None:
        self._stream = stream
        self._mode = mode
        self._stages: dict[str, Any] = {}
        self._announced: set[int] = set()
        self._closed: set[int] = set()
        self._mid_line: int | None = None  # the stage whose content is being written

    def __call__(self, delta: Delta) -> None:
        if self._mode == "none" or not delta.custom_content:
            return
        updates = delta.custom_content.get("stages")
        if not isinstance(updates, list) or not updates:
            return
        merge_custom_content(self._stages, {"stages": updates})
        stages = self._stages.get("stages")
        if not isinstance(stages, list):
            return
        for update in updates:
            index = update.get("index", 0) if isinstance(update, dict) else None
            if type(index) is not int or not 0 <= index < len(stages):
                continue  # a shape DIAL never sends: nothing sensible to show
            stage = stages[index] if isinstance(stages[index], dict) else {}
            name = one_line(str(stage.get("name") or f"stage {index + 1}"))
            if index not in self._announced and stage.get("name"):
                self._announced.add(index)
                self._write(f"▸ {name}")
            if self._mode == "full" and update.get("content"):
                self._content(index, for_terminal(str(update["content"])))
            status = stage.get("status")
            if status and index not in self._closed:
                self._closed.add(index)
                self._write(
                    f"{'✓' if status == 'completed' else '✗'} {name} ({stage_mark(status)})"
                )

    def _content(self, index: int, text: str) -> None:
        """Stage content streams inline, indented, as it arrives."""
        if self._mid_line not in (None, index):
            self._stream.write("\n")
        if self._mid_line != index:
            self._stream.write("  ")
        self._stream.write(text.replace("\n", "\n  "))
        self._stream.flush()
        self._mid_line = index

    def _write(self, line: str) -> None:
        if self._mid_line is not None:
            self._stream.write("\n")
            self._mid_line = None
        self._stream.write(line + "\n")
        self._stream.flush()
