"""The catalogue of data faults ``mlsre chaos corrupt`` injects, and the ``KIND:key=value`` parser.

Each fault has one severity parameter (``FaultSpec.severity``): what ``chaos matrix`` turns up.
For most faults it is ``share``, the share of rows touched. The faults of Jenga (Schelter et
al.: missing values MCAR/MAR/MNAR, swapped values, categorical shift, Gaussian noise, scaling,
broken characters) are the anchor; the rest are shapes ML incidents take in practice (a stale
feature, a replayed batch, a renamed column, an upstream type change, a label shift, an outage
gap). docs/chaos.md has the same table in prose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mlsre.errors import UsageError


class FaultKind(StrEnum):
    MISSING = "missing"
    NOISE = "noise"
    SCALE = "scale"
    SWAP = "swap"
    TYPO = "typo"
    ENCODING = "encoding"
    UNSEEN = "unseen"
    OUTLIERS = "outliers"
    FROZEN = "frozen"
    DUPLICATES = "duplicates"
    DROP = "drop"
    RENAME = "rename"
    AS_TEXT = "as-text"
    LABEL_SHIFT = "label-shift"
    TIME_GAP = "time-gap"


class Target(StrEnum):
    """What kind of column a fault needs (the matrix picks one by this)."""

    NONE = "none"  # whole rows
    NUMERIC = "numeric"
    TEXT = "text"
    ANY = "any"
    LABEL = "label"
    TIME = "time"


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    default: object
    doc: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FaultInfo:
    kind: FaultKind
    summary: str
    target: Target
    params: tuple[Param, ...]
    severity: str | None  # the parameter the matrix varies; None: all or nothing


_SHARE = Param("share", float, 0.1, "share of rows touched, 0..1")
_COLUMN = Param("column", str, None, "the column to corrupt (required)")

CATALOGUE: dict[FaultKind, FaultInfo] = {
    i.kind: i
    for i in (
        FaultInfo(
            FaultKind.MISSING,
            "values go missing (null): mcar completely at random; mar with probability "
            "2*share where column BY is above its median; mnar the largest values of the column",
            Target.ANY,
            (
                _COLUMN,
                _SHARE,
                Param("mechanism", str, "mcar", "mcar, mar or mnar", ("mcar", "mar", "mnar")),
                Param("by", str, None, "the column mar conditions on (default: another one)"),
            ),
            "share",
        ),
        FaultInfo(
            FaultKind.NOISE,
            "Gaussian noise: value + N(0, (sigma * column std)^2); integers stay integers",
            Target.NUMERIC,
            (_COLUMN, _SHARE, Param("sigma", float, 2.0, "noise std in units of the column std")),
            "share",
        ),
        FaultInfo(
            FaultKind.SCALE,
            "unit change: value * factor (1000: kilo vs unit; 0.01: cents read as dollars)",
            Target.NUMERIC,
            (_COLUMN, _SHARE, Param("factor", float, 1000.0, "multiplier")),
            "share",
        ),
        FaultInfo(
            FaultKind.SWAP,
            "the values of two columns swapped in the touched rows (a misaligned join or export)",
            Target.NUMERIC,
            (_COLUMN, _SHARE, Param("other", str, None, "the second column (required)")),
            "share",
        ),
        FaultInfo(
            FaultKind.TYPO,
            "category typos: one character replaced by its keyboard neighbour",
            Target.TEXT,
            (_COLUMN, _SHARE),
            "share",
        ),
        FaultInfo(
            FaultKind.ENCODING,
            "encoding errors: the first vowel accented and the text read as Latin-1 ('Ã©')",
            Target.TEXT,
            (_COLUMN, _SHARE),
            "share",
        ),
        FaultInfo(
            FaultKind.UNSEEN,
            "new categories never seen before",
            Target.TEXT,
            (_COLUMN, _SHARE, Param("value", str, "unseen", "the new category's text")),
            "share",
        ),
        FaultInfo(
            FaultKind.OUTLIERS,
            "extreme values: median +- sigma * column std (sign at random)",
            Target.NUMERIC,
            (_COLUMN, _SHARE, Param("sigma", float, 100.0, "distance in column stds")),
            "share",
        ),
        FaultInfo(
            FaultKind.FROZEN,
            "a stale feature: touched rows hold the column's first value (share 1: constant)",
            Target.ANY,
            (_COLUMN, _SHARE),
            "share",
        ),
        FaultInfo(
            FaultKind.DUPLICATES,
            "duplicated rows (a replayed batch): share of output rows that copy the row before",
            Target.NONE,
            (_SHARE,),
            "share",
        ),
        FaultInfo(FaultKind.DROP, "the column is dropped", Target.ANY, (_COLUMN,), None),
        FaultInfo(
            FaultKind.RENAME,
            "the column is renamed (values unchanged)",
            Target.ANY,
            (_COLUMN, Param("to", str, None, "new name (default COLUMN_v2)")),
            None,
        ),
        FaultInfo(
            FaultKind.AS_TEXT,
            "numbers stored as text; touched rows are written with a thousands separator "
            "and a unit ('1,234.5 USD'), so they no longer parse as numbers",
            Target.NUMERIC,
            (_COLUMN, Param("share", float, 0.0, "share of rows written with separator+unit")),
            "share",
        ),
        FaultInfo(
            FaultKind.LABEL_SHIFT,
            "class balance changes (rows of other classes dropped, or of the class dropped): "
            "the share of VALUE rises by SHARE, or becomes TO",
            Target.LABEL,
            (
                _COLUMN,
                Param("value", str, None, "the class (default: the rarest)"),
                Param("share", float, 0.1, "rise of that class's share (absolute)"),
                Param("to", float, None, "the class's new share, instead of share"),
            ),
            "share",
        ),
        FaultInfo(
            FaultKind.TIME_GAP,
            "rows in a window of the time span are dropped (an outage); the window covers "
            "SHARE of the span starting at START (default: centred)",
            Target.TIME,
            (_COLUMN, _SHARE, Param("start", float, None, "window start, 0..1 of the span")),
            "share",
        ),
    )
}


@dataclass
class Fault:
    kind: FaultKind
    params: dict[str, object] = field(default_factory=dict)
    text: str = ""

    @property
    def column(self) -> str | None:
        value = self.params.get("column")
        return value if isinstance(value, str) else None

    def number(self, name: str) -> float:
        value = self.params.get(name)
        assert isinstance(value, float), name
        return value

    def text_param(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if isinstance(value, str) else None

    def columns(self) -> list[str]:
        """Every column this fault reads or writes."""
        names = [self.column, self.text_param("other"), self.text_param("by")]
        return [n for n in names if n]


def parse_fault(text: str, *, need_columns: bool = True) -> Fault:
    """``missing:column=amount,share=0.3,mechanism=mnar`` -> a checked :class:`Fault`.

    ``need_columns=False`` (the matrix) leaves column choices open to fill in later."""
    head, _, rest = text.strip().partition(":")
    try:
        kind = FaultKind(head.strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in FaultKind)
        raise UsageError(
            f"--fault {text!r}: unknown fault {head!r}", hint=f"use one of {known}"
        ) from None
    info = CATALOGUE[kind]
    by_name = {p.name: p for p in info.params}
    given: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or key not in by_name:
            allowed = ", ".join(by_name)
            raise UsageError(
                f"--fault {text!r}: unknown parameter {key!r} for {kind.value}",
                hint=f"{kind.value} takes {allowed}",
            )
        given[key] = value.strip()
    params: dict[str, object] = {}
    for p in info.params:
        if p.name not in given:
            params[p.name] = p.default
            continue
        params[p.name] = _convert(text, p, given[p.name])
    if need_columns and "column" in by_name and not params.get("column"):
        raise UsageError(
            f"--fault {text!r}: {kind.value} needs column=NAME", hint=f"e.g. {kind.value}:column=x"
        )
    if need_columns and kind is FaultKind.SWAP and not params.get("other"):
        raise UsageError(
            f"--fault {text!r}: swap needs other=NAME", hint="e.g. swap:column=a,other=b"
        )
    if kind is FaultKind.DUPLICATES and float(params["share"]) >= 1:  # type: ignore[arg-type]
        raise UsageError(f"--fault {text!r}: share must be below 1 for duplicates")
    return Fault(kind, params, text.strip())


def _convert(text: str, p: Param, raw: str) -> object:
    if p.kind is float:
        try:
            number = float(raw)
        except ValueError:
            raise UsageError(f"--fault {text!r}: {p.name}={raw!r} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise UsageError(f"--fault {text!r}: {p.name} must be a finite number")
        if p.name in ("share", "to", "start") and not 0 <= number <= 1:
            raise UsageError(f"--fault {text!r}: {p.name}={raw} is outside 0..1")
        return number
    if p.choices and raw.lower() not in p.choices:
        raise UsageError(f"--fault {text!r}: {p.name}={raw!r} is not one of {', '.join(p.choices)}")
    if not raw:
        raise UsageError(f"--fault {text!r}: {p.name} is empty")
    return raw.lower() if p.choices else raw


def with_severity(fault: Fault, severity: float) -> Fault:
    """The same fault at another severity (what the matrix varies)."""
    info = CATALOGUE[fault.kind]
    params = dict(fault.params)
    if info.severity is not None:
        params[info.severity] = float(severity)
        if fault.kind is FaultKind.LABEL_SHIFT:
            params["to"] = None
    return Fault(fault.kind, params, fault.text)


def describe(fault: Fault) -> str:
    shown = ",".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
        for k, v in fault.params.items()
        if v is not None
    )
    return f"{fault.kind.value}:{shown}" if shown else fault.kind.value
