"""The issue-13 hardening probe as figures: attempts by verdict, time to give up, peak memory.

Runs the installed CLI (``python -m mlsre``) as a subprocess against our hostile server
(tests/support/hostile_server.py), with secrets in the environment, hostile files and junk input, and
classifies each attempt: ok / clean error / exit 3 / wrong / lost / hang / security. ``--code``
points at another checkout to measure it the same way (e.g. the commit before the fixes):

    git archive 622660f | tar -x -C /tmp/h13-base
    .venv/bin/python bench/hardening_probe.py --code /tmp/h13-base   # before
    .venv/bin/python bench/hardening_probe.py                        # after

Times are wall-clock on this machine, capped at ``--cap`` seconds (a capped attempt is a hang).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.faulty_server import refused_url  # noqa: E402
from tests.support.hostile_server import HostileServer  # noqa: E402

TOKEN = "tok-Zq81/x+y=secret"
USER, PASSWORD = "alice", "p@ss:w0rd/x"
SECRET_FORMS = [
    TOKEN,
    PASSWORD,
    base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
    "p%40ss%3Aw0rd%2Fx",
    "tok-Zq81%2Fx%2By%3Dsecret",
]


@dataclass
class Attempt:
    name: str
    args: list[str]
    config: str = ""  # mlsre.yaml body ({url} = hostile server); "" = dead servers
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # relative path -> text
    interrupt_after: float | None = None  # send SIGINT after this many seconds
    wrong_if: str | None = None  # the attempt is "wrong" when this appears in stdout+stderr
    wrong_unless: str | None = None  # ... or when this does not
    lost_if_ok: bool = False  # exit 0 means incidents were silently lost
    wrong_if_ok: bool = False  # exit 0 means a problem went unnoticed
    fault: str = ""  # for the give-up table
    setup: str = ""  # "incident" | "event" | "hook"


@dataclass
class Outcome:
    attempt: Attempt
    verdict: str
    code: int | None
    seconds: float
    line: str


def config(mode: str, extra: str = "") -> str:
    return (
        f"prometheus: {{url: '{{url}}/{mode}', retries: 0, timeout_s: 5{extra}}}\n"
        f"registry: {{url: '{{url}}/{mode}', retries: 0, timeout_s: 5{extra}}}\n"
    )


SLO = (ROOT / "mlsre" / "_bundled" / "slos" / "model-latency-p99.yaml").read_text()
WAIT_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: wait-probe
title: Wait probe
failure_mode: latency
steps:
  - id: recovered
    title: wait for recovery
    phase: verify
    uses: wait
    with: {interval: 5s, deadline: 10m, check: {uses: prometheus.query, with: {query: up}, expect: value > 0}}
"""
SHELL_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: greet
title: Greet
failure_mode: latency
inputs: {model: {required: true}}
steps:
  - id: hello
    title: hello
    guidance: Says hello.
    uses: shell
    with: {argv: ["/bin/sh", "-c", "echo hi {{ inputs.model }}"], safe: true}
"""
TEMPLATE_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: big
title: Big
failure_mode: latency
steps:
  - {id: n, title: n, uses: note, with: {text: "{{ 'a' * 400000000 }}"}}
"""
QUERY_RUNBOOK = """\
apiVersion: mlsre/v1
kind: Runbook
id: q
title: Q
failure_mode: latency
steps:
  - {id: a, title: a, uses: prometheus.query, with: {query: up}}
  - {id: v, title: v, uses: registry.versions, with: {model: m}}
"""


def bomb() -> str:
    lines = ["a0: &a0 {x: 1, y: 2}"]
    for i in range(1, 24):
        lines.append(f"a{i}: &a{i} {{<<: *a{i - 1}, k: [*a{i - 1}, *a{i - 1}, *a{i - 1}]}}")
    return "\n".join(lines) + "\n"


