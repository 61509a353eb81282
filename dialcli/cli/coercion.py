"""Option values coerced without pydantic, for start-up time.

Typer (0.29+) turns every option value into its type through a pydantic TypeAdapter,
built on first use even when the option was not given: importing pydantic and building
the adapters costs ~60 ms per run of ``dial ask``. Our options are plain ``str``,
``int``, ``float`` and ``bool`` values; this coerces those the same way, and hands
anything else (an out-of-range number, an odd spelling) to Typer's own adapter, so
results and error messages stay exactly Typer's.
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_PLAIN = (str, int, float, bool)


def install() -> None:
    """Route Typer's coercion of plain parameters here (idempotent)."""
    try:
        import typer.core as core
        from typer._coercion import RuntimeParam, TypeDescriptor
    except ImportError:  # a Typer without runtime params: nothing to speed up
        return
    typer_build = getattr(core, "build_runtime_param", None)
    if typer_build is None or getattr(typer_build, "dial_plain", False):
        return

    class PlainRuntimeParam(RuntimeParam):  # type: ignore[misc, valid-type]
        """str/int/float/bool as Typer would coerce them; anything else goes to Typer."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            result = _plain_value(self.annotation, self.parameter_info, value)
            if result is not _FALLBACK:
                return result
            typer_param = typer_build(TypeDescriptor(self.annotation, self.parameter_info, None))
            return typer_param._coerce_value(value, param=param, ctx=ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        if _is_plain(descriptor):
            return PlainRuntimeParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )
        return typer_build(descriptor)

    build_runtime_param.dial_plain = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param


def _is_plain(desc: Any) -> bool:
    info = desc.parameter_info
    return (
        desc.annotation in _PLAIN
        and desc.file_annotation is None
        and getattr(info, "parser", None) is None
        and getattr(info, "click_type", None) is None
        and not getattr(info, "clamp", False)
    )


_FALLBACK = object()


def _plain_value(annotation: type, info: Any, value: Any) -> Any:
    """The coerced value, or ``_FALLBACK`` when Typer must decide (and word the error)."""
    kind = type(value)
    if kind is annotation:
        number = value
    elif kind is not str:
        return _FALLBACK
    elif annotation is int and _INT.fullmatch(value):
        number = int(value)
    elif annotation is float and _FLOAT.fullmatch(value):
        number = float(value)
    else:
        return _FALLBACK
    if annotation is int or annotation is float:
        if info.min is not None and number < info.min:
            return _FALLBACK
        if info.max is not None and number > info.max:
            return _FALLBACK
    return number
