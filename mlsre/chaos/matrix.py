"""``mlsre chaos matrix``: would we notice? Each fault at each severity, applied to a copy of the
data, then judged by the same functions ``data check`` and ``drift compare`` run, with the gates
a CI job uses (exit codes). The answer names the holes: faults nothing catches, or only late."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlsre.chaos.corrupt import corrupt_file
from mlsre.chaos.faults import (
    CATALOGUE,
    Fault,
    FaultKind,
    Target,
    describe,
    parse_fault,
    with_severity,
)
from mlsre.drift.compare import ANY_COLUMN, CompareOptions, compare_files, gate_failures
from mlsre.drift.gates import CONTINUOUS, Gates
from mlsre.drift.quality import ReferenceProfile, Severity, check_file, reference_profile
from mlsre.drift.roles import Role
from mlsre.drift.schema import ColumnSpec
from mlsre.errors import MlsreError, UsageError

DEFAULT_SEVERITIES = (0.01, 0.05, 0.2)
DEFAULT_FAULTS = (
    "missing",
    "noise",
    "scale",
    "swap",
    "typo",
    "encoding",
    "unseen",
    "outliers",
    "frozen",
    "duplicates",
    "label-shift",
    "time-gap",
)


class Check:
    DATA = "data check"
    DRIFT_DATASET = "drift --fail-on-drift"
    DRIFT_ANY = "drift --fail-on any"


CHECKS = (Check.DATA, Check.DRIFT_DATASET, Check.DRIFT_ANY)

_PLAIN = {
    FaultKind.MISSING: "missing values",
    FaultKind.NOISE: "Gaussian noise",
    FaultKind.SCALE: "a unit change",
    FaultKind.SWAP: "swapped columns",
    FaultKind.TYPO: "category typos",
    FaultKind.ENCODING: "encoding errors",
    FaultKind.UNSEEN: "new unseen categories",
    FaultKind.OUTLIERS: "extreme outliers",
    FaultKind.FROZEN: "a frozen feature",
    FaultKind.DUPLICATES: "duplicated rows",
    FaultKind.DROP: "a dropped column",
    FaultKind.RENAME: "a renamed column",
    FaultKind.AS_TEXT: "numbers stored as text",
    FaultKind.LABEL_SHIFT: "a label shift",
    FaultKind.TIME_GAP: "a time gap",
}


@dataclass
class Outcome:
    check: str
    caught: bool
    detail: str = ""  # the finding or verdict that caught it (with its statistic)
    statistic: float | None = None


@dataclass
class Cell:
    fault: str
    kind: FaultKind
    severity: float
    rows_touched: int
    outcomes: list[Outcome]
    caught_by: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.caught_by = [o.check for o in self.outcomes if o.caught]


@dataclass
class FaultSummary:
    fault: str
    kind: FaultKind
    columns: list[str]
    smallest_detected: float | None
    caught_by: list[str]
    sentence: str


@dataclass
class MatrixReport:
    reference: str
    current: str | None
    seed: int
    severities: list[float]
    checks: list[str]
    clean: list[Outcome]
    false_alarms: list[str]
    cells: list[Cell] = field(default_factory=list)
    summary: list[FaultSummary] = field(default_factory=list)
    undetected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class MatrixOptions:
    faults: list[str] = field(default_factory=lambda: list(DEFAULT_FAULTS))
    severities: list[float] = field(default_factory=lambda: list(DEFAULT_SEVERITIES))
    target: str | None = None
    seed: int = 0
    gates: Gates = field(default_factory=Gates)


def run_matrix(reference: Path, current: Path | None, opts: MatrixOptions) -> MatrixReport:
    started = time.monotonic()
    for s in opts.severities:
        if not 0 < s < 1:
            raise UsageError(f"--severities: {s:g} is outside (0, 1)")
    faults = [parse_fault(text, need_columns=False) for text in opts.faults]
    opts.gates.target = opts.target
    profile = reference_profile(reference, opts.target)
    base = current or reference
    report = MatrixReport(
        str(reference),
        str(current) if current else None,
        opts.seed,
        list(opts.severities),
        list(CHECKS),
        [],
        [],
    )
    with tempfile.TemporaryDirectory(prefix="mlsre-chaos-") as tmp:
        report.clean = _judge(reference, base, profile, opts)
        report.false_alarms = [o.check for o in report.clean if o.caught]
        for n, fault in enumerate(faults):
            why = _fill_columns(fault, profile, opts.target)
            if why:
                report.skipped.append(f"{fault.kind.value}: {why}")
                continue
            cells = []
            for severity in opts.severities:
                one = with_severity(fault, severity)
                out = Path(tmp) / f"cell-{n}{base.suffix}"
                done = corrupt_file(base, out, [one], seed=opts.seed)
                outcomes = _judge(reference, out, profile, opts)
                # a check that already fails on the clean copy proves nothing here
                for o in outcomes:
                    o.caught = o.caught and o.check not in report.false_alarms
                touched = done.faults[0]
                rows = touched.rows_touched + touched.rows_added + touched.rows_removed
                cells.append(Cell(describe(one), fault.kind, severity, rows, outcomes))
                out.unlink(missing_ok=True)
            report.cells += cells
            report.summary.append(_summarise(fault, cells, opts.severities))
    report.undetected = [s.sentence for s in report.summary if s.smallest_detected is None]
    report.seconds = time.monotonic() - started
    return report


def _judge(
    reference: Path, data: Path, profile: ReferenceProfile, opts: MatrixOptions
) -> list[Outcome]:
    out = []
    try:
        rep = check_file(data, gates=opts.gates, profile=profile)
        errors = [f for f in rep.findings if f.severity is Severity.ERROR]
        detail = "; ".join(f.message for f in errors[:3])
        stat = errors[0].value if errors else None
        out.append(Outcome(Check.DATA, not rep.passed, detail, stat))
    except MlsreError as exc:
        out.append(Outcome(Check.DATA, True, f"error: {exc.message}"))
    try:
        drift = compare_files(reference, data, CompareOptions())
        dataset = gate_failures(drift, dataset=True, columns=[])
        out.append(
            Outcome(Check.DRIFT_DATASET, bool(dataset), "; ".join(dataset), drift.drift_share)
        )
        hit = [c for c in drift.columns if c.status.value == "drift"]
        detail = "; ".join(
            f"{c.column} {c.method} {c.statistic:.3g}" for c in hit[:3] if c.statistic is not None
        )
        any_col = gate_failures(drift, dataset=False, columns=[ANY_COLUMN])
        out.append(
            Outcome(
                Check.DRIFT_ANY,
                bool(any_col),
                detail or "; ".join(any_col),
                hit[0].statistic if hit else None,
            )
        )
    except MlsreError as exc:
        for check in (Check.DRIFT_DATASET, Check.DRIFT_ANY):
            out.append(Outcome(check, True, f"error: {exc.message}"))
    return out


@dataclass
class _Candidates:
    """The reference's columns a fault can land on, by what the fault needs."""

    features: list[str]
    continuous: list[str]  # numeric features with many distinct values (all numeric if none)
    text: list[str]
    timestamps: list[str]

    @classmethod
    def of(cls, profile: ReferenceProfile, target: str | None) -> _Candidates:
        cols = profile.spec.columns
        features = [n for n in _with_role(profile, Role.FEATURE) if n != target]
        numeric = [n for n in features if cols[n].type == "numeric"]
        return cls(
            features=features,
            continuous=_continuous(profile, numeric),
            text=[n for n in features if _has_categories(cols[n])],
            timestamps=_with_role(profile, Role.TIMESTAMP),
        )

    def wanted(self, want: Target, target: str | None) -> list[str] | None:
        """The columns, best first, for a fault that needs ``want``; None: it needs none."""
        if want is Target.NUMERIC or (want is Target.ANY and self.continuous):
            return self.continuous
        pools = {
            Target.TEXT: self.text,
            Target.ANY: self.features,
            Target.LABEL: [target] if target else [],
            Target.TIME: self.timestamps,
        }
        return pools.get(want)