def attempts() -> list[Attempt]:
    out: list[Attempt] = []
    secrets = {
        "MLSRE_PROMETHEUS_USERNAME": USER,
        "MLSRE_PROMETHEUS_PASSWORD": PASSWORD,
        "MLFLOW_TRACKING_TOKEN": TOKEN,
    }
    # secrets through a server that echoes the Authorization header
    for args in (
        ["doctor"],
        ["doctor", "--json"],
        ["model", "versions", "m", "--json"],
        ["slo", "status"],
        ["runbook", "run", "q", "--incident", "1", "--non-interactive", "--json"],
        ["runbook", "run", "q", "--incident", "1", "--non-interactive"],
    ):
        for mode in ("echo", "echo-error"):
            out.append(
                Attempt(
                    f"secret {mode}: {' '.join(args)}",
                    args,
                    config(mode),
                    secrets,
                    {"slos/slo.yaml": SLO, "runbooks/q.yaml": QUERY_RUNBOOK},
                    setup="incident",
                )
            )
    out.append(
        Attempt(
            "secret: config show url password",
            ["config", "show"],
            env={"MLSRE_PROMETHEUS_URL": f"https://{USER}:{PASSWORD.replace('@', '%40')}@h:1"},
        )
    )
    # faults: time to give up, per fault kind and command
    cmds = {
        "model versions": ["model", "versions", "m"],
        "slo status": ["slo", "status"],
        "doctor": ["doctor"],
        "runbook run": ["runbook", "run", "q", "--incident", "1", "--non-interactive"],
    }
    for mode in ("drip", "redirect", "huge", "wrongshape", "text500", "forbidden-json"):
        for label, args in cmds.items():
            out.append(
                Attempt(
                    f"fault {mode}: {label}",
                    args,
                    config(mode),
                    files={"slos/slo.yaml": SLO, "runbooks/q.yaml": QUERY_RUNBOOK},
                    fault=mode,
                    setup="incident",
                )
            )
    out.append(
        Attempt(
            "fault pages: model versions",
            ["model", "versions", "m"],
            config("pages"),
            fault="pages",
        )
    )
    out.append(
        Attempt(
            "wrong: not-MLflow registry, doctor",
            ["doctor"],
            config("notmlflow"),
            wrong_if="registered models",
        )
    )
    out.append(
        Attempt(
            "fault prometheus down: wait step",
            ["runbook", "run", "wait-probe", "--incident", "1", "--non-interactive"],
            "",
            files={"runbooks/wait-probe.yaml": WAIT_RUNBOOK},
            fault="down (wait step)",
            setup="incident",
        )
    )
    for label, args in cmds.items():
        out.append(
            Attempt(
                f"ctrl-c: {label} on a dripping server",
                args,
                config("drip"),
                files={"slos/slo.yaml": SLO, "runbooks/q.yaml": QUERY_RUNBOOK},
                interrupt_after=4.0,
                fault="ctrl-c",
                setup="incident",
            )
        )
    # hostile files
    out.append(
        Attempt("bomb: runbook list", ["runbook", "list"], files={"runbooks/b.yaml": bomb()})
    )
    out.append(
        Attempt(
            "bomb: dry run of another runbook",
            ["runbook", "run", "latency-regression", "--dry-run", "-i", "model=m"],
            files={"runbooks/b.yaml": bomb()},
        )
    )
    out.append(
        Attempt(
            "template: 'a' * 4e8",
            ["runbook", "run", "big", "--incident", "1", "--non-interactive"],
            files={"runbooks/big.yaml": TEMPLATE_RUNBOOK},
            setup="incident",
        )
    )
    # injection
    out.append(
        Attempt(
            "injection: sh -c validate --strict",
            ["runbook", "validate", "--strict", "runbooks/greet.yaml"],
            files={"runbooks/greet.yaml": SHELL_RUNBOOK},
            wrong_if_ok=True,
        )
    )
    out.append(
        Attempt(
            "injection: sh -c run",
            [
                "runbook",
                "run",
                "greet",
                "--incident",
                "1",
                "--non-interactive",
                "--yes",
                "-i",
                "model=x; touch PWNED",
            ],
            files={"runbooks/greet.yaml": SHELL_RUNBOOK},
            setup="incident",
        )
    )
    # junk that used to be a bug (exit 3) or wrongly accepted
    junk = [
        ["incident", "open", "x", "--started", "-99999999999999999999m"],
        ["incident", "show", "99999999999999999999999999"],
        ["runbook", "run", "latency-regression", "--dry-run", "-i", "model=m", "--at", "nan"],
        ["postmortem", "render", "1", "-o", "."],
        ["postmortem", "lint", "binary.md"],
    ]
    for args in junk:
        out.append(
            Attempt(f"junk: {' '.join(args)}", args, files={"binary.md": ""}, setup="incident")
        )
    for url in ("%%%", "file:///etc/passwd"):
        out.append(
            Attempt(f"junk url {url}: doctor", ["doctor"], env={"MLSRE_PROMETHEUS_URL": url})
        )
    out.append(
        Attempt(
            "junk header CRLF: slo status",
            ["slo", "status"],
            "prometheus: {url: 'http://127.0.0.1:9', headers: {X-A: \"1\\r\\nX-B: 2\"}}\n",
            files={"slos/slo.yaml": SLO},
        )
    )
    out.append(
        Attempt(
            "wrong: bad MLSRE_PROMETHEUS_TIMEOUT_S blamed on the file",
            ["config", "show"],
            "prometheus: {url: 'http://127.0.0.1:9'}\n",
            env={"MLSRE_PROMETHEUS_TIMEOUT_S": "abc"},
            wrong_if="mlsre.yaml:",
        )
    )
    out.append(
        Attempt(
            "wrong: --started 0 accepted",
            ["incident", "open", "x", "--started", "0"],
            wrong_unless="error:",
        )
    )
    out.append(
        Attempt(
            "wrong: incident show with an Arabic-Indic digit",
            ["incident", "show", "\u0661"],
            wrong_unless="error:",
            setup="incident",
        )
    )
    out.append(Attempt("junk: newer event kind", ["incident", "show", "1"], setup="event"))
    out.append(Attempt("junk: failing git hook", ["postmortem", "publish", "1"], setup="hook"))
    for url in ("sqlite:///", "sqlite:///:memory:"):
        out.append(
            Attempt(
                f"lost: store {url}", ["--store", url, "incident", "open", "x"], lost_if_ok=True
            )
        )
    return out


