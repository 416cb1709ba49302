"""What every readiness item may use: settings, clients, caches shared across models and items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mlsre.errors import MlsreError
from mlsre.preflight.diagnose import Memo, Metadata
from mlsre.readiness.report import ItemStatus
from mlsre.runbook.model import Runbook


@dataclass
class Context:
    """What every item may use; servers are asked once per key for all models and items."""

    settings: Any
    at: datetime
    runbooks: list[Runbook]
    overrides: dict[str, str] = field(default_factory=dict)
    transport: Any = None
    memo: Memo = field(default_factory=Memo)
    meta: Metadata | None = None

    def __post_init__(self) -> None:
        self.meta = Metadata(self.prometheus(), self.at)

    def prometheus(self) -> Any:
        from mlsre.integrations.prometheus import PrometheusClient

        return PrometheusClient(self.settings.prometheus, self.transport)

    def mlflow(self) -> Any:
        from mlsre.integrations.mlflow import MlflowClient

        return MlflowClient(self.settings.registry, self.transport)

    def input(self, name: str) -> str:
        """An input's value: the override, else its default in the first runbook declaring it."""
        if name in self.overrides:
            return self.overrides[name]
        for rb in self.runbooks:
            spec = rb.input_specs().get(name)
            if spec is not None and isinstance(spec.default, str) and spec.default:
                return spec.default
        return name

    def rules(self) -> list[dict[str, Any]]:
        groups = self.memo.get(("rules",), lambda: self.prometheus().rules())
        return [r for g in groups for r in g.get("rules") or [] if isinstance(r, dict)]

    def slos(self) -> list[Any]:
        from mlsre.slo.status import load_workspace_slos

        return self.memo.get(("slos",), lambda: load_workspace_slos(self.settings))


def unknown(exc: MlsreError, what: str) -> tuple[ItemStatus, str]:
    return ItemStatus.UNKNOWN, f"could not ask {what}: {exc.message}"
