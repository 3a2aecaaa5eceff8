"""False discovery rate: the Benjamini-Hochberg step-up adjustment.

Benjamini, Y. and Hochberg, Y. (1995) 'Controlling the false discovery rate', JRSS B 57(1).
The adjusted value (q-value) of the i-th smallest of m p-values is min_{j >= i} p_(j) m / j,
capped at 1: the same numbers as ``scipy.stats.false_discovery_control(method='bh')`` and R's
``p.adjust(method='BH')``. Missing p-values are left missing and not counted in m, because a
test that was not run is not a hypothesis in the family.
"""
from __future__ import annotations

import numpy as np


def bh_adjust(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, same shape as the input (NaN stays NaN)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    ok = ~np.isnan(flat)
    m = int(ok.sum())
    if m == 0:
        return out
    if np.any((flat[ok] < 0) | (flat[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    vals = flat[ok]
    order = np.argsort(vals, kind="mergesort")
    scaled = vals[order] * m / np.arange(1, m + 1)
    # step-up: each q is the smallest scaled value at or above its rank
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(q_sorted, 0.0, 1.0)
    res = out.ravel()
    res[ok] = q
    return res.reshape(p.shape)


def significant(q_values, alpha: float, tested=None):
    """``q < alpha`` as a nullable boolean array: null where the test was not run (``tested``
    False, or a missing q-value), so a table says "not tested" rather than "not significant"."""
    import pandas as pd

    q = np.asarray(q_values, dtype=float)
    run = ~np.isnan(q) if tested is None else (np.asarray(tested, dtype=bool) & ~np.isnan(q))
    flags = pd.array(np.nan_to_num(q, nan=1.0) < alpha, dtype="boolean")
    flags[~run] = pd.NA
    return flags
