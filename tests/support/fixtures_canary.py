"""A real Prometheus holding the canary scenarios (tests/support/scenario_canary.py), once a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import scenario_canary as sc
from tests.support.fixtures_servers import backfilled_prometheus


@pytest.fixture(scope="session")
def canary_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with backfilled_prometheus(tmp_path_factory.mktemp("canary-prom"), sc.openmetrics()) as url:
        yield url
