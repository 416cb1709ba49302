"""Postmortem publishing speed: what `mlsre demo` and a person at 03:00 wait for.

For the realistic fraud-detector incident of the tests (32 events, one range series), in fresh
processes so imports count: `mlsre postmortem render` to stdout (no charts), the first
`publish` (markdown, PNG chart, evidence, commit) and a republish that finds nothing to commit.
Aim: publish well inside the demo's 10 s (under 4 s on a busy 2-core machine); republish,
which redraws no unchanged chart, under 2 s.

Run: .venv/bin/python bench/postmortem.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlsre.incident.store import open_store  # noqa: E402
from tests.support.fixtures_postmortem import build_incident, make_repo  # noqa: E402

RUNS = 3


def timed(args: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env)
    return time.perf_counter() - t


def main() -> None:
    mlsre = [sys.executable, "-m", "mlsre"]
    figures: dict[str, list[float]] = {"render": [], "publish": [], "republish": []}
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            ws = root / "ws"
            (ws / "slos").mkdir(parents=True)
            repo, _ = make_repo(root)
            (ws / "mlsre.yaml").write_text(
                f"store: {{url: sqlite:///{ws / 'mlsre.db'}}}\n"
                f"postmortems: {{repo: {repo}}}\nslo_paths: [./slos]\n"
            )
            store = open_store(f"sqlite:///{ws / 'mlsre.db'}")
            build_incident(store)
            store.close()
            env = {**os.environ, "MLSRE_USER": "bench", "PYTHONPATH": str(ROOT)}
            cfg = ["--config", str(ws / "mlsre.yaml"), "postmortem"]
            figures["render"].append(timed([*mlsre, *cfg, "render", "INC-1"], env))
            figures["publish"].append(timed([*mlsre, *cfg, "publish", "INC-1"], env))
            figures["republish"].append(timed([*mlsre, *cfg, "publish", "INC-1"], env))
    for name, values in figures.items():
        print(
            f"{name:10s} median {sorted(values)[len(values) // 2]:.2f} s  (runs: "
            + ", ".join(f"{v:.2f}" for v in values)
            + ")"
        )


if __name__ == "__main__":
    main()
