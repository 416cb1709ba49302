"""Benchmark: load and validate the bundled runbook library plus 500 generated runbooks.

    .venv/bin/python bench/runbooks.py            # generated runbooks reuse the library's templates
    .venv/bin/python bench/runbooks.py --unique   # worst case: every query template is different

Generated runbooks are the bundled ones with a new id, title, model, thresholds and step ids,
so they are as large and as templated as real ones. Prints wall-clock figures (no assertions).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlsre.runbook import refs
from mlsre.runbook.loader import bundled_dir
from mlsre.runbook.validate import validate_paths
from mlsre.steps.registry import default_registry


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--unique", action="store_true", help="make every query template unique")
    args = parser.parse_args()

    t0 = time.perf_counter()
    reg = default_registry()
    t_registry = time.perf_counter() - t0
    print(f"step-kind registry built in {t_registry * 1000:.0f} ms ({len(reg.kinds)} kinds)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "runbooks"
        folder.mkdir()
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")  # start with an empty cache
        generate(folder, args.count, args.unique)
        for label in ("cold (no cache)", "warm (unchanged files)"):
            t1 = time.perf_counter()
            report = validate_paths([bundled_dir(), folder], reg)
            elapsed = time.perf_counter() - t1
            files = len(report.files)
            steps = sum(len(f.runbook.steps) for f in report.files if f.runbook)
            print(
                f"{label}: loaded and validated {files} runbooks ({steps} steps) in "
                f"{elapsed * 1000:.0f} ms = {elapsed / files * 1000:.2f} ms per runbook"
            )
    print(
        f"problems: {len(report.problems)}, warnings: {len(report.warnings)}; distinct templates "
        f"parsed: {refs.analyze_template.cache_info().currsize}, "
        f"expression shapes: {refs._analyze_expression.cache_info().currsize}"
    )
    for p in report.problems[:5]:
        print(" ", p)


if __name__ == "__main__":
    main()
