"""Paging and escalation through the outbox, against receivers of our own that validate the
documented PagerDuty Events v2 and Slack payloads: order, dedup keys, retries, Retry-After,
endpoints that are down, a worker killed mid-send, and escalation with compressed waits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlsre.notify.channels.webhook import verify
from tests.support.faulty_server import refused_url
from tests.support.helpers import ok, ok_json, run
from tests.support.notify_receivers import Receiver

pytestmark = pytest.mark.usefixtures("store_backend")  # the outbox on SQLite and PostgreSQL

PD_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 characters, like a real integration key
LEADS_KEY = "LEADSKEY0123456789abcdefABCDEF01"
SECRET = "whsec-test-secret"


def _config(
    rec_url: str, slack_url: str, waits: tuple[str, str] = ("1h", "1h"), repeat: int = 0
) -> str:
    return f"""\
notify:
  backoff_s: 0.2
  lease_s: 1
  channels:
    oncall-pd: {{type: pagerduty, routing_key_env: MLSRE_PD_ROUTING_KEY, url: "{rec_url}/pagerduty"}}
    leads-pd: {{type: pagerduty, routing_key_env: MLSRE_PD_LEADS_KEY, url: "{rec_url}/pagerduty"}}
    ml-slack: {{type: slack, webhook_url_env: MLSRE_SLACK_WEBHOOK_URL}}
    audit: {{type: webhook, url: "{rec_url}/hook", secret_env: MLSRE_WEBHOOK_SECRET}}
escalation:
  policies:
    - name: ml-critical
      match: {{severity: [SEV1, SEV2]}}
      levels:
        - {{notify: [oncall-pd, ml-slack, audit], wait: {waits[0]}}}
        - {{notify: [leads-pd], wait: {waits[1]}}}
      repeat: {repeat}
