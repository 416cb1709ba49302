"""Apply one fault to one record batch. Whole-file figures (std, quantiles, class shares, time
span) come from a first pass (:class:`ColumnStats`); everything else is decided row by row, so a
file of any size streams through in batches."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mlsre.chaos.faults import Fault, FaultKind

SAMPLE_MAX = 1 << 20  # values kept per column for quantiles; beyond, every other one is dropped
_KEYBOARD = "qwertyuiop asdfghjkl zxcvbnm"
_ACCENT = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú", "A": "Á", "E": "É", "O": "Ó"}


@dataclass
class ColumnStats:
    """What the first pass learned about one column."""

    count: int = 0
    total: float = 0.0
    squares: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    first: Any = None
    classes: dict[str, int] = field(default_factory=dict)
    sample: list[npt.NDArray[np.float64]] = field(default_factory=list)
    stride: int = 1
    kept: int = 0
    seen: int = 0

    def add(self, arr: Any, *, numeric: bool, classes: bool) -> None:
        import pyarrow.compute as pc

        if self.first is None:
            valid = arr.drop_null()
            if len(valid):
                self.first = valid[0].as_py()
        if classes:
            for row in pc.value_counts(_as_text(arr).drop_null()).to_pylist():
                key = str(row["values"])
                self.classes[key] = self.classes.get(key, 0) + int(row["counts"])
        if not numeric:
            return
        vals = _floats(arr)
        finite = vals[np.isfinite(vals)]
        self.count += int(finite.size)
        self.total += float(finite.sum())
        self.squares += float(np.square(finite).sum())
        if finite.size:
            self.low, self.high = (
                min(self.low, float(finite.min())),
                max(self.high, float(finite.max())),
            )
        offset = (-self.seen) % self.stride
        self.seen += int(vals.size)
        picked = np.ascontiguousarray(vals[offset :: self.stride])  # a copy: frees the batch
        self.sample.append(picked)
        self.kept += int(picked.size)
        while self.kept > SAMPLE_MAX:  # deterministic thinning: keep every other value
            self.sample = [np.ascontiguousarray(s[::2]) for s in self.sample]
            self.kept = sum(int(s.size) for s in self.sample)
            self.stride *= 2

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0

    @property
    def std(self) -> float:
        if self.count < 2:
            return 0.0
        var = self.squares / self.count - self.mean**2
        return math.sqrt(max(var, 0.0))

    def quantile(self, q: float) -> float:
        values = np.concatenate(self.sample) if self.sample else np.empty(0)
        values = values[np.isfinite(values)]
        return float(np.quantile(values, q)) if values.size else 0.0


@dataclass
class Tally:
    """What a fault did, summed over batches."""

    rows_touched: int = 0
    rows_added: int = 0
    rows_removed: int = 0


def is_numeric(typ: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ))


def is_text(typ: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    return bool(pa.types.is_string(typ) or pa.types.is_large_string(typ))


def _as_text(arr: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    return arr if is_text(arr.type) else pc.cast(arr, pa.string())


def _floats(arr: Any) -> npt.NDArray[np.float64]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_temporal(arr.type):
        arr = arr.cast(pa.int64())
    out = pc.fill_null(pc.cast(arr, pa.float64()), float("nan"))
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=np.float64)


def _numbers(vals: npt.NDArray[np.float64], like: Any, mask: npt.NDArray[np.bool_]) -> Any:
    """Back to Arrow in the column's own type where it can hold the values (ints are rounded)."""
    import pyarrow as pa

    nulls = np.isnan(vals)
    if pa.types.is_integer(like):
        big = np.iinfo(np.int64).max / 2
        vals = np.clip(np.round(np.where(nulls, 0, vals)), -big, big)
        return pa.array(vals.astype(np.int64), mask=nulls).cast(like, safe=False)
    return (
        pa.array(vals, mask=nulls, type=pa.float64()).cast(like, safe=False)
        if pa.types.is_floating(like)
        else pa.array(vals, mask=nulls, type=pa.float64())
    )


def _replace(batch: Any, name: str, arr: Any) -> Any:
    i = batch.schema.get_field_index(name)
    return batch.set_column(i, name, arr)


def _chosen(rng: np.random.Generator, n: int, share: float) -> npt.NDArray[np.bool_]:
    return rng.random(n) < share


@dataclass
class _Job:
    """One fault on one batch, with what every transform reads and the tally it adds to."""

    batch: Any
    fault: Fault
    stats: dict[str, ColumnStats]
    rng: np.random.Generator
    tally: Tally

    @property
    def name(self) -> str:
        assert self.fault.column is not None
        return self.fault.column

    @property
    def col(self) -> Any:
        return self.batch.column(self.name)

    def replace(self, arr: Any, name: str | None = None) -> Any:
        return _replace(self.batch, name or self.name, arr)


