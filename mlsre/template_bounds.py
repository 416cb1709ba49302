"""Bounds on what a template may allocate: Jinja2's sandbox stops attribute tricks, not ``'a'*N``.

Runbooks and postmortem templates may come from anyone's workspace. :func:`bounded_sandbox`
builds an immutable sandbox where every operation that can grow a value without limit is
checked first: repetition and power (``*``, ``**``), ``%`` formatting and ``str.format``
widths, calls and filters given a huge number (``center(10**9)``, ``ljust``), ``range`` over
many items in total, and the size of the rendered text. Exceeding one is a ``SecurityError``,
which the callers already turn into a one-line template error.

Imported only where templates are rendered (it imports jinja2).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_CHARS = 2_000_000  # any one value, and a whole rendered template
MAX_NUMBER_ARG = 100_000  # a width, count or size passed to a call or filter
MAX_RANGE_TOTAL = 1_000_000  # items produced by range() in one render
MAX_POWER_BITS = 64 * 1024
_WIDE_SPEC = re.compile(r"\d{6,}")  # a format width of a million or more

_budget = threading.local()


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple | dict) else 0


def _check_numbers(what: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_NUMBER_ARG:
            raise SecurityError(f"{what} with {arg} is refused: more than {MAX_NUMBER_ARG}")
        if isinstance(arg, str) and _WIDE_SPEC.search(arg) and ("{" in arg or "%" in arg):
            raise SecurityError(f"{what}: a format width this large is refused")


def _checked_result(what: str, value: Any) -> Any:
    if _size(value) > MAX_CHARS:
        raise SecurityError(
            f"{what} would make a value of {_size(value)} items (limit {MAX_CHARS})"
        )
    return value


# Filters whose numeric arguments size what they build.
_SIZING_FILTERS = frozenset(
    {"center", "indent", "wordwrap", "truncate", "batch", "slice", "replace", "format", "join"}
)


def _bounded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    skip = 2 if hasattr(fn, "jinja_pass_arg") else 1  # (context,) value, then the arguments
    sizing = name in _SIZING_FILTERS

    def call(*args: Any, **kwargs: Any) -> Any:
        if sizing:
            _check_numbers(f"filter {name}", args[skip:], kwargs)
        return _checked_result(f"filter {name}", fn(*args, **kwargs))

    for attr in ("jinja_pass_arg",):  # keep pass_context / pass_environment markers
        if hasattr(fn, attr):
            setattr(call, attr, getattr(fn, attr))
    return call


def _bounded_range(*args: int) -> range:
    r = range(*args)
    used = getattr(_budget, "range_items", 0) + len(r)
    _budget.range_items = used
    if used > MAX_RANGE_TOTAL:
        raise SecurityError(f"range() over {used} items in one template (limit {MAX_RANGE_TOTAL})")
    return r


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if _size(seq) and isinstance(n, int) and _size(seq) * n > MAX_CHARS:
                    raise SecurityError(
                        f"repeating a value {n} times is refused (over {MAX_CHARS} items)"
                    )
        elif (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * abs(left).bit_length() > MAX_POWER_BITS
        ):
            raise SecurityError(f"{left} ** {right} is too large a number")
        elif operator == "%" and isinstance(left, str):
            _check_numbers("% formatting", (left,), {})
            if "*" in left:  # '%*d' % (10**9, 1): the width comes from the arguments
                _check_numbers("% formatting", right if isinstance(right, tuple) else (right,), {})
        result = super().call_binop(context, operator, left, right)
        return _checked_result(f"the {operator} operator", result)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "a call")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str | bytes | list | tuple):  # 'a'.ljust(10**9), 'x'.zfill(...)
            _check_numbers(f"{name}()", args, kwargs)
            if name == "format":
                _check_numbers("str.format", (owner,), {})
        return _checked_result(f"{name}()", super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        _check_numbers("str.format", (value.__self__,), {})

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_numbers("str.format", args, kwargs)  # "{:{w}}".format(1, w=10**9)
            return str(_checked_result("str.format", wrapped(*args, **kwargs)))

        return checked


def bounded_sandbox(**options: Any) -> Any:
    """An immutable sandbox with the bounds above; filters added later are wrapped by
    :func:`bound_filters` (call it after ``env.filters.update``)."""
    env = BoundedSandbox(**options)
    env.globals["range"] = _bounded_range
    bound_filters(env)
    return env


def bound_filters(env: Any) -> None:
    for name, fn in list(env.filters.items()):
        if not getattr(fn, "_mlsre_bounded", False):
            wrapped = _bounded_filter(name, fn)
            wrapped._mlsre_bounded = True  # type: ignore[attr-defined]
            env.filters[name] = wrapped


def render_bounded(template: Any, context: Any) -> str:
    """Render with the range budget reset and the output's size capped as it is produced."""
    _budget.range_items = 0
    parts: list[str] = []
    size = 0
    chunks: Iterator[str] = template.generate(context)
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_CHARS:
            raise SecurityError(f"the rendered text passes {MAX_CHARS} characters")
        parts.append(chunk)
    return "".join(parts)
