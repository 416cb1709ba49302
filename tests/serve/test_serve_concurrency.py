"""Many Alertmanagers at once: 50 senders, 5,000 notifications, 500 groups -> 500 incidents."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mlsre.incident.store import IncidentFilter, open_store
from tests.support.fixtures_serve import serve_config
from tests.support.serve_load import bodies, send
from tests.support.serve_support import serving

pytestmark = pytest.mark.slow


def test_fifty_senders_five_thousand_notifications_five_hundred_groups(serve_ws: Path) -> None:
    # workers: 0 -> this server only receives; the 500 diagnoses stay queued (checked below)
    (serve_ws / "mlsre.yaml").write_text(
        serve_config(serve_ws / "marks", alerts_extra="  workers: 0\n")
    )
    work = bodies(total=5000, groups=500)
    with serving(serve_ws) as srv:
        result = send(srv.port, "t0ken", work, senders=50)
    assert result.errors == []
    assert result.statuses == {200: 5000}
    store = open_store(f"sqlite:///{serve_ws / '.mlsre' / 'mlsre.db'}")
    try:
        incidents = store.incidents(IncidentFilter())
        per_model = Counter(i.model for i in incidents)
        assert len(incidents) == 500
        assert set(per_model.values()) == {1}  # none duplicated
        assert set(per_model) == {m for m, _ in work}  # none lost
        jobs = store.jobs()
        assert len(jobs) == 500 and {j.state for j in jobs} == {"queued"}
        assert len({j.incident_id for j in jobs}) == 500
        for inc in incidents[:20]:  # the other 9 notifications of each group folded quietly
            kinds = [e.kind.value for e in store.events(inc.id)]
            assert kinds == ["opened", "alert_firing"]
    finally:
        store.close()