def apply(
    batch: Any, fault: Fault, stats: dict[str, ColumnStats], rng: np.random.Generator, tally: Tally
) -> Any:
    """The batch with ``fault`` applied; the rows it touched, added or removed go on ``tally``.

    Faults on whole rows or columns decide without a row sample; the others first draw which
    rows they touch (``share``), so the same seed always picks the same rows.
    """
    job = _Job(batch, fault, stats, rng, tally)
    whole = _WHOLE.get(fault.kind)
    if whole is not None:
        return whole(job)
    mask = _chosen(rng, batch.num_rows, fault.number("share"))
    return _ON_ROWS.get(fault.kind, _texts)(job, mask)


def _duplicates(job: _Job) -> Any:
    import pyarrow as pa

    n, share = job.batch.num_rows, job.fault.number("share")
    q = share / (1 - share)
    counts = 1 + int(q) + (job.rng.random(n) < q - int(q))
    job.tally.rows_added += int(counts.sum() - n)
    job.tally.rows_touched += int(np.count_nonzero(counts > 1))
    return job.batch.take(pa.array(np.repeat(np.arange(n), counts)))


def _drop(job: _Job) -> Any:
    job.col  # noqa: B018  (a missing column fails here, as for every other fault)
    job.tally.rows_touched += job.batch.num_rows
    return job.batch.drop_columns([job.name])


def _rename(job: _Job) -> Any:
    job.col  # noqa: B018  (a missing column fails here, as for every other fault)
    job.tally.rows_touched += job.batch.num_rows
    to = job.fault.text_param("to") or f"{job.name}_v2"
    return job.batch.rename_columns([to if c == job.name else c for c in job.batch.schema.names])


def _shift_labels(job: _Job) -> Any:
    job.col  # noqa: B018  (a missing column fails here, as for every other fault)
    return _label_shift(job.batch, job.fault, job.stats[job.name], job.rng, job.tally)


def _time_gap(job: _Job) -> Any:
    import pyarrow as pa

    st, share = job.stats[job.name], job.fault.number("share")
    start = job.fault.params.get("start")
    begin = float(start) if isinstance(start, float) else 0.5 - share / 2
    lo = st.low + max(begin, 0.0) * (st.high - st.low)
    hi = lo + share * (st.high - st.low)
    t = _floats(job.col)
    keep = ~((t >= lo) & (t < hi))
    job.tally.rows_removed += int(job.batch.num_rows - np.count_nonzero(keep))
    return job.batch.filter(pa.array(keep))


