"""The incident lifecycle through the CLI, in-process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.helpers import ok, ok_json, run

# Every test here runs on SQLite and on PostgreSQL (tests/support/fixtures_postgres.py).
pytestmark = pytest.mark.usefixtures("store_backend")


def test_whole_lifecycle_from_page_to_close(isolated: Path) -> None:
    ok("init", ".")
    opened = ok_json(
        "incident",
        "open",
        "fraud-detector p99 7x",
        "-s",
        "SEV2",
        "--model",
        "fraud-detector",
        "--started",
        "-45m",
        "--commander",
        "alice",
    )
    assert (
        opened["id"] == 1
        and opened["status"] == "open"
        and opened["roles"] == {"commander": "alice"}
    )
    ok("incident", "ack", "INC-1", "-m", "on it")
    ok("incident", "assign", "1", "bob", "--role", "scribe", "--as", "alice")
    ok("incident", "note", "inc-1", "only version 4 pods are slow")
    ok("incident", "severity", "1", "SEV1", "--reason", "all regions")
    ok("incident", "mitigate", "1", "-m", "rolled back to v3")
    ok(
        "incident",
        "action",
        "add",
        "1",
        "Canary gate on p99",
        "--type",
        "detect",
        "--owner",
        "bob",
        "--due",
        "2026-12-31",
    )
    ok("incident", "resolve", "1", "-r", "v4 rolled back")
    ok("incident", "action", "done", "1", "1")
    ok("incident", "close", "1")
    show = ok_json("incident", "show", "1")
    inc = show["incident"]
    assert inc["status"] == "closed" and inc["severity"] == "SEV1"
    assert inc["roles"] == {"commander": "alice", "scribe": "bob"}
    assert inc["actions"][0]["done"] is True and inc["actions"][0]["owner"] == "bob"
    assert show["durations"]["to_detect_s"] >= 45 * 60 - 5
    events = ok_json("incident", "timeline", "1")
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "opened",
        "acknowledged",
        "role_assigned",
        "note",
        "severity_changed",
        "mitigated",
        "action_added",
        "resolved",
        "action_done",
        "closed",
    ]
    assert [e["seq"] for e in events] == list(range(1, 11))
    assert events[2]["actor"] == "alice" and events[0]["actor"] == "tester"


def test_impossible_move_is_refused_with_the_allowed_ones(isolated: Path) -> None:
    ok("incident", "open", "x")
    ok("incident", "resolve", "1", "-r", "done")
    r = run("incident", "ack", "1")
    assert r.exit_code == 1
    assert "INC-1 is resolved; it cannot be acknowledged" in r.stderr
    assert "allowed now: reopen, close" in r.stderr
    assert "Traceback" not in r.stderr
    ok("incident", "reopen", "1", "--reason", "back")
    assert ok_json("incident", "show", "1")["incident"]["status"] == "acknowledged"


def test_list_filters_and_defaults_to_open(isolated: Path) -> None:
    ok("incident", "open", "a", "-s", "SEV1", "--model", "m1")
    ok("incident", "open", "b", "-s", "SEV3", "--model", "m2")
    ok("incident", "open", "c", "-s", "SEV2", "--model", "m1")
    ok("incident", "resolve", "3", "-r", "ok")
    assert [r["ref"] for r in ok_json("incident", "list")] == ["INC-2", "INC-1"]
    assert [r["ref"] for r in ok_json("incident", "list", "--all")] == ["INC-3", "INC-2", "INC-1"]
    assert [r["ref"] for r in ok_json("incident", "list", "--all", "--model", "m1")] == [
        "INC-3",
        "INC-1",
    ]
    assert [r["ref"] for r in ok_json("incident", "list", "-s", "SEV1")] == ["INC-1"]
    assert [r["ref"] for r in ok_json("incident", "list", "--status", "resolved")] == ["INC-3"]
    plain = ok("incident", "list").stdout.splitlines()
    assert plain[0].split("\t")[:3] == ["ID", "SEV", "STATUS"] and plain[1].startswith("INC-2\t")


def test_unknown_incident_and_bad_id_are_one_line_errors(isolated: Path) -> None:
    r = run("incident", "show", "INC-99")
    assert r.exit_code == 1 and r.stderr.startswith("error: no incident INC-99")
    r = run("incident", "show", "ninety")
    assert r.exit_code == 2 and "'ninety' is not an incident id" in r.stderr
    r = run("incident", "open", "x", "--started", "yesterday-ish")
    assert r.exit_code == 2 and "is not a time" in r.stderr


def test_bad_option_value_is_usage_error(isolated: Path) -> None:
    r = run("incident", "open", "x", "--severity", "SEV9")
    assert r.exit_code == 2


def test_stats_median_and_p90(isolated: Path) -> None:
    for minutes in (10, 20, 30):
        ok(
            "incident",
            "open",
            f"i{minutes}",
            "--started",
            f"-{minutes}m",
            "-s",
            "SEV2",
            "--model",
            "m",
        )
    for i in (1, 2, 3):
        ok("incident", "resolve", str(i), "-r", "ok")
    st = ok_json("incident", "stats", "--since", "-1d")
    resolve = st["overall"]["time_to_resolve"]
    assert resolve["count"] == 3
    assert abs(resolve["median_s"] - 20 * 60) < 30
    assert abs(resolve["p90_s"] - 28 * 60) < 30  # linear interpolation between 20m and 30m
    assert [g["group"] for g in st["by_severity"]] == ["SEV2"]


def test_export_is_the_full_event_log(isolated: Path) -> None:
    ok("incident", "open", "a")
    ok("incident", "note", "1", "hello")
    data = json.loads(ok("incident", "export").stdout)
    assert data["format"] == "mlsre-export/v1"
    assert [e["kind"] for e in data["events"]] == ["opened", "note"]
    assert data["incidents"][0]["title"] == "a"


def test_actor_falls_back_to_git_user_name(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLSRE_USER")
    subprocess.run(["git", "config", "--global", "user.name", "Grace Hopper"], check=True)
    ok("incident", "open", "a")
    assert ok_json("incident", "timeline", "1")[0]["actor"] == "Grace Hopper"
