"""Templates and expressions in runbooks: Jinja2 in an immutable sandbox, never ``eval``.

Values (inputs, step outputs) are data, never templates: a value that looks like ``{{ ... }}``
is inserted literally, and nothing rendered here is ever handed to a shell.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from mlsre.errors import ValidationError
from mlsre.timeutil import UNIT_SECONDS


class TemplateError(ValidationError):
    """A template or expression that cannot be rendered (undefined name, refused access...)."""


def _duration(seconds: Any) -> str:
    """Seconds (or a timedelta) as a Prometheus duration: 5400 -> '1h30m'."""
    s = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
    s = round(s)
    if s <= 0:
        return "0s"
    out = ""
    for unit in "dhms":
        n, s = divmod(s, int(UNIT_SECONDS[unit]))
        if n:
            out += f"{n}{unit}"
    return out


def _percent(value: Any, digits: int = 1) -> str:
    v = float(value)
    return "n/a" if math.isnan(v) else f"{v * 100:.{digits}f}%"


def _ago(value: Any, now: datetime | None = None) -> str:
    from mlsre.timeutil import human_duration, utcnow

    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        return str(value)
    return human_duration(((now or utcnow()) - value).total_seconds()) + " ago"


_ENV: Any = None


def environment() -> Any:
    global _ENV
    if _ENV is None:
        from jinja2 import StrictUndefined

        from mlsre.integrations.prometheus import promql_escape
        from mlsre.template_bounds import bound_filters, bounded_sandbox

        env = bounded_sandbox(undefined=StrictUndefined, autoescape=False)
        env.filters.update(
            {
                "duration": _duration,
                "promql_escape": promql_escape,
                "percent": _percent,
                "ago": _ago,
            }
        )
        bound_filters(env)
        _ENV = env
    return _ENV


def _explain(exc: Exception, what: str) -> TemplateError:
    from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError

    if isinstance(exc, SecurityError):
        return TemplateError(f"{what}: refused by the sandbox: {exc}")
    if isinstance(exc, UndefinedError):
        return TemplateError(f"{what}: {exc.message}")
    if isinstance(exc, TemplateSyntaxError):
        return TemplateError(f"{what}: syntax error: {exc.message}")
    return TemplateError(f"{what}: {type(exc).__name__}: {exc}")


def is_template(value: str) -> bool:
    return "{{" in value or "{%" in value


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Any:
    return environment().from_string(text)


@lru_cache(maxsize=4096)
def _compiled_expression(text: str) -> Any:
    return environment().compile_expression(text, undefined_to_none=False)


def render(text: str, context: dict[str, Any], *, what: str = "template") -> str:
    if not is_template(text):
        return text
    from mlsre.template_bounds import render_bounded

    try:
        return render_bounded(_compiled(text), context)
    except Exception as exc:  # every Jinja2 failure becomes one located line
        raise _explain(exc, f"{what} '{_short(text)}'") from None


def render_value(value: Any, context: dict[str, Any], *, what: str = "with") -> Any:
    """Render every string inside ``value`` (dicts and lists walked), leaving other types alone."""
    if isinstance(value, str):
        return render(value, context, what=what)
    if isinstance(value, dict):
        return {k: render_value(v, context, what=f"{what}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context, what=f"{what}[{i}]") for i, v in enumerate(value)]
    return value


def evaluate(expression: str | bool, context: dict[str, Any], *, what: str = "expression") -> Any:
    """Evaluate a bare expression such as ``value < 0.3`` or ``steps['p99'].failed``."""
    if isinstance(expression, bool):
        return expression
    text = expression.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    try:
        return _compiled_expression(text)(**context)
    except Exception as exc:
        raise _explain(exc, f"{what} '{_short(text)}'") from None


def truthy(value: Any) -> bool:
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        return False
    return bool(value)


def _short(text: str, limit: int = 80) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def check_samples(
    expect: str, samples: list[dict[str, Any]], context: dict[str, Any], output: Any = None
) -> list[dict[str, Any]]:
    """The samples that break ``expect`` (raises TemplateError when it cannot be evaluated)."""
    broken = []
    for sample in samples:
        ns = {**context, **sample, "sample": sample, "output": output}
        if not truthy(evaluate(expect, ns, what="expect")):
            broken.append(sample)
    return broken