def _with_role(profile: ReferenceProfile, role: Role) -> list[str]:
    return [n for n, c in profile.spec.columns.items() if c.role == role.value]


def _continuous(profile: ReferenceProfile, numeric: list[str]) -> list[str]:
    """Numeric columns with many distinct values (noise and outliers show there); all numeric
    columns when none has."""
    cols = profile.spec.columns
    return [n for n in numeric if (cols[n].distinct or 0) > CONTINUOUS] or numeric


def _has_categories(col: ColumnSpec) -> bool:
    return col.type == "categorical" and bool(col.values)


def _fill_columns(fault: Fault, profile: ReferenceProfile, target: str | None) -> str | None:
    """Pick the columns a fault needs when not named; a reason when the data has none."""
    candidates = _Candidates.of(profile, target)
    if fault.column is None:
        why = _fill_column(fault, candidates, target)
        if why:
            return why
    if fault.kind is FaultKind.SWAP and not fault.params.get("other"):
        others = [n for n in candidates.continuous if n != fault.column]
        if not others:
            return "needs two numeric feature columns"
        fault.params["other"] = others[0]
    return None


def _fill_column(fault: Fault, candidates: _Candidates, target: str | None) -> str | None:
    want = CATALOGUE[fault.kind].target
    if want is Target.LABEL and target is None:
        return "needs --target (the label column)"
    if want is Target.TIME and not candidates.timestamps:
        return "no timestamp column in the data"
    pick = candidates.wanted(want, target)
    if pick is None:  # whole rows: no column to choose
        return None
    if not pick:
        return f"no {want.value} feature column in the data"
    fault.params["column"] = pick[0]
    return None


def _summarise(fault: Fault, cells: list[Cell], severities: list[float]) -> FaultSummary:
    detected = [c for c in cells if c.caught_by]
    smallest = min((c.severity for c in detected), default=None)
    first = next((c for c in detected if c.severity == smallest), None)
    by = first.caught_by if first else []  # the checks that caught it at its smallest severity
    cols = fault.columns()
    what = _PLAIN[fault.kind] + (f" ({', '.join(cols)})" if cols else "")
    if smallest is None:
        sentence = f"no check catches {what} at any severity up to {max(severities):g}"
    elif smallest > min(severities):
        sentence = f"no check catches {what} below severity {smallest:g}"
    else:
        sentence = f"{what} is caught from severity {smallest:g} (by {', '.join(by)})"
    return FaultSummary(fault.kind.value, fault.kind, cols, smallest, by, sentence)