"""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver().start()
    yield rec
    rec.stop()


@pytest.fixture
def ws(isolated: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLSRE_PD_ROUTING_KEY", PD_KEY)
    monkeypatch.setenv("MLSRE_PD_LEADS_KEY", LEADS_KEY)
    monkeypatch.setenv("MLSRE_SLACK_WEBHOOK_URL", f"{receiver.url}/slack")
    monkeypatch.setenv("MLSRE_WEBHOOK_SECRET", SECRET)
    (isolated / "mlsre.yaml").write_text(
        _config(receiver.url, f"{receiver.url}/slack"), encoding="utf-8"
    )
    return isolated


def _pd(rec: Receiver) -> list[dict[str, Any]]:
    return [a.body for a in rec.of("/pagerduty")]


def test_open_ack_resolve_page_once_with_one_dedup_key(ws: Path, receiver: Receiver) -> None:
    title = "fraud <!channel> p99 & errors"
    ok("incident", "open", title, "-s", "SEV1", "--model", "fraud-detector")
    pd = _pd(receiver)
    assert [b["event_action"] for b in pd] == ["trigger"]
    trigger = pd[0]
    assert trigger["routing_key"] == PD_KEY and trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["summary"] == f"[SEV1] INC-1: {title}"
    assert trigger["payload"]["custom_details"]["model"] == "fraud-detector"
    slack = receiver.of("/slack")
    assert len(slack) == 1
    header = slack[0].body["blocks"][0]["text"]["text"]
    assert header == f"[SEV1] INC-1 opened: {title}"  # plain_text: shown as typed
    assert "&lt;!channel&gt; p99 &amp; errors" in slack[0].body["text"]  # mrkdwn: escaped
    assert "<!channel>" not in slack[0].body["text"]
    hook = receiver.of("/hook")[0]
    assert verify(hook.raw, SECRET, hook.headers["X-Mlsre-Signature"])
    assert hook.body["type"] == "incident.opened" and hook.body["incident"]["title"] == title
    ok("incident", "ack", "INC-1")
    ok("incident", "resolve", "INC-1", "-r", "rolled back")
    pd = _pd(receiver)
    assert [b["event_action"] for b in pd] == ["trigger", "acknowledge", "resolve"]
    assert len({b["dedup_key"] for b in pd}) == 1 and pd[0]["dedup_key"].endswith("-INC-1")
    assert receiver.invalid == []
    assert ok_json("notify", "list")[0]["status"] == "sent"
    # webhooks carry a stable idempotency key per notification, the same on every retry
    keys = [a.headers["Idempotency-Key"] for a in receiver.of("/hook")]
    assert len(keys) == len(set(keys)) == 3


def test_slack_text_from_people_is_escaped(ws: Path, receiver: Receiver) -> None:
    ok("incident", "open", "p99 <!here> & <https://evil|click>", "-s", "SEV2")
    body = receiver.of("/slack")[0].body
    assert body["blocks"][0]["text"]["type"] == "plain_text"  # the header is never parsed
    assert "<!here>" not in body["text"] and "&lt;!here&gt;" in body["text"]
    assert "<https://evil|click>" not in json.dumps([body["text"], *body["blocks"][1:]])
    assert "&lt;https://evil|click&gt;" in body["text"]


def test_a_sev4_matches_no_policy_and_pages_nobody(ws: Path, receiver: Receiver) -> None:
    ok("incident", "open", "minor", "-s", "SEV4")
    ok("incident", "ack", "INC-1")
    assert receiver.arrivals == []


def test_500_three_times_then_accepted_keeps_the_dedup_key(ws: Path, receiver: Receiver) -> None:
    receiver.script["/pagerduty"] = [(500, None)] * 3
    r = run("incident", "open", "p99", "-s", "SEV1")
    assert r.exit_code == 0 and "queued, not sent yet" in r.stderr
    for _ in range(40):
        run("notify", "flush")
        if any(b["event_action"] == "trigger" for b in _pd(receiver)[3:]):
            break
        time.sleep(0.3)
    pd = _pd(receiver)
    assert len(pd) == 4 and len({b["dedup_key"] for b in pd}) == 1
    rows = [r for r in ok_json("notify", "list") if r["channel"] == "oncall-pd"]
    assert rows[0]["status"] == "sent" and rows[0]["attempts"] == 4


def test_receiver_down_commands_stay_quick_and_a_later_flush_sends_in_order(
    ws: Path, receiver: Receiver, isolated: Path
) -> None:
    (isolated / "mlsre.yaml").write_text(_config(refused_url(), "x"), encoding="utf-8")
    os.environ["MLSRE_SLACK_WEBHOOK_URL"] = refused_url() + "/slack"
    for args in (("open", "p99", "-s", "SEV1"), ("ack", "INC-1"), ("resolve", "INC-1", "-r", "x")):
        t0 = time.monotonic()
        r = run("incident", *args)
        assert r.exit_code == 0, r.output
        assert time.monotonic() - t0 < 2.0
        assert "unreachable" in r.stderr
    (isolated / "mlsre.yaml").write_text(_config(receiver.url, ""), encoding="utf-8")
    os.environ["MLSRE_SLACK_WEBHOOK_URL"] = receiver.url + "/slack"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (len(_pd(receiver)) < 3 or len(receiver.of("/hook")) < 3):
        run("notify", "flush")  # each channel's queue waits out its own backoff
        time.sleep(0.3)
    assert [b["event_action"] for b in _pd(receiver)] == ["trigger", "acknowledge", "resolve"]
    kinds = [a.body["type"] for a in receiver.of("/hook")]
    assert kinds == ["incident.opened", "incident.acknowledged", "incident.resolved"]


def test_429_retry_after_is_respected(ws: Path, receiver: Receiver) -> None:
    receiver.script["/slack"] = [(429, "2")]
    ok("incident", "open", "p99", "-s", "SEV2")
    first = receiver.of("/slack")[0].at
    run("notify", "flush")
    assert len(receiver.of("/slack")) == 1  # not before Retry-After
    time.sleep(2.1)
    run("notify", "flush")
    slack = receiver.of("/slack")
    assert len(slack) == 2 and slack[1].at - first >= 2.0


def test_a_400_is_dead_lettered_shown_and_can_be_retried(ws: Path, receiver: Receiver) -> None:
    receiver.script["/slack"] = [(400, None)]
    ok("incident", "open", "p99", "-s", "SEV2")
    failed = ok_json("notify", "list", "--failed")
    assert [f["channel"] for f in failed] == ["ml-slack"] and "HTTP 400" in failed[0]["last_error"]
    r = run("notify", "flush")
    assert r.exit_code == 1  # something is dead-lettered or waiting
    ok("notify", "retry", str(failed[0]["id"]))
    assert ok_json("notify", "list", "--failed") == []
    assert len(receiver.of("/slack")) == 2


def test_a_worker_killed_mid_send_is_redelivered_with_the_same_keys(
    ws: Path, receiver: Receiver, isolated: Path
) -> None:
    receiver.hold["/hook"] = threading.Event()
    r = run("incident", "open", "p99", "-s", "SEV1")
    assert r.exit_code == 0  # the hook held the command's own flush: it gave up after ~1 s
    receiver.hold["/hook"] = threading.Event()
    env = {**os.environ}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlsre", "notify", "flush"], cwd=isolated, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        if len(receiver.of("/hook")) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    receiver.hold.pop("/hook").set()
    time.sleep(1.2)  # the lease runs out
    ok("notify", "flush")
    hooks = receiver.of("/hook")
    assert len({a.headers["Idempotency-Key"] for a in hooks}) == 1 and len(hooks) >= 3
    assert ok_json("notify", "list", "--pending") == []


def _escalation_ws(isolated: Path, receiver: Receiver, repeat: int) -> None:
    (isolated / "mlsre.yaml").write_text(
        _config(receiver.url, "", waits=("1s", "1s"), repeat=repeat), encoding="utf-8"
    )


def test_not_acknowledged_escalates_to_level_2_and_repeat_runs_the_levels_again(
    ws: Path, receiver: Receiver, isolated: Path
) -> None:
    _escalation_ws(isolated, receiver, repeat=1)
    ok("incident", "open", "p99", "-s", "SEV1")
    time.sleep(1.1)
    assert "escalated INC-1 to level 2" in ok("notify", "flush").stdout
    keys = [b["routing_key"] for b in _pd(receiver)]
    assert keys == [PD_KEY, LEADS_KEY]
    time.sleep(1.1)
    assert "escalated INC-1 to level 1" in ok("notify", "flush").stdout  # the repeat
    time.sleep(1.1)
    assert "escalated INC-1 to level 2" in ok("notify", "flush").stdout
    time.sleep(1.1)
    assert "escalated" not in ok("notify", "flush").stdout  # repeat used up
    timeline = ok("incident", "timeline", "INC-1").stdout
    assert "Escalated to level 2: leads-pd (not acknowledged within 1 s)" in timeline


def test_acknowledged_in_time_never_escalates(ws: Path, receiver: Receiver, isolated: Path) -> None:
    _escalation_ws(isolated, receiver, repeat=0)
    ok("incident", "open", "p99", "-s", "SEV1")
    ok("incident", "ack", "INC-1")
    time.sleep(1.2)
    assert "escalated" not in ok("notify", "flush").stdout
    assert LEADS_KEY not in [b["routing_key"] for b in _pd(receiver)]


def test_escalate_by_hand(ws: Path, receiver: Receiver) -> None:
    ok("incident", "open", "p99", "-s", "SEV2")
    r = ok("incident", "escalate", "INC-1")
    assert "Escalated to level 2: leads-pd (by hand)" in r.stdout
    assert [b["routing_key"] for b in _pd(receiver)] == [PD_KEY, LEADS_KEY]
    bad = run("incident", "escalate", "INC-1", "--level", "7")
    assert bad.exit_code == 1 and "has no level 7" in bad.stderr
    ok("incident", "open", "minor", "-s", "SEV5")
    none = run("incident", "escalate", "INC-2")
    assert none.exit_code == 1 and "has no escalation policy" in none.stderr


def test_notify_test_reports_the_answer(ws: Path, receiver: Receiver) -> None:
    assert "ml-slack: delivered (HTTP 200" in ok("notify", "test", "ml-slack").stdout
    assert "then resolved" in ok("notify", "test", "oncall-pd").stdout
    assert [b["event_action"] for b in _pd(receiver)] == ["trigger", "resolve"]
    missing = run("notify", "test", "nope")
    assert missing.exit_code == 1 and "no channel 'nope'" in missing.stderr


def test_bad_config_is_one_clear_line(
    ws: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (isolated / "mlsre.yaml").read_text().replace("[leads-pd]", "[lead-pd]")
    (isolated / "mlsre.yaml").write_text(text)
    r = run("incident", "open", "p99", "-s", "SEV1")
    assert r.exit_code == 1 and "unknown channel 'lead-pd'" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2 and "Traceback" not in r.stderr
    text = text.replace("[lead-pd]", "[leads-pd]")
    (isolated / "mlsre.yaml").write_text(text)
    monkeypatch.delenv("MLSRE_PD_ROUTING_KEY")
    r = run("notify", "test", "oncall-pd")
    assert r.exit_code == 1 and "MLSRE_PD_ROUTING_KEY" in r.stderr and "not set" in r.stderr
    (isolated / "mlsre.yaml").write_text(text.replace('url: "http://127.0.0.1', 'url: "ht!tp://x'))
    r = run("notify", "test", "audit")
    assert r.exit_code in (1,) and "Traceback" not in r.stderr, r.stderr


def test_doctor_names_a_missing_secret_and_config_show_hides_a_slack_url(
    ws: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLSRE_PD_LEADS_KEY")
    checks = {c["name"]: c for c in json.loads(run("doctor", "--json").stdout)["checks"]}
    assert checks["notify leads-pd"]["status"] == "fail"
    assert "MLSRE_PD_LEADS_KEY (routing key) is not set" in checks["notify leads-pd"]["detail"]
    assert checks["notify oncall-pd"]["status"] == "ok"
    text = (
        (isolated / "mlsre.yaml")
        .read_text()
        .replace(
            "webhook_url_env: MLSRE_SLACK_WEBHOOK_URL",
            'url: "https://hooks.slack.com/services/T0/B0/S3CR3T"',
        )
    )
    (isolated / "mlsre.yaml").write_text(text)
    shown = ok("config", "show").stdout
    assert "S3CR3T" not in shown and "notify.channels" in shown


def test_a_channel_secret_named_in_the_config_is_redacted_everywhere(
    ws: Path, receiver: Receiver
) -> None:
    receiver.script["/pagerduty"] = [(500, None)] * 2
    r = run("incident", "open", f"key {PD_KEY} pasted into a title", "-s", "SEV1")
    assert r.exit_code == 0, r.output
    shown = ok("incident", "show", "INC-1", "--json").stdout + r.stdout + r.stderr
    assert PD_KEY not in shown and "***" in shown
    assert PD_KEY not in json.dumps(ok_json("notify", "list"))
