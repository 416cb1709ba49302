"""`mlsre incident changes` at the sizes of a busy team: a repository with 50,000 commits and a
registered model with 200 versions (real MLflow server from .venv-mlflow, real git).

Prints the wall time of the whole command (a fresh process, as a person runs it) beside two
baselines measured in the same run: `python -c "import typer"` (the floor of any command) and
`git rev-list --count HEAD` (walking all 50,000 commits, which the window must avoid).
Aim: under 2 s on this machine. Prints figures, no assertions.

Run: .venv/bin/python bench/changes.py [--commits 50000] [--versions 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fixtures_servers import mlflow_running  # noqa: E402  (after the path is set)

NOW = int(time.time())


def _repo(path: Path, commits: int) -> None:
    """``commits`` commits one minute apart ending now, written by git fast-import."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    lines = []
    for i in range(commits):
        when = NOW - (commits - i) * 60
        msg = f"change {i}"
        blob = f"line {i}\n"
        lines += [
            "commit refs/heads/main",
            f"committer Dev <dev@example.com> {when} +0000",
            f"data {len(msg)}",
            msg,
            f"M 644 inline file{i % 50}.txt",
            f"data {len(blob)}",
            blob.rstrip("\n"),
            "",
        ]
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        cwd=path,
        input="\n".join(lines) + "\n",
        text=True,
        check=True,
    )
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)


def _call(url: str, method: str, endpoint: str, body: dict[str, Any]) -> Any:
    req = urllib.request.Request(
        f"{url}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(), method=method
    )
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


def _versions(url: str, n: int) -> None:
    _call(url, "POST", "registered-models/create", {"name": "fraud-detector"})
    exp = _call(url, "POST", "experiments/create", {"name": "train"})["experiment_id"]
    for i in range(1, n + 1):
        run = _call(url, "POST", "runs/create", {"experiment_id": exp})["run"]["info"]["run_id"]
        _call(
            url,
            "POST",
            "runs/set-tag",
            {"run_id": run, "key": "mlflow.source.git.commit", "value": f"{i:040x}"},
        )
        deployed = NOW - (n - i) * 3600
        _call(
            url,
            "POST",
            "model-versions/create",
            {
                "name": "fraud-detector",
                "source": f"runs:/{run}/model",
                "run_id": run,
                "tags": [{"key": "deployed_at", "value": str(deployed)}],
            },
        )
    _call(
        url,
        "POST",
        "registered-models/alias",
        {"name": "fraud-detector", "alias": "champion", "version": str(n)},
    )


def _wall(cmd: list[str], cwd: Path, env: dict[str, str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        best = min(best, time.perf_counter() - t0)
        if r.returncode != 0:
            raise SystemExit(f"{cmd} failed: {r.stderr}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=50_000)
    parser.add_argument("--versions", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        _repo(root / "repo", args.commits)
        (root / "mlflow").mkdir()
        with mlflow_running(root / "mlflow") as server:
            url = server.url
            _versions(url, args.versions)
            print(
                f"setup: {args.commits} commits, {args.versions} versions in {time.perf_counter() - t0:.0f} s"
            )
            ws = root / "ws"
            ws.mkdir()
            (ws / "mlsre.yaml").write_text(
                f"registry: {{url: '{url}'}}\n"
                "prometheus: {url: 'http://127.0.0.1:9', retries: 0}\n"
                f"changes: {{repos: ['{root / 'repo'}']}}\n",
                encoding="utf-8",
            )
            env = {
                **os.environ,
                "HOME": str(root),
                "XDG_DATA_HOME": str(root / "data"),
                "MLSRE_USER": "bench",
            }
            mlsre = [sys.executable, "-m", "mlsre"]
            subprocess.run(
                [
                    *mlsre,
                    "incident",
                    "open",
                    "p99 up",
                    "--model",
                    "fraud-detector",
                    "--started",
                    "-10m",
                ],
                cwd=ws,
                env=env,
                check=True,
                capture_output=True,
            )
            changes = _wall([*mlsre, "incident", "changes", "1", "--no-record", "--json"], ws, env)
            typer_floor = _wall([sys.executable, "-c", "import typer"], ws, env)
            full_walk = _wall(["git", "rev-list", "--count", "HEAD"], root / "repo", env)
            out = subprocess.run(
                [*mlsre, "incident", "changes", "1", "--no-record", "--json"],
                cwd=ws,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            report = json.loads(out.stdout)
            print(
                f"incident changes (24 h window): {changes:.2f} s wall, {len(report['changes'])} changes listed"
            )
            print(
                f"  baseline python -c 'import typer': {typer_floor:.2f} s -> {changes / typer_floor:.1f}x"
            )
            print(
                f"  baseline git rev-list --count HEAD (all {args.commits} commits): {full_walk:.2f} s"
            )
            print(f"  notes: {report['notes']}")


if __name__ == "__main__":
    main()
