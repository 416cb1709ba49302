"""Read and write CSV, Parquet and JSON Lines one record batch at a time (bounded memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

from mlsre.drift.load import detect_format
from mlsre.errors import ValidationError

BATCH_ROWS = 65_536
CSV_BLOCK = 8 << 20  # bytes per CSV block; types are inferred from the first one


def read_batches(path: Path, columns: list[str] | None = None, schema: Any = None) -> Iterator[Any]:
    """Record batches of ``path`` (only ``columns`` when given, where the format allows).
    ``schema`` (from :func:`read_schema`) fixes CSV column types for every block."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())  # freed buffers go back to the OS at once
    fmt = detect_format(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns)
            return
        if fmt == "csv":
            from pyarrow import csv

            types = {f.name: f.type for f in schema} if schema is not None else None
            reader = csv.open_csv(
                path,
                read_options=csv.ReadOptions(block_size=CSV_BLOCK),
                convert_options=csv.ConvertOptions(strings_can_be_null=True, column_types=types),
            )
        else:
            from pyarrow import json as pj

            reader = pj.open_json(path, read_options=pj.ReadOptions(block_size=CSV_BLOCK))
        for batch in reader:
            yield batch.select(columns) if columns is not None else batch
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"{path}: cannot read as {fmt.upper()}: {text}") from None


def read_schema(path: Path) -> Any:
    """The schema of ``path``. CSV: types are inferred from the first block, so the whole file
    is scanned once; a column a later block contradicts is widened (integer -> double, else
    text) and the scan starts again. JSON Lines: from the first block."""
    import pyarrow as pa

    fmt = detect_format(path)
    if fmt == "csv":
        return _csv_schema(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(path).schema_arrow
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValidationError(f"{path}: cannot read as PARQUET: {exc}") from None
    for batch in read_batches(path):
        return batch.schema
    raise ValidationError(f"{path}: has a header but no rows")


def _csv_schema(path: Path) -> Any:
    import re

    import pyarrow as pa

    schema = None
    for _ in range(1000):
        try:
            for batch in read_batches(path, schema=schema):
                schema = schema if schema is not None else batch.schema
            break
        except ValidationError as exc:
            m = re.search(r"CSV column #(\d+): CSV conversion error to (\w+)", exc.message)
            if m is None or schema is None:
                raise
            i, was = int(m.group(1)), m.group(2)
            wider = pa.float64() if was.startswith(("int", "uint")) else pa.string()
            schema = schema.set(i, pa.field(schema.field(i).name, wider))
    if schema is None:
        raise ValidationError(f"{path}: has a header but no rows")
    return schema


class BatchWriter:
    """Writes batches in the format of ``path``; the first batch fixes the schema."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = detect_format_of_name(path)
        self.schema: Any = None
        self._writer: Any = None
        self._text: Any = None

    def write(self, batch: Any) -> None:
        import pyarrow as pa

        if self.schema is None:
            self.schema = batch.schema
            self._open()
        elif batch.schema != self.schema:
            batch = pa.Table.from_batches([batch]).cast(self.schema).combine_chunks()
            batch = batch.to_batches()[0] if batch.num_rows else self.schema.empty_table()
        if self.format == "jsonl":
            for row in batch.to_pylist():
                self._text.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
        elif batch.num_rows:
            self._writer.write(batch)

    def _open(self) -> None:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self.path, self.schema)
        elif self.format == "csv":
            from pyarrow import csv

            self._writer = csv.CSVWriter(self.path, self.schema)
        else:
            self._text = self.path.open("w", encoding="utf-8")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._text is not None:
            self._text.close()


def detect_format_of_name(path: Path) -> str:
    from mlsre.drift.load import FORMATS

    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValidationError(
            f"{path}: unknown file type {path.suffix or '(none)'!r}",
            hint="the output must end in .csv, .parquet or .jsonl",
        )
    return fmt


def _json_default(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