def _missing(job: _Job, mask: npt.NDArray[np.bool_]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    col = job.col
    mech = job.fault.params["mechanism"]
    if mech == "mnar":
        mask = _highest(job)
    elif mech == "mar":
        mask = _when_by_is_high(job)
    mask &= ~np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    job.tally.rows_touched += int(np.count_nonzero(mask))
    return job.replace(pc.if_else(pa.array(mask), pa.scalar(None, col.type), col))


def _highest(job: _Job) -> npt.NDArray[np.bool_]:
    """Missing not at random: the largest ``share`` of the values go."""
    share = job.fault.number("share")
    if share <= 0:
        return np.zeros(job.batch.num_rows, bool)
    mask: npt.NDArray[np.bool_] = _floats(job.col) > job.stats[job.name].quantile(1 - share)
    return mask


def _when_by_is_high(job: _Job) -> npt.NDArray[np.bool_]:
    """Missing at random: twice as likely where column ``by`` is above its median."""
    by = job.fault.text_param("by")
    assert by is not None
    share = job.fault.number("share")
    high = _floats(job.batch.column(by)) > job.stats[by].quantile(0.5)
    p = np.where(high, min(1.0, 2 * share), max(0.0, 2 * share - 1))
    mask: npt.NDArray[np.bool_] = job.rng.random(job.batch.num_rows) < p
    return mask


def _frozen(job: _Job, mask: npt.NDArray[np.bool_]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    col = job.col
    value = job.stats[job.name].first
    job.tally.rows_touched += int(np.count_nonzero(mask))
    return job.replace(pc.if_else(pa.array(mask), pa.scalar(value, col.type), col))


def _numeric(job: _Job, mask: npt.NDArray[np.bool_]) -> Any:
    """Noise, a unit change, or outliers on the chosen rows that have a number."""
    import pyarrow as pa

    k, fault = job.fault.kind, job.fault
    col = job.col
    vals = _floats(col)
    mask &= ~np.isnan(vals)
    new = vals.copy()
    m = int(np.count_nonzero(mask))
    if k is FaultKind.SCALE:  # the only one that needs no whole-file figures
        new[mask] *= fault.number("factor")
    elif k is FaultKind.NOISE:
        new[mask] += job.rng.normal(0.0, fault.number("sigma") * job.stats[job.name].std, m)
    else:
        st = job.stats[job.name]
        sign = np.where(job.rng.random(m) < 0.5, -1.0, 1.0)
        spread = fault.number("sigma") * max(st.std, 1e-9)
        new[mask] = st.quantile(0.5) + sign * spread
    job.tally.rows_touched += m
    factor = fault.number("factor") if k is FaultKind.SCALE else 1.0
    like = col.type if factor == int(factor) else pa.float64()
    return job.replace(_numbers(new, like, mask))


def _swap(job: _Job, mask: npt.NDArray[np.bool_]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    other = job.fault.text_param("other")
    assert other is not None
    a, b = job.col, job.batch.column(other)
    if a.type != b.type:
        common = pa.float64() if is_numeric(a.type) and is_numeric(b.type) else pa.string()
        a, b = pc.cast(a, common), pc.cast(b, common)
    sel = pa.array(mask)
    job.tally.rows_touched += int(np.count_nonzero(mask))
    job.batch = job.replace(pc.if_else(sel, b, a))
    return job.replace(pc.if_else(sel, a, b), other)


def _numbers_as_text(job: _Job, mask: npt.NDArray[np.bool_]) -> Any:
    import pyarrow as pa

    col = job.col
    vals = _floats(col)
    texts = _as_text(col).to_pylist()
    for i in np.flatnonzero(mask & ~np.isnan(vals)):
        texts[i] = f"{vals[i]:,.2f} USD"
        job.tally.rows_touched += 1
    return job.replace(pa.array(texts, type=pa.string()))


def _texts(job: _Job, mask: npt.NDArray[np.bool_]) -> Any:
    """Typos, encoding errors and unseen categories: one string at a time."""
    import pyarrow as pa

    texts = _as_text(job.col).to_pylist()
    for i in np.flatnonzero(mask):
        if texts[i] is None:
            continue
        texts[i] = _text_fault(job.fault.kind, texts[i], job.fault, job.rng)
        job.tally.rows_touched += 1
    return job.replace(pa.array(texts, type=pa.string()))


_WHOLE: dict[FaultKind, Callable[[_Job], Any]] = {
    FaultKind.DUPLICATES: _duplicates,
    FaultKind.DROP: _drop,
    FaultKind.RENAME: _rename,
    FaultKind.LABEL_SHIFT: _shift_labels,
    FaultKind.TIME_GAP: _time_gap,
}
_ON_ROWS: dict[FaultKind, Callable[[_Job, npt.NDArray[np.bool_]], Any]] = {
    FaultKind.MISSING: _missing,
    FaultKind.FROZEN: _frozen,
    FaultKind.NOISE: _numeric,
    FaultKind.SCALE: _numeric,
    FaultKind.OUTLIERS: _numeric,
    FaultKind.SWAP: _swap,
    FaultKind.AS_TEXT: _numbers_as_text,
}


def _text_fault(k: FaultKind, text: str, fault: Fault, rng: np.random.Generator) -> str:
    if k is FaultKind.UNSEEN:
        return fault.text_param("value") or "unseen"
    if k is FaultKind.ENCODING:
        return _mojibake(text)
    return _typo(text, rng)


def _mojibake(text: str) -> str:
    """UTF-8 read as Latin-1, with an accent added first when the text has none to mangle."""
    i = next((i for i, ch in enumerate(text) if ch in _ACCENT), None)
    text = text + "é" if i is None else text[:i] + _ACCENT[text[i]] + text[i + 1 :]
    return text.encode("utf-8").decode("latin-1")


def _typo(text: str, rng: np.random.Generator) -> str:
    """One character replaced by a neighbour on the keyboard (``x`` when it has none)."""
    if not text:
        return "?"
    i = int(rng.integers(len(text)))
    pos = _KEYBOARD.find(text[i].lower())
    near = [] if pos < 0 else [_KEYBOARD[j] for j in (pos - 1, pos + 1) if _on_keyboard(j)]
    swap = near[int(rng.integers(len(near)))] if near else "x"
    return text[:i] + swap + text[i + 1 :]


def _on_keyboard(j: int) -> bool:
    return 0 <= j < len(_KEYBOARD) and _KEYBOARD[j] != " "


def _label_shift(
    batch: Any, fault: Fault, st: ColumnStats, rng: np.random.Generator, tally: Tally
) -> Any:
    import pyarrow as pa

    value = fault.text_param("value") or min(st.classes, key=lambda c: (st.classes[c], c))
    total = sum(st.classes.values())
    p0 = st.classes.get(value, 0) / max(total, 1)
    to = fault.params.get("to")
    t = float(to) if isinstance(to, float) else min(0.99, p0 + fault.number("share"))
    labels = _as_text(batch.column(fault.column or "")).to_pylist()
    is_class = np.array([x == value for x in labels], dtype=bool)
    if p0 <= 0 or p0 >= 1 or t == p0:
        return batch
    if t > p0:  # drop rows of the other classes
        keep_other, keep_class = p0 * (1 - t) / (t * (1 - p0)), 1.0
    else:
        keep_other, keep_class = 1.0, t * (1 - p0) / (p0 * (1 - t))
    keep = rng.random(batch.num_rows) < np.where(is_class, keep_class, keep_other)
    tally.rows_removed += int(batch.num_rows - np.count_nonzero(keep))
    return batch.filter(pa.array(keep))


def label_value(fault: Fault, st: ColumnStats) -> str:
    return fault.text_param("value") or min(st.classes, key=lambda c: (st.classes[c], c))
