"""Postmortem markdown from a template, in Jinja2's sandbox (templates may come from a workspace).

The default template is ``templates/postmortem.md.j2`` (bundled); a ``templates/`` folder next to
``mlsre.yaml`` is searched first, so a team overrides it by writing a file of the same name, or
adds its own and picks it with ``--template NAME``.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from pathlib import Path
from typing import Any

from mlsre.errors import NotFoundError, ValidationError
from mlsre.paths import bundled_dir
from mlsre.postmortem.context import PostmortemContext, utc
from mlsre.timeutil import human_duration

DEFAULT_TEMPLATE = "postmortem.md.j2"
SUFFIX = ".md.j2"
BEGIN = "<!-- mlsre:begin {name} (generated: edits inside are replaced when republished) -->"
END = "<!-- mlsre:end {name} -->"
TODO = "> ✏️ **TO WRITE:**"


def template_dirs(base_dir: Path | None) -> list[Path]:
    """Where templates are looked up: the workspace's ``templates/`` first, then the bundled ones."""
    dirs = [base_dir / "templates"] if base_dir is not None else []
    return [*dirs, bundled_dir("templates")]


def available(dirs: list[Path]) -> list[str]:
    names: set[str] = set()
    for d in dirs:
        if d.is_dir():
            names.update(p.name.removesuffix(SUFFIX) for p in d.glob(f"*{SUFFIX}"))
    return sorted(names)


def render_markdown(ctx: PostmortemContext, dirs: list[Path], template: str | None = None) -> str:
    from jinja2 import TemplateNotFound, TemplateSyntaxError
    from jinja2.exceptions import SecurityError, UndefinedError

    env, name = _environment(dirs, template)
    try:
        from mlsre.template_bounds import render_bounded

        tpl = env.get_template(name)
        text = render_bounded(tpl, _namespace(ctx))
    except TemplateNotFound:
        raise NotFoundError(
            f"postmortem template '{template or DEFAULT_TEMPLATE}' not found",
            hint="available: " + ", ".join(available(dirs)) + f" (in {', '.join(map(str, dirs))})",
        ) from None
    except TemplateSyntaxError as exc:
        raise ValidationError(
            f"{exc.filename or name}:{exc.lineno}: template syntax error: {exc.message}"
        ) from None
    except (UndefinedError, SecurityError) as exc:
        raise ValidationError(f"template {name}: {exc}", hint=_where(exc)) from None
    return _tidy(text)


def _environment(dirs: list[Path], template: str | None) -> tuple[Any, str]:
    from jinja2 import FileSystemLoader, StrictUndefined

    from mlsre.template_bounds import bound_filters, bounded_sandbox

    search = [str(d) for d in dirs if d.is_dir()]
    name = DEFAULT_TEMPLATE
    if template:
        as_path = Path(template)
        if as_path.suffix and as_path.is_file():  # a template file given by path
            search.insert(0, str(as_path.resolve().parent))
            name = as_path.name
        else:
            name = template if template.endswith(SUFFIX) else template + SUFFIX
    env = bounded_sandbox(  # templates may come from a workspace: bounded, like runbooks'
        loader=FileSystemLoader(search),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        {"cell": cell, "utc": utc, "dur": human_duration, "pct": pct, "num": num, "title": _title}
    )
    env.globals.update({"begin": begin, "end": end, "TODO": TODO})
    bound_filters(env)
    return env, name


def _namespace(ctx: PostmortemContext) -> dict[str, Any]:
    fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx)}
    return {**fields, "pm": ctx}


def begin(name: str) -> str:
    return BEGIN.format(name=name)


def end(name: str) -> str:
    return END.format(name=name)


def cell(value: Any) -> str:
    """A value that is safe in one GitHub table cell: no pipes, no line breaks."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, float):
        return num(value)
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|")


def pct(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value) * 100:.{digits}f}%"


def num(value: Any) -> str:
    if value is None:
        return "n/a"
    v = float(value)
    return f"{v:.4g}" if math.isfinite(v) else str(v)


def _title(value: Any) -> str:
    return str(value).replace("-", " ").replace("_", " ").capitalize()


def _tidy(text: str) -> str:
    """At most one blank line in a row, and exactly one newline at the end."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _where(exc: Exception) -> str:
    import traceback

    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(SUFFIX) or "<template>" in frame.filename:
            return f"see {frame.filename}:{frame.lineno}"
    return "check the names the template uses against docs/postmortems.md"
