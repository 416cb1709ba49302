"""The step-kind catalog: built-in kinds plus third-party ones from entry points.

Each built-in family (``mlsre/steps/<family>/kinds.py``) exposes ``KINDS``, its
:class:`~mlsre.steps.base.StepKind` subclasses. Plugins register under the entry-point group
``mlsre.steps.v1``; an entry point may name a kind class, a list of them, or a module with
``KINDS``. A plugin that fails to import or breaks the contract becomes a warning, never a crash:
an on-call engineer must still be able to run the bundled runbooks. A plugin class written for
the old duck-typed contract (no ``StepKind`` base) is adapted, with a warning saying so.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mlsre.errors import NotFoundError
from mlsre.steps.base import StepKind

if TYPE_CHECKING:
    from mlsre.steps.base import StepContext, StepResult

ENTRY_POINT_GROUP = "mlsre.steps.v1"
FAMILIES = ("core", "prometheus", "model_registry", "drift", "slo", "changes", "canary")
BUILTIN_MODULES = tuple(f"mlsre.steps.{family}.kinds" for family in FAMILIES)

KindClass = type[StepKind[Any]]


@dataclass
class KindCatalog:
    kinds: dict[str, KindClass] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # kind name -> module or entry point
    warnings: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return sorted(self.kinds)

    def get(self, name: str) -> KindClass:
        try:
            return self.kinds[name]
        except KeyError:
            raise NotFoundError(
                unknown_kind_message(name, self.names()), hint="see `mlsre runbook kinds`"
            ) from None

    def instance(self, name: str) -> StepKind[Any]:
        return self.get(name)()

    def add(self, obj: Any, source: str) -> None:
        problem = contract_problem(obj)
        if problem:
            self.warnings.append(f"step kind from {source} ignored: {problem}")
            return
        cls: KindClass = obj if issubclass(obj, StepKind) else _adapt(obj)
        name = cls.name
        if name in self.kinds:
            self.warnings.append(
                f"step kind '{name}' from {source} ignored: already defined by {self.sources[name]}"
            )
            return
        if cls is not obj:
            self.warnings.append(
                f"step kind '{name}' from {source} does not subclass "
                "mlsre.steps.base.StepKind: adapted for now, please subclass it"
            )
        self.kinds[name] = cls
        self.sources[name] = source


def unknown_kind_message(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    return f"unknown step kind '{name}'{hint}"


def contract_problem(cls: Any) -> str | None:
    """Why ``cls`` is not a usable step kind (None when it is)."""
    from pydantic import BaseModel

    if not isinstance(cls, type):
        return f"{cls!r} is not a class"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        return f"{cls.__qualname__} has no `name`"
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        return f"{name}: `Params` is not a pydantic model"
    if not isinstance(getattr(cls, "mutating", None), bool):
        return f"{name}: `mutating` must be true or false"
    if issubclass(cls, StepKind):
        return f"{name}: needs `run`" if cls.run is StepKind.run else None
    if not callable(getattr(cls, "run", None)) or not callable(getattr(cls, "describe", None)):
        return f"{name}: needs `run` and `describe`"
    return None


def _adapt(legacy: Any) -> KindClass:
    """A StepKind that delegates to a class of the old duck-typed contract (name, Params,
    mutating, describe, run; optionally mutates, timeout_s, preview, confirm_free,
    sample_fields)."""

    def call(hook: str, *args: Any) -> Any:
        return getattr(legacy(), hook)(*args)

    class Adapted(StepKind[Any]):
        __doc__ = legacy.__doc__
        name = str(legacy.name)  # contract_problem checked these three
        Params = legacy.Params
        mutating = bool(legacy.mutating)
        person_in_loop = bool(getattr(legacy, "confirm_free", False))
        sample_fields = (
            frozenset(legacy.sample_fields) if hasattr(legacy, "sample_fields") else None
        )

        def mutates(self, params: Any) -> bool:
            if hasattr(legacy, "mutates"):
                return bool(call("mutates", params))
            return self.mutating

        def time_limit(self, params: Any) -> float:
            if callable(getattr(legacy, "timeout_s", None)):
                return float(call("timeout_s", params))
            return super().time_limit(params)

        def describe(self, params: Any) -> str:
            return str(call("describe", params))

        def preview(self, params: Any, ctx: StepContext) -> str | None:
            if not hasattr(legacy, "preview"):
                return None
            text = call("preview", params, ctx)
            return str(text) if text else None

        def run(self, params: Any, ctx: StepContext) -> StepResult:
            result: StepResult = call("run", params, ctx)
            return result

    Adapted.__name__ = Adapted.__qualname__ = legacy.__name__
    Adapted.__module__ = legacy.__module__
    return Adapted


def _load_builtin(catalog: KindCatalog, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        catalog.warnings.append(
            f"built-in step kinds {module_name} failed to load: {type(exc).__name__}: {exc}"
        )
        return
    for cls in getattr(module, "KINDS", []):
        catalog.add(cls, module_name)


def _load_entry_points(catalog: KindCatalog) -> None:
    from importlib.metadata import entry_points

    try:
        eps = list(entry_points(group=ENTRY_POINT_GROUP))
    except Exception as exc:
        catalog.warnings.append(f"cannot read entry points {ENTRY_POINT_GROUP}: {exc}")
        return
    for ep in eps:
        source = f"plugin {ep.name} ({ep.value})"
        try:
            obj = ep.load()
        except Exception as exc:
            catalog.warnings.append(f"{source} failed to load: {type(exc).__name__}: {exc}")
            continue
        kinds = getattr(obj, "KINDS", None)
        if kinds is None:
            kinds = obj if isinstance(obj, list | tuple) else [obj]
        for cls in kinds:
            catalog.add(cls, source)


def build_catalog(
    *, plugins: bool = True, modules: tuple[str, ...] = BUILTIN_MODULES
) -> KindCatalog:
    catalog = KindCatalog()
    for module_name in modules:
        _load_builtin(catalog, module_name)
    if plugins:
        _load_entry_points(catalog)
    return catalog


@lru_cache(maxsize=1)
def default_catalog() -> KindCatalog:
    """The process-wide catalog (built-ins and plugins), built once."""
    return build_catalog()
