"""Load CSV, Parquet and JSON Lines files into numpy columns, without Python objects per row.

Numeric columns become float64 arrays (nulls as NaN); text and boolean columns are
dictionary-encoded (int32 codes, -1 for null, plus the list of distinct values). Parquet is read
one column at a time and the Arrow buffers are released as soon as a column is converted, so
peak memory stays near the size of the numeric arrays themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mlsre.errors import NotFoundError, ValidationError

Floats = npt.NDArray[np.float64]
Codes = npt.NDArray[np.int32]

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
_SNIFF = 64 * 1024


class UnsupportedColumn(ValidationError):
    """A column of a type drift and data checks do not handle (nested lists, structs, bytes)."""


class Kind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass
class Column:
    name: str
    kind: Kind
    source_type: str
    values: Floats | None = None  # numeric: NaN for nulls, infinities kept (counted later)
    codes: Codes | None = None  # categorical: index into ``categories``, -1 for null
    categories: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        arr = self.values if self.values is not None else self.codes
        return 0 if arr is None else int(arr.size)

    def null_count(self) -> int:
        if self.values is not None:
            return int(np.count_nonzero(np.isnan(self.values)))
        return int(np.count_nonzero(self.codes < 0)) if self.codes is not None else 0


@dataclass
class Dataset:
    path: str
    format: str
    n_rows: int
    columns: dict[str, Column]
    all_columns: list[str]  # every column in the file, even those not loaded


def detect_format(path: Path) -> str:
    """The format the extension promises, checked against the first bytes of the file."""
    if not path.exists():
        raise NotFoundError(f"{path}: no such file", hint="check the path")
    if path.is_dir():
        raise ValidationError(f"{path}: is a directory, not a data file")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise ValidationError(
            f"{path}: unknown file type {path.suffix or '(none)'!r}", hint=f"use one of {known}"
        )
    with path.open("rb") as fh:
        head = fh.read(_SNIFF)
    if not head.strip():
        raise ValidationError(f"{path}: the file is empty", hint="export the data again")
    is_parquet = head[:4] == b"PAR1"
    if fmt == "parquet" and not is_parquet:
        raise ValidationError(
            f"{path}: not a Parquet file (no PAR1 magic bytes)", hint=_rename_hint(head)
        )
    if fmt != "parquet":
        if is_parquet or b"\x00" in head:
            raise ValidationError(
                f"{path}: binary data, not {fmt.upper()} text", hint=_rename_hint(head)
            )
        first = head.lstrip()[:1]
        if fmt == "jsonl" and first != b"{":
            raise ValidationError(f"{path}: not JSON Lines (each line must be a JSON object)")
    return fmt


def _rename_hint(head: bytes) -> str:
    if head[:2] == b"\x1f\x8b":
        return "the file is gzip-compressed: decompress it first"
    if head[:4] == b"PAR1":
        return "the file looks like Parquet: give it a .parquet extension"
    if head.lstrip()[:1] == b"{":
        return "the file looks like JSON Lines: give it a .jsonl extension"
    return (
        "the file looks like text: give it a .csv extension"
        if b"\x00" not in head
        else "check the file"
    )


class Source:
    """An opened data file whose columns are converted one at a time, on demand.

    Parquet columns are read from disk only when asked for (each read opens its own reader, so
    threads may share a Source); CSV and JSON Lines are parsed once by Arrow, then converted
    column by column. Asking for the same column twice reads it twice: callers drop each column
    once compared, which is what keeps peak memory near one column per file.
    """

    def __init__(self, path: Path, categorical: set[str] | None = None) -> None:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())  # freed buffers go back to the OS at once
        self.path = path
        self.format = detect_format(path)
        self.forced = categorical or set()
        self._table: Any = None
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq

                meta = pq.ParquetFile(path)
                self.names = list(meta.schema_arrow.names)
                self.n_rows = int(meta.metadata.num_rows)
            else:
                self._table = _read_text_table(path, self.format, self.forced)
                self.names = list(self._table.column_names)
                self.n_rows = int(self._table.num_rows)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError) as exc:
            raise ValidationError(
                f"{path}: cannot read as {self.format.upper()}: {_first_line(exc)}"
            ) from None
        twice = sorted({n for n in self.names if self.names.count(n) > 1})
        if twice:
            raise ValidationError(
                f"{path}: column {', '.join(map(repr, twice))} appears more than once",
                hint="give every column a distinct name",
            )
        if self.n_rows == 0:
            raise ValidationError(
                f"{path}: has a header but no rows", hint="the export produced no data"
            )

    def column(self, name: str, rows: npt.NDArray[np.int64] | None = None) -> Column:
        import pyarrow as pa

        try:
            if self._table is not None:
                chunked = self._table.column(name)
            else:
                import pyarrow.parquet as pq

                chunked = pq.ParquetFile(self.path).read(columns=[name]).column(0)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValidationError(
                f"{self.path}: cannot read column {name!r}: {_first_line(exc)}"
            ) from None
        col = to_column(name, chunked, name in self.forced)
        return take_rows(col, rows) if rows is not None else col


def load(
    path: Path, *, columns: list[str] | None = None, categorical: set[str] | None = None
) -> Dataset:
    """Read ``columns`` (all when None) of a data file; ``categorical`` forces text treatment."""
    src = Source(path, categorical)
    wanted = src.names if columns is None else [c for c in columns if c in src.names]
    out: dict[str, Column] = {}
    for name in wanted:
        try:
            out[name] = src.column(name)
        except UnsupportedColumn:
            continue
    return Dataset(str(path), src.format, src.n_rows, out, src.names)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_text_table(path: Path, fmt: str, forced: set[str]) -> Any:
    if fmt == "csv":
        import pyarrow as pa
        from pyarrow import csv

        names = _csv_header(path)
        types = {c: pa.string() for c in forced if c in names}
        opts = csv.ConvertOptions(column_types=types, strings_can_be_null=True)
        return csv.read_csv(path, convert_options=opts)
    from pyarrow import json

    return json.read_json(path)


def _csv_header(path: Path) -> list[str]:
    import csv as pycsv

    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        row = next(pycsv.reader(fh), [])
    names = [c.strip() for c in row]
    if not names or not any(names):
        raise ValidationError(f"{path}: no header row", hint="the first line must name the columns")
    return names


def to_column(name: str, chunked: Any, force_categorical: bool) -> Column:
    """One Arrow column as a numpy-backed :class:`Column`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    typ = chunked.type
    source = str(typ)
    if pa.types.is_dictionary(typ):
        value_type = typ.value_type
        if (
            pa.types.is_string(value_type) or pa.types.is_large_string(value_type)
        ) and chunked.num_chunks:
            return _from_dictionary(name, chunked.unify_dictionaries(), source)
        chunked = chunked.cast(value_type)
        typ = value_type
    numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)
    temporal = pa.types.is_temporal(typ)
    if (numeric or temporal) and not force_categorical:
        if temporal:
            chunked = chunked.cast(pa.int64())
        arr = pc.cast(chunked, pa.float64())
        if arr.null_count:
            arr = pc.fill_null(arr, float("nan"))
        values = np.ascontiguousarray(arr.to_numpy(), dtype=np.float64)
        return Column(name, Kind.NUMERIC, source, values=values)
    if pa.types.is_null(typ):
        return Column(name, Kind.NUMERIC, source, values=np.full(len(chunked), np.nan))
    if pa.types.is_nested(typ) or pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        raise UnsupportedColumn(f"column {name!r} holds {source} values, which are not compared")
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        chunked = chunked.cast(pa.string())
    encoded = pc.dictionary_encode(chunked).combine_chunks()
    indices = pc.fill_null(encoded.indices, -1)
    codes = np.ascontiguousarray(indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    categories = [str(v) for v in encoded.dictionary.to_pylist()]
    return Column(name, Kind.CATEGORICAL, source, codes=codes, categories=categories)


def _from_dictionary(name: str, chunked: Any, source: str) -> Column:
    """Parquet's own dictionary encoding, used as is (no decode and re-encode)."""
    import pyarrow.compute as pc

    parts = [
        np.asarray(pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int32)
        for chunk in chunked.chunks
    ]
    codes = np.concatenate(parts) if len(parts) > 1 else parts[0]
    categories = [str(v) for v in chunked.chunk(0).dictionary.to_pylist()]
    return Column(name, Kind.CATEGORICAL, source, codes=codes, categories=categories)


def take_rows(column: Column, rows: npt.NDArray[np.int64]) -> Column:
    """The same column restricted to ``rows`` (used by --sample)."""
    if column.values is not None:
        return Column(column.name, column.kind, column.source_type, values=column.values[rows])
    assert column.codes is not None
    return Column(
        column.name,
        column.kind,
        column.source_type,
        codes=column.codes[rows],
        categories=column.categories,
    )


def numeric_text_share(column: Column) -> tuple[float, str | None]:
    """Share of non-null rows of a text column that parse as numbers, and one that does not."""
    if column.codes is None or not column.categories:
        return 0.0, None
    parse = np.zeros(len(column.categories), dtype=bool)
    bad: str | None = None
    for i, text in enumerate(column.categories[:5000]):
        try:
            float(text)
            parse[i] = True
        except ValueError:
            bad = bad if bad is not None else text
    valid = column.codes[column.codes >= 0]
    if valid.size == 0:
        return 0.0, bad
    counts = np.bincount(valid, minlength=len(column.categories))
    return float(counts[parse].sum() / valid.size), bad
