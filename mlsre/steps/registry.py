"""The step-kind registry: built-in kinds plus third-party ones from entry points.

Built-in modules each expose ``KINDS: list[type]``. Plugins register under the entry-point group
``mlsre.steps.v1``; an entry point may name a kind class, a list of them, or a module with
``KINDS``. A plugin that fails to import or breaks the contract becomes a warning, never a crash:
an on-call engineer must still be able to run the bundled runbooks.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mlsre.errors import NotFoundError

ENTRY_POINT_GROUP = "mlsre.steps.v1"
BUILTIN_MODULES = (
    "mlsre.steps.core",
    "mlsre.steps.prometheus",
    "mlsre.steps.model_registry",
    "mlsre.steps.drift",
    "mlsre.steps.slo",
    "mlsre.steps.changes",
    "mlsre.steps.canary",
    "mlsre.steps.fallback",
)


@dataclass
class KindRegistry:
    kinds: dict[str, type] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # kind name -> module or entry point
    warnings: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        return sorted(self.kinds)

    def get(self, name: str) -> type:
        try:
            return self.kinds[name]
        except KeyError:
            raise NotFoundError(
                unknown_kind_message(name, self.names()), hint="see `mlsre runbook kinds`"
            ) from None

    def instance(self, name: str) -> Any:
        return self.get(name)()

    def add(self, cls: Any, source: str) -> None:
        problem = contract_problem(cls)
        if problem:
            self.warnings.append(f"step kind from {source} ignored: {problem}")
            return
        name = cls.name
        if name in self.kinds:
            self.warnings.append(
                f"step kind '{name}' from {source} ignored: already defined by {self.sources[name]}"
            )
            return
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
    if not callable(getattr(cls, "run", None)) or not callable(getattr(cls, "describe", None)):
        return f"{name}: needs `run` and `describe`"
    if not isinstance(getattr(cls, "mutating", None), bool):
        return f"{name}: `mutating` must be true or false"
    return None


def needs_confirm(cls: type, params: Any, phase: str) -> bool:
    """The one rule the validator and the engine share: a step needs a yes from a person (its
    `confirm`, or `--yes` unattended) when it changes a system, or when it is a mitigation of a
    kind that does not already have a person in the loop (``confirm_free``: manual, note,
    wait)."""
    if is_mutating(cls, params):
        return True
    return str(phase) == "mitigate" and not getattr(cls, "confirm_free", False)


def is_mutating(cls: type, params: Any) -> bool:
    """Does this step change a system (so needs `confirm`)? Asks the kind when it can tell."""
    mutates = getattr(cls, "mutates", None)
    if mutates is not None and params is not None:
        try:
            return bool(mutates(cls(), params))
        except Exception:  # a plugin's own bug: fall back to the safe answer
            return True
    return bool(getattr(cls, "mutating", True))


def _load_builtin(reg: KindRegistry, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # not written yet: nothing to register
            return
        reg.warnings.append(f"built-in step kinds {module_name} failed to load: {exc}")
        return
    except Exception as exc:
        reg.warnings.append(
            f"built-in step kinds {module_name} failed to load: {type(exc).__name__}: {exc}"
        )
        return
    for cls in getattr(module, "KINDS", []):
        reg.add(cls, module_name)


def _load_entry_points(reg: KindRegistry) -> None:
    from importlib.metadata import entry_points

    try:
        eps = list(entry_points(group=ENTRY_POINT_GROUP))
    except Exception as exc:
        reg.warnings.append(f"cannot read entry points {ENTRY_POINT_GROUP}: {exc}")
        return
    for ep in eps:
        source = f"plugin {ep.name} ({ep.value})"
        try:
            obj = ep.load()
        except Exception as exc:
            reg.warnings.append(f"{source} failed to load: {type(exc).__name__}: {exc}")
            continue
        kinds = getattr(obj, "KINDS", None)
        if kinds is None:
            kinds = obj if isinstance(obj, list | tuple) else [obj]
        for cls in kinds:
            reg.add(cls, source)


def build_registry(
    *, plugins: bool = True, modules: tuple[str, ...] = BUILTIN_MODULES
) -> KindRegistry:
    reg = KindRegistry()
    for module_name in modules:
        _load_builtin(reg, module_name)
    if plugins:
        _load_entry_points(reg)
    return reg


@lru_cache(maxsize=1)
def default_registry() -> KindRegistry:
    """The process-wide registry (built-ins and plugins), built once."""
    return build_registry()
