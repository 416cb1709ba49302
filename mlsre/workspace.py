"""``mlsre init``: lay out a workspace. Never overwrites anything that is already there."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlsre.errors import UsageError

CONFIG_TEMPLATE = """\
# mlsre workspace configuration. Every key is optional; shown values are the defaults.
# Precedence: command-line flag > MLSRE_<SECTION>_<KEY> environment variable > this file > default.
# Secrets never go here: they come from the environment (MLSRE_PROMETHEUS_TOKEN,
# MLSRE_PROMETHEUS_USERNAME/PASSWORD, MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME/PASSWORD)
# and are redacted from everything mlsre writes. Relative paths are relative to this file.

prometheus:
  url: http://127.0.0.1:9090     # MLSRE_PROMETHEUS_URL
  timeout_s: 10                  # per request
  retries: 3                     # on connection errors, 408, 429 and 5xx
  # headers: {X-Scope-OrgID: ml}  # extra headers (e.g. for Thanos/Mimir)
  # verify_tls: true
  # ca_bundle: /etc/ssl/certs/internal-ca.pem

registry:
  kind: mlflow
  url: http://127.0.0.1:5000     # MLSRE_REGISTRY_URL

store:
  url: sqlite:///.mlsre/mlsre.db  # MLSRE_STORE_URL; the incident event log

postmortems:
  repo: ./postmortems            # git repository postmortems are committed to
  remote: origin
  branch: main
  push: false
  # lint_allowlist: ["failed to start"]   # phrases the blameless lint accepts

runbook_paths: [./runbooks]      # your runbooks; same id as a bundled one overrides it
slo_paths: [./slos]              # OpenSLO v1 files
"""

RUNBOOKS_README = """\
# Runbooks

Your team's runbooks (YAML, format `mlsre/v1`). A runbook here with the same `id` as a bundled
one overrides it. Start one with `mlsre runbook new my-runbook --failure-mode latency`,
check them with `mlsre runbook validate`, and see what is in force with `mlsre runbook list`.
"""

SLOS_README = """\
# SLOs

OpenSLO v1 files (`apiVersion: openslo/v1`, `kind: SLO`). See `mlsre slo list` and
`mlsre slo status`; `mlsre slo rules` generates the Prometheus rules.
"""


@dataclass
class InitReport:
    root: str
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def init_workspace(root: Path) -> InitReport:
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a folder")
    root.mkdir(parents=True, exist_ok=True)
    report = InitReport(root=str(root.resolve()))

    def write(rel: str, text: str) -> None:
        target = root / rel
        if target.exists():
            report.kept.append(rel)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        report.created.append(rel)

    write("mlsre.yaml", CONFIG_TEMPLATE)
    write("runbooks/README.md", RUNBOOKS_README)
    write("slos/README.md", SLOS_README)
    write(".gitignore", ".mlsre/\n")
    from mlsre.runbook.schema import SCHEMA_RELPATH, write_schema

    # For editors: `mlsre runbook new` points new runbooks at it with a yaml-language-server
    # comment. Generated from the installed kinds, so it lives in .mlsre/ (not committed);
    # `mlsre runbook schema -o .mlsre/runbook.schema.json` refreshes it after an upgrade.
    if (root / SCHEMA_RELPATH).exists():
        report.kept.append(str(SCHEMA_RELPATH))
    else:
        write_schema(root / SCHEMA_RELPATH)
        report.created.append(str(SCHEMA_RELPATH))
    from mlsre.integrations.git import init_repo

    if init_repo(root / "postmortems"):
        report.created.append("postmortems/ (git repository)")
    else:
        report.kept.append("postmortems/ (git repository)")
    return report
