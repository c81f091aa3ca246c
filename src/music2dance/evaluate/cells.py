"""Table cells of the evaluation: {value, ci_lo, ci_hi, n}, with nan stored as None (JSON has no nan).

`entry` makes a cell from a point and an interval, `mean_entry` from per-dance (or per-clip) values with a
bootstrap interval, `spread_entry` from the draws of a noise floor or chance level.
"""

from __future__ import annotations

import math

import numpy as np

from . import metrics as M
from .protocol import Protocol


def finite(x) -> float | None:
    """float(x), or None when it is nan or infinite."""
    x = float(x)
    return x if math.isfinite(x) else None


def entry(value: float, ci: tuple[float, float] = (math.nan, math.nan), n: int = 0) -> dict:
    """A table cell: {value, ci_lo, ci_hi, n}, nan stored as None."""
    return {"value": finite(value), "ci_lo": finite(ci[0]), "ci_hi": finite(ci[1]), "n": int(n)}


def mean_entry(values, proto: Protocol, rng: np.random.Generator) -> dict:
    """Mean of per-dance (or per-clip) values with a bootstrap interval; nan values dropped."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return entry(math.nan)
    return entry(v.mean(), M.bootstrap_ci(v, n_boot=proto.n_bootstrap, ci=proto.ci, rng=rng), v.size)


def spread_entry(draws: np.ndarray, ci: float) -> dict:
    """A floor or chance cell: mean of its draws, with the central ci range of the draws."""
    d = np.asarray(draws, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return entry(math.nan)
    lo, hi = np.percentile(d, [50 * (1 - ci), 50 * (1 + ci)])
    return entry(d.mean(), (lo, hi), d.size)
