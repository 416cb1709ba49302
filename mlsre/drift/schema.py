"""What a data file is expected to look like: a YAML schema, or a profile of a reference file.

```yaml
columns:
  amount: {type: numeric, min: 0, max: 50000, max_null_share: 0.01}
  country: {type: categorical, values: [US, GB, DE]}
allow_extra_columns: true
min_rows: 100
max_duplicate_share: 0.0
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from mlsre.drift.load import Column, Dataset
from mlsre.yamlfile import YamlProblems, load_yaml, pydantic_problems

MAX_PROFILE_CATEGORIES = 10_000  # beyond this a text column is an id: unseen values are normal


class ColumnSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["numeric", "categorical"]
    dtype: str | None = Field(None, description="Storage type seen in the reference, e.g. int64.")
    required: bool = True
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None  # allowed categories (None: any)
    max_null_share: float | None = Field(None, ge=0, le=1)
    null_share: float | None = Field(None, ge=0, le=1, description="Share seen in the reference.")
    role: Literal["feature", "timestamp", "identifier"] = "feature"
    quantiles: list[float] | None = Field(
        None, description="Reference 5/25/50/75/95th percentiles."
    )
    top_share: float | None = Field(None, ge=0, le=1, description="Share of the commonest value.")
    distinct: int | None = Field(None, ge=0, description="Distinct values (capped at 1000).")
    ascending: bool | None = Field(None, description="Values were in ascending order.")
    gap_ratio: float | None = Field(None, ge=0, description="Largest gap / median gap (time).")
    unique: bool | None = Field(None, description="Every value distinct (identifiers).")


class DataSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    allow_extra_columns: bool = True
    min_rows: int | None = Field(None, ge=0)
    max_rows: int | None = Field(None, ge=0)
    expected_rows: int | None = Field(None, ge=0, description="Row count of the reference.")
    max_duplicate_share: float | None = Field(None, ge=0, le=1)


def load_schema(path: Path) -> DataSchema:
    doc = load_yaml(path)
    try:
        return DataSchema.model_validate(doc.data if doc.data is not None else {})
    except PydanticValidationError as exc:
        raise YamlProblems(pydantic_problems(doc, exc)) from None


def column_spec(col: Column) -> ColumnSpec:
    """What one reference column promises: its type, range or categories, null share, role,
    and the shape figures the stricter gates compare against (drift/gates.py)."""
    from mlsre.drift.gates import shape_of
    from mlsre.drift.roles import role_of

    null_share = col.null_count() / max(col.size, 1)
    shape = shape_of(col)
    role = role_of(col).value
    if col.values is not None:
        finite = col.values[np.isfinite(col.values)]
        low = float(finite.min()) if finite.size else None
        high = float(finite.max()) if finite.size else None
        return ColumnSpec(
            type="numeric",
            dtype=col.source_type,
            min=low,
            max=high,
            null_share=null_share,
            role=role,
            **shape,
        )
    values = list(col.categories) if len(col.categories) <= MAX_PROFILE_CATEGORIES else None
    return ColumnSpec(
        type="categorical",
        dtype=col.source_type,
        values=values,
        null_share=null_share,
        role=role,
        **shape,
    )


def profile_of(columns: dict[str, ColumnSpec], n_rows: int) -> DataSchema:
    return DataSchema(columns=columns, allow_extra_columns=False, expected_rows=n_rows)


def profile(ref: Dataset) -> DataSchema:
    """The expectations a loaded reference file sets."""
    return profile_of({n: column_spec(c) for n, c in ref.columns.items()}, ref.n_rows)
