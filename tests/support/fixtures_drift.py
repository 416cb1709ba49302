"""Fixtures for drift and data-check tests: write small data files in any supported format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

Writer = Callable[..., Path]


def write_table(path: Path, columns: dict[str, Any]) -> Path:
    """Write ``columns`` (numpy arrays or lists; None/NaN = missing) as CSV, Parquet or JSONL."""
    import pyarrow as pa

    arrays = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype.kind == "f":
            arrays[name] = pa.array(values, from_pandas=True)  # NaN -> null, like an export
        else:
            arrays[name] = pa.array(list(values) if isinstance(values, np.ndarray) else values)
    table = pa.table(arrays)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif suffix == ".csv":
        from pyarrow import csv

        csv.write_csv(table, path)
    elif suffix == ".jsonl":
        import json

        rows = table.to_pylist()
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        raise ValueError(suffix)
    return path


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """``write("ref.parquet", amount=array, country=[...])`` -> the path of the new file."""

    def _write(name: str, **columns: Any) -> Path:
        return write_table(tmp_path / name, columns)

    return _write


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)
