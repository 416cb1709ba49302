"""Benchmark: load and validate the bundled runbook library plus 500 generated runbooks.

    .venv/bin/python bench/runbooks.py            # generated runbooks reuse the library's templates
    .venv/bin/python bench/runbooks.py --unique   # worst case: every query template is different

Two kinds of generated runbooks, each measured separately:
- "library-sized": the bundled ones with a new id, title, thresholds and step ids, as large and
  as templated as real ones (about 8 KB and 10 steps each, 4 MB in all);
- "scaffolds": what `mlsre runbook new` writes (about 1.6 KB and 3 steps each);
- "hook": three scaffolds beside the library, what a pre-commit hook validates at a commit.
Each figure comes from a
fresh process with an empty result cache ("cold"), then the same files again ("warm"); "loaded"
includes building every Runbook object. The baseline, measured in the same process, is PyYAML's
C loader just reading the same files, with no validation at all. Prints figures, no assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlsre.runbook.loader import bundled_dir


def generate(target: Path, count: int, unique: bool) -> None:
    sources = sorted(bundled_dir().glob("*.yaml"))
    texts = [p.read_text(encoding="utf-8") for p in sources]
    for i in range(count):
        text = texts[i % len(texts)]
        rid = f"gen-{i:04d}"
        text = re.sub(r"(?m)^id: .*$", f"id: {rid}", text, count=1)
        text = re.sub(r"(?m)^title: (.*)$", rf"title: \1 (team {i})", text, count=1)
        text = text.replace("default: 0.3}", f"default: 0.{(i % 9) + 1}}}")
        text = re.sub(r"(?m)^  - id: ([a-z0-9-]+)$", rf"  - id: \1-{i}", text)
        text = re.sub(r"steps\['([a-z0-9-]+)'\]", rf"steps['\1-{i}']", text)
        text = re.sub(r"steps\.([a-z0-9_]+)\.", rf"steps['\1-{i}'].", text)
        text = text.replace("expect: value < ", f"expect: value * {1 + i / 1000} < ")
        if unique:
            text = text.replace(
                "[{{ inputs.rate_window }}]", f"[{{{{ inputs.rate_window }}}}] offset {i}s"
            )
            text = text.replace("})", f"}} or vector({i}))", 3)
        (target / f"{rid}.yaml").write_text(text, encoding="utf-8")


def generate_scaffolds(target: Path, count: int) -> None:
    from mlsre.runbook.scaffold import scaffold_text

    modes = ["data-drift", "latency", "errors", "accuracy-decay", "bad-deploy", "staleness"]
    for i in range(count):
        rid = f"new-{i:04d}"
        text = scaffold_text(rid, modes[i % len(modes)])
        (target / f"{rid}.yaml").write_text(text, encoding="utf-8")


def measure(folder: Path) -> dict[str, Any]:
    """Run in a fresh process: cold and warm validation, then the PyYAML baseline."""
    from mlsre.runbook import refs
    from mlsre.runbook.validate import validate_paths
    from mlsre.steps.catalog import default_catalog

    reg = default_catalog()
    out: dict[str, Any] = {}
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        report = validate_paths([bundled_dir(), folder], reg)
        steps = sum(len(f.runbook.steps) for f in report.files if f.runbook)
        out[label] = time.perf_counter() - t0
    import yaml

    files = sorted([*bundled_dir().glob("*.yaml"), *folder.glob("*.yaml")])
    t0 = time.perf_counter()
    for path in files:
        yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    out["pyyaml"] = time.perf_counter() - t0
    out.update(
        files=len(report.files),
        steps=steps,
        megabytes=sum(p.stat().st_size for p in files) / 1e6,
        problems=[str(p) for p in report.problems[:5]],
        templates=refs.analyze_template.cache_info().currsize,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--unique", action="store_true", help="make every query template unique")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        copies, scaffolds, hook = (Path(tmp) / n for n in ("library-sized", "scaffolds", "hook"))
        for folder in (copies, scaffolds, hook):
            folder.mkdir()
        generate(copies, args.count, args.unique)
        generate_scaffolds(scaffolds, args.count)
        generate_scaffolds(hook, 3)  # what a pre-commit hook sees: the files of one commit
        for folder in (hook, scaffolds, copies):
            env = {**os.environ, "XDG_CACHE_HOME": tempfile.mkdtemp(dir=tmp)}
            env.pop("MLSRE_NO_CACHE", None)
            run = subprocess.run(
                [sys.executable, __file__, "--measure", str(folder)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(run.stdout)
            files, base = r["files"], r["pyyaml"]
            print(
                f"bundled library + {len(list(folder.glob('*.yaml')))} {folder.name} runbooks: "
                f"{files} runbooks ({r['steps']} steps, {r['megabytes']:.1f} MB) "
                f"loaded and validated cold in {r['cold'] * 1000:.0f} ms "
                f"({r['cold'] / files * 1000:.2f} ms each), warm in {r['warm'] * 1000:.0f} ms; "
                f"PyYAML alone reads them in {base * 1000:.0f} ms: "
                f"cold = {r['cold'] / base:.2f}x, warm = {r['warm'] / base:.2f}x that"
            )
            for p in r["problems"]:
                print("    problem:", p)


if __name__ == "__main__":
    main()
