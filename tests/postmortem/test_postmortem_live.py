"""End to end on real peers: a runbook run by the engine against a real Prometheus, then published.

Guards the shape the postmortem reads (STEP_RESULT data, the range series) against the engine.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.engine_support import write_runbook
from tests.support.fixtures_postmortem import make_repo
from tests.support.fixtures_servers import MODEL, PromServer
from tests.support.helpers import ok, run

pytestmark = [pytest.mark.prometheus]

P99 = (
    "histogram_quantile(0.99, sum by (le, version) "
    f'(rate(model_request_duration_seconds_bucket{{model="{MODEL}"}}[5m])))'
)


def test_engine_run_on_real_prometheus_is_charted_and_published(
    isolated: Path, prometheus_server: PromServer, tmp_path: Path
) -> None:
    repo, _origin = make_repo(tmp_path / "git")
    (isolated / "runbooks").mkdir()
    (isolated / "mlsre.yaml").write_text(
        f"prometheus: {{url: '{prometheus_server.url}', retries: 0}}\n"
        f"postmortems: {{repo: '{repo}', push: true}}\n"
    )
    write_runbook(
        isolated,
        "p99-trend",
        f"""\
        - id: p99-trend
          title: p99 by version over two hours
          uses: prometheus.range
          with: {{query: '{P99}', start: -2h, end: now, step: 1m}}
        - id: p99-now
          title: p99 now
          uses: prometheus.query
          with: {{query: '{P99}'}}
          expect: value < 0.3
        """,
    )
    t0 = prometheus_server.times.t0
    ok(
        "incident",
        "open",
        "fraud p99 up",
        "-s",
        "SEV2",
        "--model",
        MODEL,
        "--started",
        str(t0 + 60),
    )
    at = str(prometheus_server.times.after)
    r = run("runbook", "run", "p99-trend", "--incident", "INC-1", "--at", at, "--non-interactive", "--yes", "--json")  # fmt: skip
    assert r.exit_code == 1, r.output  # p99 of version 4 is over 0.3: unhealthy
    ok("incident", "resolve", "INC-1", "--resolution", "rolled back")
    r = run("postmortem", "publish", "INC-1", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["pushed"] and res["closed"]
    md = (repo / res["path"]).read_text()
    png = next(a for a in res["assets"] if a.endswith("p99-trend.png"))
    assert (repo / png).read_bytes().startswith(b"\x89PNG")
    assert "(#root-causes-and-trigger)): p99-now. Passed: p99-trend." in md
    assert "1. **`p99-now`**: expect `value < 0.3` broken by {version=4}" in md
    assert "Runbook `p99-trend`: Test runbook p99-trend" in md
    # the failing instant query is charted as a range around the incident
    p99_now = next(a for a in res["assets"] if a.endswith("p99-now.png"))
    assert (repo / p99_now).read_bytes().startswith(b"\x89PNG")
    assert "![p99-now](assets/" in md
    evidence = json.loads((repo / res["assets"][0]).read_text())
    kinds = [e["kind"] for e in evidence["events"]]
    assert kinds.count("step_result") == 2 and "resolved" in kinds
