"""Publishing into real git repositories (a bare repo as origin): commits, edits, refusals, pushes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlsre.errors import IntegrationError
from mlsre.incident.model import EventKind, Severity, Status
from mlsre.incident.service import open_incident
from mlsre.integrations.git import init_repo
from mlsre.postmortem.publish import PublishResult, publish
from mlsre.settings import load_settings
from tests.support.fixtures_postmortem import PostmortemEnv, at, git
from tests.support.helpers import run

# Every test here runs on SQLite and on PostgreSQL (tests/support/fixtures_postgres.py).
pytestmark = pytest.mark.usefixtures("store_backend")

MD = "2026/2026-11-28-INC-1-fraud-detector-p99-latency-7x-after-version-4.md"
ASSETS = "2026/assets/2026-11-28-INC-1-fraud-detector-p99-latency-7x-after-version-4"


def _publish(env: PostmortemEnv, **kw: object) -> PublishResult:
    settings, _ = load_settings(env.ws / "mlsre.yaml")
    return publish(env.store, env.incident, settings, actor="tester", **kw)  # type: ignore[arg-type]


def _origin_head(env: PostmortemEnv, branch: str = "main") -> str:
    return git(env.origin, "rev-parse", f"refs/heads/{branch}")


def test_first_publish_commits_markdown_charts_evidence_and_closes(
    pm_env: PostmortemEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-token-value"
    monkeypatch.setenv("MLSRE_PROMETHEUS_TOKEN", secret)
    pm_env.store.append(
        pm_env.incident,
        EventKind.NOTE,
        {
            "text": f"curl -H 'Authorization: Bearer {secret}'",
            "headers": {"Authorization": "Basic abc"},
        },
        "luis",
        at(55),
    )
    res = _publish(pm_env)
    assert res.commit and res.created and res.closed and not res.push_requested
    assert res.path == MD and res.author == "Pat Writer <pat@example.com>"  # from git config
    files = set(pm_env.git("ls-files").splitlines())
    assert {MD, f"{ASSETS}/latency-trend.png", f"{ASSETS}/evidence.json"} <= files
    assert pm_env.git("log", "-1", "--format=%H %an %s") == (
        f"{res.commit} Pat Writer Add postmortem INC-1: fraud-detector p99 latency 7x after version 4"
    )
    assert pm_env.git("status", "--porcelain") == ""
    md = (pm_env.repo / MD).read_text()
    assert "| Status | closed |" in md and "**closed**" in md
    assert f"](assets/{ASSETS.split('/')[-1]}/latency-trend.png)" in md
    evidence = (pm_env.repo / ASSETS / "evidence.json").read_text()
    assert secret not in evidence and "Basic abc" not in evidence
    data = json.loads(evidence)
    assert data["incident"]["title"].startswith("fraud-detector p99")
    assert any(e["kind"] == "step_result" and e["data"]["kind"] == "prometheus.range" for e in data["events"])  # fmt: skip
    state = pm_env.store.get(pm_env.incident)
    assert state.status is Status.CLOSED
    last = pm_env.store.events(pm_env.incident)[-1]
    assert last.kind is EventKind.POSTMORTEM_PUBLISHED
    assert last.data["commit"] == res.commit and last.data["path"] == MD
    assert res.lint is not None and res.lint.findings == [] and res.to_write == 8


def test_republishing_unchanged_makes_no_commit(pm_env: PostmortemEnv) -> None:
    first = _publish(pm_env)
    n_events = len(pm_env.store.events(pm_env.incident))
    again = _publish(pm_env)
    assert again.commit is None and not again.created and not again.closed
    assert pm_env.git("rev-parse", "HEAD") == first.commit
    assert pm_env.git("status", "--porcelain") == ""
    assert len(pm_env.store.events(pm_env.incident)) == n_events  # nothing new recorded


def test_human_edits_survive_and_generated_blocks_update(pm_env: PostmortemEnv) -> None:
    _publish(pm_env)
    path = pm_env.repo / MD
    text = path.read_text()
    text = text.replace(
        "> ✏️ **TO WRITE:** what worked: alerts that fired, runbooks that helped, people who were reachable.",
        "The p99 alert fired within 12 minutes and the rollback took one command.",
    )
    text = text.replace(
        "## Where we got lucky", "## Where we got lucky\n\nTraffic was low (a Sunday)."
    )
    text = text.replace("| Severity | SEV3 |", "| Severity | SEV9 (hand edit inside a block) |")
    text += "\n## Appendix\n\nDashboard screenshots are in the wiki.\n"
    path.write_text(text)
    pm_env.git("commit", "-q", "-am", "Write what went well")

    pm_env.store.append(pm_env.incident, EventKind.REOPENED, {"reason": "more"}, "luis", at(70))
    pm_env.store.append(
        pm_env.incident,
        EventKind.ACTION_ADDED,
        {
            "title": "Load-test new versions before promotion",
            "type": "prevent",
            "owner": "ml-platform",
        },
        "luis",
        at(71),
    )
    pm_env.store.append(pm_env.incident, EventKind.RESOLVED, {"resolution": "done"}, "luis", at(72))
    res = _publish(pm_env)
    assert res.commit and not res.created and res.closed
    new = path.read_text()
    for kept in (
        "The p99 alert fired within 12 minutes and the rollback took one command.",
        "## Where we got lucky\n\nTraffic was low (a Sunday).",
        "## Appendix\n\nDashboard screenshots are in the wiki.\n",
    ):
        assert kept in new, kept
    assert "| 4 | prevent | Load-test new versions before promotion | ml-platform | open |" in new
    assert "SEV9" not in new and "| Severity | SEV3 |" in new  # generated block regenerated
    assert res.to_write == 7
    assert pm_env.git("log", "-1", "--format=%s").startswith("Update postmortem INC-1")


def test_a_block_people_deleted_stays_deleted(pm_env: PostmortemEnv) -> None:
    _publish(pm_env)
    path = pm_env.repo / MD
    text = path.read_text()
    a = text.index("<!-- mlsre:begin signals")
    b = text.index("<!-- mlsre:end signals -->") + len("<!-- mlsre:end signals -->")
    path.write_text(text[:a] + "We found the cause by hand." + text[b:])
    pm_env.git("commit", "-q", "-am", "Own the root cause section")
    pm_env.store.append(pm_env.incident, EventKind.NOTE, {"text": "late note"}, "luis", at(90))
    res = _publish(pm_env)
    assert res.dropped_blocks == ["signals"]
    new = path.read_text()
    assert "We found the cause by hand." in new and "mlsre:begin signals" not in new
    assert "late note" in new


def test_dirty_repo_is_refused_and_nothing_changes(pm_env: PostmortemEnv) -> None:
    head = pm_env.git("rev-parse", "HEAD")
    (pm_env.repo / "README.md").write_text("# Postmortems\n\nhalf-written edit\n")
    (pm_env.repo / "draft.md").write_text("someone's draft\n")
    with pytest.raises(IntegrationError) as err:
        _publish(pm_env)
    assert "uncommitted changes" in err.value.message and "README.md" in err.value.message
    assert err.value.hint and "commit or stash" in err.value.hint
    assert pm_env.git("rev-parse", "HEAD") == head
    assert (pm_env.repo / "README.md").read_text().endswith("half-written edit\n")
    assert not (pm_env.repo / "2026").exists()
    assert pm_env.store.get(pm_env.incident).status is Status.RESOLVED  # not closed either
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "publish", "INC-1")
    assert r.exit_code == 1 and "uncommitted changes" in r.stderr and "hint:" in r.stderr


def test_push_failure_keeps_the_local_commit_and_a_later_push_succeeds(
    pm_env: PostmortemEnv,
) -> None:
    before = _origin_head(pm_env)
    gone = pm_env.origin.with_name("moved.git")
    pm_env.origin.rename(gone)  # the remote is unreachable
    res = _publish(pm_env, push=True)
    assert res.commit and res.push_requested and not res.pushed
    assert res.push_error and "push to origin failed" in res.push_error
    assert pm_env.git("rev-parse", "HEAD") == res.commit  # the commit stays
    gone.rename(pm_env.origin)
    assert _origin_head(pm_env) == before

    cfg = str(pm_env.ws / "mlsre.yaml")
    r = run("--config", cfg, "postmortem", "publish", "INC-1", "--push")
    assert r.exit_code == 0, r.output
    assert "up to date; nothing to commit" in r.stdout and "Pushed main to origin" in r.stdout
    assert _origin_head(pm_env) == res.commit


def test_rejected_push_says_so_and_cli_exits_1(pm_env: PostmortemEnv, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(pm_env.origin), str(other))
    git(other, "-c", "user.name=O", "-c", "user.email=o@x", "commit", "-q", "--allow-empty", "-m", "theirs")  # fmt: skip
    git(other, "push", "-q", "origin", "main")
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "publish", "INC-1", "--push")
    assert r.exit_code == 1
    assert "Published INC-1" in r.stdout
    assert "push to origin failed" in r.stderr and "rejected" in r.stderr
    assert "is kept locally" in r.stderr and "pull --rebase origin main" in r.stderr
    assert pm_env.git("log", "-1", "--format=%s").startswith("Add postmortem INC-1")


def test_branch_option_commits_on_a_new_branch_and_pushes_it(pm_env: PostmortemEnv) -> None:
    res = _publish(pm_env, branch="postmortem/INC-1", push=True)
    assert res.pushed and res.branch == "postmortem/INC-1"
    assert _origin_head(pm_env, "postmortem/INC-1") == res.commit
    assert pm_env.git("rev-parse", "main") != res.commit
    assert pm_env.git("rev-parse", "--abbrev-ref", "HEAD") == "postmortem/INC-1"


def test_empty_repo_without_identity_uses_the_actor(tmp_path: Path) -> None:
    from mlsre.incident.store import open_store

    ws = tmp_path / "work"
    (ws / "mlsre.yaml").write_text("postmortems: {repo: ./pms}\nslo_paths: [./slos]\n")
    assert init_repo(ws / "pms")
    settings, _ = load_settings(ws / "mlsre.yaml")
    store = open_store(settings.store.url)
    inc = open_incident(store, title="Scores all zero", severity=Severity.SEV3, actor="ann")
    res = publish(store, inc.id, settings, actor="Ann Lee")
    assert res.commit and res.author == "Ann Lee <Ann.Lee@users.noreply.mlsre>"
    assert not res.closed  # still open: a draft, not closed
    assert git(ws / "pms", "log", "--format=%an <%ae>") == "Ann Lee <Ann.Lee@users.noreply.mlsre>"
    assert store.get(inc.id).status is Status.OPEN


def test_publish_cli_json_and_missing_repo(pm_env: PostmortemEnv, tmp_path: Path) -> None:
    cfg = str(pm_env.ws / "mlsre.yaml")
    r = run("--config", cfg, "postmortem", "publish", "INC-1", "--json", "--as", "luis")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["path"] == MD and data["closed"] is True and data["lint"]["findings"] == []
    r = run("--config", cfg, "postmortem", "publish", "INC-1", "--repo", str(tmp_path / "none"))
    assert r.exit_code == 2 and "does not exist" in r.stderr
    shutil.rmtree(pm_env.repo / ".git")
    r = run("--config", cfg, "postmortem", "publish", "INC-1")
    assert r.exit_code == 2 and "is not a git repository" in r.stderr


def test_publish_warns_about_blameful_language(pm_env: PostmortemEnv) -> None:
    pm_env.store.append(
        pm_env.incident,
        EventKind.NOTE,
        {"text": "luis failed to check the canary"},
        "Dana Kim",
        at(56),
    )
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "publish", "INC-1")
    assert r.exit_code == 0, r.output
    assert "warning: 2 blameful phrase(s)" in r.stderr  # the note is in the timeline and notes
    assert "person-failed-to" in r.stdout
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "lint", "INC-1", "--strict")
    assert r.exit_code == 1 and MD in r.stdout  # lints the published file


def test_merge_replaces_only_inside_complete_blocks() -> None:
    from mlsre.postmortem.blocks import merge

    b = "<!-- mlsre:begin {n} (generated) -->\n"
    e = "<!-- mlsre:end {n} -->\n"
    existing = (
        "intro by hand\n"
        + b.format(n="a") + "old a\n" + e.format(n="a")
        + "middle by hand\n"
        + b.format(n="b") + "old b, no end marker: left alone\n"
        + "tail by hand\n"
    )  # fmt: skip
    fresh = b.format(n="a") + "new a\n" + e.format(n="a") + b.format(n="c") + "new c\n" + e.format(n="c")  # fmt: skip
    out = merge(existing, fresh)
    assert out.text == existing.replace("old a\n", "new a\n")
    assert out.updated == ["a"] and out.dropped == ["c"]
    assert merge("all written by hand\n", fresh).text == "all written by hand\n"


def test_republishing_after_editing_the_file_commits_the_edits_first(
    pm_env: PostmortemEnv,
) -> None:
    first = _publish(pm_env)
    path = pm_env.repo / MD
    path.write_text(
        path.read_text().replace(
            "> ✏️ **TO WRITE:** what worked: alerts that fired, runbooks that helped, people who were reachable.",
            "The p99 alert fired within 12 minutes.",
        )
    )  # edited, not committed: the way people work on the file
    pm_env.store.append(pm_env.incident, EventKind.NOTE, {"text": "late note"}, "luis", at(90))
    res = _publish(pm_env)
    assert res.commit and res.commit != first.commit
    log = pm_env.git("log", "-3", "--format=%s").splitlines()
    assert log[0].startswith("Update postmortem INC-1") and log[1] == (
        "Edit postmortem INC-1 (changes made in the file)"
    )
    edit = pm_env.git("show", "HEAD~1", "--stat", "--format=")
    assert MD in edit and "evidence.json" not in edit  # the person's change, alone
    new = path.read_text()
    assert "The p99 alert fired within 12 minutes." in new and "late note" in new
    assert pm_env.git("status", "--porcelain") == ""


def test_a_failing_commit_hook_is_one_line_and_leaves_the_repo_clean(
    pm_env: PostmortemEnv,
) -> None:
    head = pm_env.git("rev-parse", "HEAD")
    hook = pm_env.repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'postmortems need a ticket id' >&2\nexit 1\n")
    hook.chmod(0o755)
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "publish", "INC-1")
    assert r.exit_code == 1, r.output
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "git commit" in errors[0] and "ticket id" in errors[0]
    assert "Traceback" not in r.stderr
    assert pm_env.git("rev-parse", "HEAD") == head
    assert pm_env.git("status", "--porcelain", "--untracked-files=all") == ""  # nothing left over
    assert pm_env.store.get(pm_env.incident).status is Status.RESOLVED  # not closed
    hook.unlink()
    res = _publish(pm_env)  # a later publication works
    assert res.commit and res.created and res.closed


def test_a_git_that_cannot_write_its_index_is_one_line_and_cleaned_up(
    pm_env: PostmortemEnv,
) -> None:
    """Like a read-only .git (which root ignores): git cannot take its index lock."""
    first = _publish(pm_env)
    path = pm_env.repo / MD
    before = path.read_bytes()
    pm_env.store.append(pm_env.incident, EventKind.NOTE, {"text": "late note"}, "luis", at(90))
    lock = pm_env.repo / ".git" / "index.lock"
    lock.write_text("")
    r = run("--config", str(pm_env.ws / "mlsre.yaml"), "postmortem", "publish", "INC-1")
    assert r.exit_code == 1, r.output
    assert len([ln for ln in r.stderr.splitlines() if ln.startswith("error:")]) == 1
    assert "index.lock" in r.stderr and "Traceback" not in r.stderr
    assert path.read_bytes() == before  # our rewrite was put back
    lock.unlink()
    assert pm_env.git("status", "--porcelain", "--untracked-files=all") == ""
    res = _publish(pm_env)
    assert res.commit and res.commit != first.commit and "late note" in path.read_text()
