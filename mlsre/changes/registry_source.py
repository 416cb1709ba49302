"""Changes the model registry knows: versions registered and deployed, recorded alias moves,
and the lineage (training code, params, datasets) of the live version against the one before.

Only :mod:`mlsre.integrations.mlflow` speaks MLflow; this module reads its answers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mlsre.changes.model import Change, ChangeKind, LineageDiff, LineageSide, Source
from mlsre.errors import MlsreError
from mlsre.integrations.mlflow import MlflowClient, ModelVersion
from mlsre.steps.model_registry.moves import MARKER as ROLLBACK_MARKER


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def deployed_at(v: ModelVersion) -> tuple[datetime | None, str]:
    """When a version reached production, and how we know (:meth:`ModelVersion.went_live`)."""
    live, record = v.went_live()
    if live is None:
        return None, "unknown"
    return _utc(live), "registered (no deploy tag)" if record == "created" else f"tag {record}"


def registry_changes(
    mc: MlflowClient, model: str, since: datetime, until: datetime
) -> tuple[list[Change], list[ModelVersion]]:
    """Versions registered or deployed in ``[since, until]``, and alias moves mlsre recorded."""
    versions = mc.versions(model)
    info = mc.get_model(model)
    out: list[Change] = []
    for v in versions:
        at, how = deployed_at(v)
        if at is not None and since <= at <= until:
            aliases = f" (now {', '.join(v.aliases)})" if v.aliases else ""
            verb = "deployed" if how.startswith("tag") else "registered"
            out.append(
                Change(
                    ChangeKind.MODEL,
                    Source.REGISTRY,
                    at,
                    f"{model} version {v.version} {verb}{aliases}",
                    model=model,
                    details={"version": v.version, "run_id": v.run_id, "how": how},
                )
            )
    for key, value in info.tags.items():
        if not key.startswith(ROLLBACK_MARKER):
            continue
        try:
            mark = json.loads(value)
            at = datetime.fromisoformat(str(mark["at"]))
        except (ValueError, KeyError, TypeError):
            continue
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        if since <= at <= until:
            alias = key[len(ROLLBACK_MARKER) :]
            out.append(
                Change(
                    ChangeKind.MODEL,
                    Source.REGISTRY,
                    at,
                    f"{model}@{alias} moved to version {mark.get('to')} by mlsre",
                    model=model,
                    details={"alias": alias, "to": str(mark.get("to"))},
                )
            )
    return out, versions


def serving_versions(
    versions: list[ModelVersion], live: str, previous_alias: str = "previous"
) -> ModelVersion | None:
    """The version that served before ``live``: the ``previous`` alias when it points below
    ``live``, else the newest READY version below it."""
    by_number = {v.version: v for v in versions}
    current = by_number.get(live)
    if current is None:
        return None
    for v in versions:
        if previous_alias in v.aliases and v.number < current.number:
            return v
    older = [v for v in versions if v.number < current.number and v.status == "READY"]
    return older[-1] if older else None


def _side(mc: MlflowClient, v: ModelVersion, notes: list[str]) -> LineageSide:
    side = LineageSide(v.version, run_id=v.run_id or None)
    if not v.run_id:
        notes.append(f"version {v.version} has no training run: no lineage for it")
        return side
    try:
        run = mc.run(v.run_id)
    except MlsreError as exc:
        notes.append(f"lineage of version {v.version}: {exc.message}")
        return side
    side.commit = run.tags.get("mlflow.source.git.commit") or None
    side.repo_url = run.tags.get("mlflow.source.git.repoURL") or None
    if side.commit is None:
        notes.append(f"version {v.version}'s run has no mlflow.source.git.commit tag")
    side.params = dict(run.params)
    side.datasets = [d for d in run.datasets if d.get("context") in ("", "training")]
    return side


def _dataset_text(d: dict[str, str]) -> str:
    digest = f" (digest {d['digest'][:8]}…)" if d.get("digest") else ""
    return f"{d.get('name') or d.get('source') or 'unnamed'}{digest}"


def lineage_diff(
    mc: MlflowClient, model: str, live: ModelVersion, previous: ModelVersion, notes: list[str]
) -> LineageDiff:
    a, b = _side(mc, previous, notes), _side(mc, live, notes)
    diff = LineageDiff(model, live=b, previous=a)
    old_data = {(d.get("name"), d.get("digest")) for d in a.datasets}
    new_data = {(d.get("name"), d.get("digest")) for d in b.datasets}
    if a.datasets and b.datasets and old_data != new_data:
        before = ", ".join(_dataset_text(d) for d in a.datasets)
        after = ", ".join(_dataset_text(d) for d in b.datasets)
        diff.lines.append(f"data changed: training dataset {before} -> {after}")
    if a.commit and b.commit and a.commit != b.commit:
        diff.lines.append(f"code changed: {a.commit[:7]} -> {b.commit[:7]}")
    changed = sorted(
        k for k in a.params.keys() | b.params.keys() if a.params.get(k) != b.params.get(k)
    )
    if changed:
        shown = ", ".join(
            f"{k} {a.params.get(k, '(unset)')} -> {b.params.get(k, '(unset)')}" for k in changed[:8]
        )
        more = f" (+{len(changed) - 8} more)" if len(changed) > 8 else ""
        diff.lines.append(f"params changed: {shown}{more}")
    return diff


def lineage_changes(diff: LineageDiff, at: datetime) -> list[Change]:
    """The lineage diff as changes, dated when the live version reached production."""
    out: list[Change] = []
    for line in diff.lines:
        kind = ChangeKind.DATA if line.startswith("data") else ChangeKind.CODE
        if line.startswith("params"):
            kind = ChangeKind.CONFIG
        out.append(
            Change(
                kind,
                Source.LINEAGE,
                at,
                f"version {diff.live.version} vs {diff.previous.version}: {line}",
                model=diff.model,
                details={"live": diff.live.version, "previous": diff.previous.version},
            )
        )
    return out
