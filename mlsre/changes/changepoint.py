"""A robust change point for a failing signal: Pettitt's rank test (no distribution assumed,
outliers count only by rank), on the points a failing range step kept as evidence."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pettitt(values: Sequence[float]) -> tuple[int, float] | None:
    """``(k, p)``: the first ``k`` values differ from the rest with approximate p-value ``p``.

    ``U_t = 2 * sum(ranks[:t]) - t * (n + 1)``; ``K = max |U_t|``;
    ``p ~= 2 * exp(-6 K^2 / (n^3 + n^2))`` (Pettitt 1979). None for fewer than 4 finite values.
    """
    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    if n < 4:
        return None
    import numpy as np

    x = np.asarray(finite, dtype=float)
    order = x.argsort(kind="mergesort")
    ranks = np.empty(n, dtype=float)
    ranks[order] = np.arange(1, n + 1, dtype=float)
    # ties share their mean rank, so a flat signal has no change point
    sorted_x = x[order]
    start = 0
    for i in range(1, n + 1):
        if i == n or sorted_x[i] != sorted_x[start]:
            if i - start > 1:
                ranks[order[start:i]] = (start + 1 + i) / 2
            start = i
    t = np.arange(1, n, dtype=float)
    u = 2 * np.cumsum(ranks)[:-1] - t * (n + 1)
    k = int(np.abs(u).argmax())
    big_k = float(abs(u[k]))
    if big_k == 0:
        return None
    p = min(1.0, 2 * math.exp(-6 * big_k**2 / (n**3 + n**2)))
    return k + 1, p


def change_point(
    points: Sequence[tuple[float, float]], alpha: float = 0.05
) -> tuple[float, float, float, float] | None:
    """``(t, median before, median after, p)`` for a series of ``(unix s, value)``, or None
    when no shift is significant at ``alpha``."""
    pts = [(t, v) for t, v in points if math.isfinite(v)]
    found = pettitt([v for _, v in pts])
    if found is None or found[1] > alpha:
        return None
    k, p = found
    before = sorted(v for _, v in pts[:k])
    after = sorted(v for _, v in pts[k:])
    return pts[k][0], before[len(before) // 2], after[len(after) // 2], p
