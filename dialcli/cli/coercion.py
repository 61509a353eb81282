"""Option values coerced without pydantic, for start-up time.

Typer (0.29+) turns every option value into its type through a pydantic TypeAdapter,
built on first use even when the option was not given: importing pydantic and building
the adapters costs ~60 ms per run of ``dial ask``. Here each parameter's runtime is
built lazily instead: an option that was not given needs none; simple ``str``, ``int``,
``float``, ``bool`` and ``list[str]`` values are coerced here exactly as Typer would;
anything else (a path, an out-of-range number, an odd spelling) goes to Typer's own
runtime, built on that first use, so results and error messages stay Typer's.

This reaches into Typer's private ``typer._coercion`` and ``typer.core``, so it is
pinned: pyproject allows only the minor version it was checked against
(``CHECKED_TYPER``), any other Typer gets Typer's own (slower) coercion unchanged, and
``tests/test_private_apis.py`` fails when the installed Typer is not the checked one
or the fast path stops taking effect.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, get_args, get_origin

CHECKED_TYPER = "0.29"  # the minor version whose private API this was written against

_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
_SIMPLE = (str, int, float, bool)
_FALLBACK = object()


def typer_is_checked() -> bool:
    """Whether the installed Typer is the minor version the private uses were checked on."""
    import typer

    return typer.__version__.split(".")[:2] == CHECKED_TYPER.split(".")


def install() -> bool:
    """Make Typer build parameter runtimes lazily, with the simple fast path (idempotent).

    Returns whether the fast path is in place; on any other Typer it is not, and
    Typer coerces values itself, as without dial.
    """
    if not typer_is_checked():
        return False
    try:
        import typer.core as core
        from typer._coercion import RuntimeParam
    except ImportError:  # the checked version has both: a broken install, stay public
        return False
    found: Callable[[Any], Any] | None = getattr(core, "build_runtime_param", None)
    if found is None:
        return False
    if getattr(found, "dial_lazy", False):
        return True
    typer_build: Callable[[Any], Any] = found

    class LazyRuntimeParam(RuntimeParam):
        """Typer's runtime for one parameter, built only when a value needs it."""

        # Set with object.__setattr__ below: RuntimeParam is a frozen dataclass.
        descriptor: Any
        simple: bool

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.simple:
                result = _simple_value(self.annotation, self.parameter_info, value)
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
        object.__setattr__(runtime, "simple", _is_simple(descriptor))
        return runtime

    build_runtime_param.dial_lazy = True  # type: ignore[attr-defined]
    core.build_runtime_param = build_runtime_param
    return True


def _is_simple(desc: Any) -> bool:
    info = desc.parameter_info
    annotation = desc.annotation
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        annotation = str
    return (
        annotation in _SIMPLE
        and desc.file_annotation is None
        and getattr(info, "parser", None) is None
        and getattr(info, "click_type", None) is None
        and not getattr(info, "clamp", False)
    )


def _simple_value(annotation: Any, info: Any, value: Any) -> Any:
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