def prepare(att: Attempt, work: Path, hostile: HostileServer, code: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLSRE_", "MLFLOW_"))}
    env.update(
        HOME=str(work / "home"),
        XDG_CONFIG_HOME=str(work / "xdg-config"),
        XDG_DATA_HOME=str(work / "xdg-data"),
        GIT_CONFIG_GLOBAL=str(work / "gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        MLSRE_USER="probe",
        COLUMNS="120",
    )
    if code is not None:
        env["PYTHONPATH"] = str(code)
    (work / "home").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "mlsre", "init", str(work / "ws")],
        env=env,
        cwd=work,
        capture_output=True,
        check=True,
    )
    ws = work / "ws"
    body = (
        att.config.replace("{url}", hostile.url)
        if att.config
        else (
            f"prometheus: {{url: '{refused_url()}', retries: 0}}\n"
            f"registry: {{url: '{refused_url()}', retries: 0}}\n"
        )
    )
    (ws / "mlsre.yaml").write_text(body)
    for rel, text in att.files.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    if "binary.md" in att.files:
        (ws / "binary.md").write_bytes(bytes(range(256)))
    if att.setup in ("incident", "event", "hook"):
        subprocess.run(
            [sys.executable, "-m", "mlsre", "incident", "open", "probe"],
            env=env,
            cwd=ws,
            capture_output=True,
            check=True,
        )
    if att.setup == "event":
        db = sqlite3.connect(ws / ".mlsre" / "mlsre.db")
        db.execute(
            "INSERT INTO events (incident_id, seq, at, actor, kind, data) "
            "VALUES (1, 2, '2026-11-29T00:00:00+00:00', 'x', 'teleported', '{}')"
        )
        db.commit()
        db.close()
    if att.setup == "hook":
        subprocess.run(
            [sys.executable, "-m", "mlsre", "incident", "resolve", "1", "-r", "done"],
            env=env,
            cwd=ws,
            capture_output=True,
            check=True,
        )
        hook = ws / "postmortems" / ".git" / "hooks" / "pre-commit"
        hook.write_text("#!/bin/sh\necho 'policy says no' >&2\nexit 1\n")
        hook.chmod(0o755)
    env.update(att.env)
    return env


def wait_for_event(db: Path, kind: str, cap: float) -> None:
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        con = sqlite3.connect(db, timeout=5)
        try:
            if con.execute("SELECT 1 FROM events WHERE kind = ?", (kind,)).fetchone():
                return
        finally:
            con.close()
        time.sleep(0.2)


