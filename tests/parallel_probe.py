"""Run by tests/test_parallel.py in a fresh interpreter, where no other thread is running
(pytest's own process may have server threads, and then mlsre rightly refuses to fork)."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from mlsre import parallel


def main() -> None:
    what = sys.argv[1]
    if what == "workers":
        print(json.dumps([parallel.workers_for(int(n), 50) for n in sys.argv[2:]]))
    elif what == "workers-with-a-thread":
        stop = threading.Event()
        worker = threading.Thread(target=stop.wait)
        worker.start()
        try:
            print(json.dumps([parallel.workers_for(1000, 50)]))
        finally:
            stop.set()
            worker.join()
    elif what == "validate":
        from mlsre.runbook.validate import validate_paths

        folder = Path(sys.argv[2])
        files = len(list(folder.glob("*.yaml")))
        report = validate_paths([folder])
        print(
            json.dumps(
                {
                    "workers": parallel.workers_for(files, 48),
                    "paths": [f.path for f in report.files],
                    "problems": [str(p) for p in report.problems],
                    "runbooks": [
                        f.runbook.model_dump(mode="json") if f.runbook else None
                        for f in report.files
                    ],
                }
            )
        )


if __name__ == "__main__":
    main()
