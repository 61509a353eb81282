"""Option values coerced without pydantic, for start-up time.

Typer (0.29+) turns every option value into its type through a pydantic TypeAdapter,
built on first use even when the option was not given: importing pydantic and building
the adapters costs ~60 ms per run of ``dial ask``. Here each parameter's runtime is
built lazily instead: an option that was not given needs none; plain ``str``, ``int``,
``float``, ``bool`` and ``list[str]`` values are coerced here exactly as Typer would;
anything else (a path, an out-of-range number, an odd spelling) goes to Typer's own
runtime, built on that first use, so results and error messages stay Typer's.
"""

from __future__ import annotations

import re
from typing import Any, get_args, get_origin

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_PLAIN = (str, int, float, bool)
_FALLBACK = object()


def install() -> None:
    """Make Typer build parameter runtimes lazily, with the plain fast path (idempotent)."""
    try:
        import typer.core as core
        from typer._coercion import RuntimeParam
    except ImportError:  # a Typer without runtime params: nothing to speed up
        return
    typer_build = getattr(core, "build_runtime_param", None)
    if typer_build is None or getattr(typer_build, "dial_lazy", False):
        return

    class LazyRuntimeParam(RuntimeParam):  # type: ignore[misc, valid-type]
        """Typer's runtime for one parameter, built only when a value needs it."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.plain:
                result = _plain_value(self.annotation, self.parameter_info, value)
                if result is not _FALLBACK:
                    return result
            runtime = self.__dict__.get("typer_runtime")
            if runtime is None:
                runtime = typer_build(self.descriptor)
                object.__setattr__(self, "typer_runtime", runtime)  # frozen dataclass
            return runtime._coerce_value(value, param=param, ctx=ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        runtime = LazyRuntimeParam(
            parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
        )
        object.__setattr__(runtime, "descriptor", descriptor)
        object.__setattr__(runtime, "plain", _is_plain(descriptor))
        return runtime

    build_runtime_param.dial_lazy = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param


def _is_plain(desc: Any) -> bool:
    info = desc.parameter_info
    annotation = desc.annotation
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        annotation = str
    return (
        annotation in _PLAIN
        and desc.file_annotation is None
        and getattr(info, "parser", None) is None
        and getattr(info, "click_type", None) is None
        and not getattr(info, "clamp", False)
    )


def _plain_value(annotation: Any, info: Any, value: Any) -> Any:
    """The coerced value, or ``_FALLBACK`` when Typer must decide (and word the error)."""
    if annotation is not str and get_origin(annotation) is list:  # list[str], repeatable
        if isinstance(value, list | tuple) and all(type(v) is str for v in value):
            return list(value)
        return _FALLBACK
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