def attempt(att: Attempt, hostile: HostileServer, code: Path | None, cap: float) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="mlsre-probe-") as tmp:
        work = Path(tmp)
        env = prepare(att, work, hostile, code)
        ws = work / "ws"
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlsre", *att.args],
            env=env,
            cwd=ws,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        if att.interrupt_after is not None:
            if att.args[0] == "runbook":  # a run: once a step is under way, not during start-up
                wait_for_event(ws / ".mlsre" / "mlsre.db", "step_started", cap)
            time.sleep(att.interrupt_after)
            proc.send_signal(signal.SIGINT)
            started = time.monotonic()  # for ctrl-c the figure is the time to exit after it
        try:
            out, err = proc.communicate(timeout=cap)
            hung = False
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            hung = True
        seconds = time.monotonic() - started
        text = out + err
        files_text = ""
        for path in (ws / "postmortems").rglob("*"):
            if path.is_file() and ".git" not in path.parts:
                files_text += path.read_text(errors="replace")
        db = ws / ".mlsre" / "mlsre.db"
        kinds: set[str] = set()
        if db.exists():
            con = sqlite3.connect(db)
            for data, kind in con.execute("SELECT data, kind FROM events"):
                files_text += " " + data
                kinds.add(kind)
            con.close()
        code_ = None if hung else proc.returncode
        first = next((ln for ln in err.splitlines() if ln.strip()), "")[:160]
        if hung:
            verdict = "hang"
        elif any(form in text + files_text for form in SECRET_FORMS) or (ws / "PWNED").exists():
            verdict = "security"
        elif code_ == 3 or "internal error" in err or "Traceback" in err:
            verdict = "exit 3"
        elif att.lost_if_ok and code_ == 0:
            verdict = "lost"
        elif (att.wrong_if and att.wrong_if in text) or (
            att.wrong_unless and att.wrong_unless not in text
        ):
            verdict = "wrong"
        elif att.interrupt_after is not None and seconds > 1.5:
            verdict = "hang"
        elif att.interrupt_after is not None and (
            code_ != 130 or (att.args[0] == "runbook" and "interrupted" not in kinds)
        ):
            verdict = "wrong"  # not 130, or a run that left no "interrupted" on the incident
        elif att.wrong_if_ok and code_ == 0:
            verdict = "wrong"
        elif code_ == 0:
            verdict = "ok"
        else:
            verdict = "clean error"
        return Outcome(att, verdict, code_, seconds, first)


def peak_rss_mb(hostile: HostileServer, code: Path | None, cap: float) -> tuple[float, str]:
    """Peak RSS of `model versions` against a 2 GB body (the kernel's count for that child)."""
    att = Attempt("huge body", ["model", "versions", "m"], config("huge-chunked"))
    with tempfile.TemporaryDirectory(prefix="mlsre-probe-") as tmp:
        env = prepare(att, Path(tmp), hostile, code)
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlsre", *att.args],
            env=env,
            cwd=Path(tmp) / "ws",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + cap
        while time.monotonic() < deadline:
            pid, _, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                return usage.ru_maxrss / 1024, (err.splitlines() or [""])[0][:120]
            time.sleep(0.1)
        proc.kill()
        _, _, usage = os.wait4(proc.pid, 0)
        return usage.ru_maxrss / 1024, "killed at the cap"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, help="checkout to measure (default: this one)")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds before a hang")
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", default="", help="run only attempts whose name has this text")
    args = parser.parse_args()
    # Huge bodies in the parallel attempts stay at 256 MB (several at once, on a shared
    # machine); the peak-memory figure runs alone against 2 GB.
    hostile = HostileServer(drip_s=0.5, huge_bytes=256 * 1024**2)
    huge = HostileServer(huge_bytes=2 * 1024**3)
    try:
        todo = [a for a in attempts() if args.only in a.name]
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda a: attempt(a, hostile, args.code, args.cap), todo))
        rss, rss_line = peak_rss_mb(huge, args.code, args.cap)
    finally:
        hostile.stop()
        huge.stop()
    verdicts = Counter(r.verdict for r in results)
    if args.json:
        print(
            json.dumps(
                {
                    "verdicts": verdicts,
                    "attempts": [
                        {
                            "name": r.attempt.name,
                            "verdict": r.verdict,
                            "exit": r.code,
                            "seconds": round(r.seconds, 2),
                            "line": r.line,
                        }
                        for r in results
                    ],
                    "huge_body_peak_rss_mb": round(rss),
                },
                indent=2,
            )
        )
        return
    print(f"code: {args.code or ROOT}")
    print(f"{len(results)} attempts: " + ", ".join(f"{k} {v}" for k, v in verdicts.most_common()))
    print("\nnot ok / clean error:")
    for r in results:
        if r.verdict not in ("ok", "clean error"):
            print(f"  {r.verdict:8} {r.attempt.name}  (exit {r.code}, {r.seconds:.1f}s) {r.line}")
    print("\ntime to give up (s), per fault and command:")
    for r in results:
        if r.attempt.fault:
            capped = ">" if r.verdict == "hang" and r.attempt.interrupt_after is None else ""
            print(
                f"  {r.attempt.fault:18} {r.attempt.name.split(': ', 1)[1]:48} {capped}{r.seconds:6.1f}  exit {r.code}"
            )
    print(f"\npeak RSS, model versions against a 2 GB body: {rss:.0f} MB ({rss_line})")


if __name__ == "__main__":
    main()
