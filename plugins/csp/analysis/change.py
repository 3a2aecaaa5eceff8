"""Change over time: rolling 12 months and year to date against the same span a year earlier.

Method
------
For each (area, theme) the events in the current window (``current``) and in the window of the
same length twelve months earlier (``previous``) are compared.

* **Exact conditional Poisson test** (Przyborowski and Wilenski 1940; Lehmann, *Testing
  Statistical Hypotheses*, 4.5): if the two counts are Poisson with equal rates over equal
  exposures, then ``current | current + previous ~ Binomial(current + previous, 1/2)``. The
  two-sided p-value is that of the binomial test, identical to
  ``scipy.stats.binomtest(current, n, 0.5).pvalue``; because Binomial(n, 1/2) is symmetric it
  is ``min(1, 2 * P(X <= min(current, previous)))``, which vectorises. Both windows always have
  the same number of months here, so the 1/2 is exact; with no events in either window the
  p-value is 1.
* **Square-root Z** (Wheeler 2016, 'Tables and graphs for monitoring temporal crime trends',
  Police Practice and Research 17(5)). Wheeler's ``2 (sqrt(current) - sqrt(baseline))`` treats the
  baseline as a known mean. Here both counts are observed, each square root has variance about
  1/4, so the difference has variance 1/2 and the statistic used is the plain (not Anscombe
  +3/8) two-sample form ``z = (sqrt(current) - sqrt(previous)) / sqrt(1/2)``. It is reported as
  an effect size for tables; the decision uses the exact p-value.
* **Benjamini-Hochberg** q-values (``fdr.bh_adjust``) across all area x theme tests of one
  comparison (rolling 12 months and year to date are separate families); ``significant`` is
  ``q < alpha`` (default 0.05).
* **Percent change** only where ``previous >= min_base`` (default 20 events); below that it is
  missing (NaN), because a percentage on a small base mostly shows noise (Wheeler 2016).

Windows (for reference month R, the last complete month):

* ``rolling_12m``: R-11 .. R versus R-23 .. R-12.
* ``ytd``: from the first month of the reporting year (default April, the financial year that
  partnership plans and Home Office returns use; ``year_start_month=1`` for calendar years) to R,
  versus the same months a year earlier.

Months with no rows are zero events (the marts omit empty cells). The data must reach back to
the start of the earlier window, otherwise the comparison is refused with a ValueError.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom

from .fdr import bh_adjust

DEFAULT_MIN_BASE = 20
DEFAULT_ALPHA = 0.05
DEFAULT_YEAR_START_MONTH = 4

COLUMNS = [
    "comparison", "area", "theme", "current_start", "current_end", "current", "previous",
    "change", "pct_change", "z", "p_value", "q_value", "significant", "direction",
]


def poisson_conditional_p(current, previous) -> np.ndarray:
    """Two-sided exact conditional test of equal Poisson rates over equal exposures."""
    x1 = np.asarray(current, dtype=float)
    x0 = np.asarray(previous, dtype=float)
    if np.any(x1 < 0) or np.any(x0 < 0):
        raise ValueError("counts must be non-negative")
    n = x1 + x0
    k = np.minimum(x1, x0)
    p = np.minimum(1.0, 2.0 * binom.cdf(k, n, 0.5))
    # n == 0 (no events at all) and a perfect tie (k == n/2) carry no evidence of change
    return np.where((n == 0) | (x1 == x0), 1.0, p)


def sqrt_z(current, previous) -> np.ndarray:
    """Two-sample square-root Z: (sqrt(current) - sqrt(previous)) / sqrt(1/2)."""
    x1 = np.asarray(current, dtype=float)
    x0 = np.asarray(previous, dtype=float)
    return (np.sqrt(x1) - np.sqrt(x0)) / np.sqrt(0.5)


def month_start(value) -> pd.Timestamp:
    """The first day of the month containing ``value``."""
    ts = pd.Timestamp(value)
    return pd.Timestamp(year=ts.year, month=ts.month, day=1)


def windows(reference_month, year_start_month: int = DEFAULT_YEAR_START_MONTH) -> dict:
    """{comparison: (current_start, current_end, previous_start, previous_end)} as month starts."""
    if not 1 <= year_start_month <= 12:
        raise ValueError("year_start_month must be 1..12")
    ref = month_start(reference_month)
    year = ref.year if ref.month >= year_start_month else ref.year - 1
    ytd_start = pd.Timestamp(year=year, month=year_start_month, day=1)
    year_back = pd.DateOffset(years=1)
    return {
        "rolling_12m": (ref - pd.DateOffset(months=11), ref,
                        ref - pd.DateOffset(months=23), ref - year_back),
        "ytd": (ytd_start, ref, ytd_start - year_back, ref - year_back),
    }


def compare_periods(
    counts: pd.DataFrame,
    reference_month,
    *,
    area_col: str = "area",
    theme_col: str = "theme",
    alpha: float = DEFAULT_ALPHA,
    min_base: int = DEFAULT_MIN_BASE,
    year_start_month: int = DEFAULT_YEAR_START_MONTH,
) -> pd.DataFrame:
    """Rolling 12 months and year to date versus a year earlier, per (area, theme).

    ``counts`` has columns month, ``area_col``, ``theme_col``, events (several rows per cell are
    summed, so ``marts.monthly_counts`` can be passed as it is). Returns the tidy frame described in
    the module docstring, one row per comparison x area x theme that has any row in ``counts``;
    the output columns are always named ``area`` and ``theme``.
    """
    missing = {"month", area_col, theme_col, "events"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts lacks columns: {sorted(missing)}")
    if counts.empty:
        return pd.DataFrame(columns=COLUMNS)
    months = pd.to_datetime(counts["month"]).dt.to_period("M").dt.to_timestamp()
    data = pd.DataFrame({
        "month": months, "area": counts[area_col].to_numpy(),
        "theme": counts[theme_col].to_numpy(), "events": counts["events"].to_numpy(dtype=float),
    })
    if (data["events"] < 0).any():
        raise ValueError("events must be non-negative")
    cells = data[["area", "theme"]].drop_duplicates()
    first_month = data["month"].min()
    frames = []
    for name, (cur_start, cur_end, prev_start, prev_end) in windows(
        reference_month, year_start_month
    ).items():
        if first_month > prev_start:
            raise ValueError(
                f"{name}: data start {first_month:%Y-%m} after the comparison start "
                f"{prev_start:%Y-%m}; cannot compare a year earlier"
            )
        in_cur = data["month"].between(cur_start, cur_end)
        in_prev = data["month"].between(prev_start, prev_end)
        sums = (
            data.assign(current=data["events"].where(in_cur, 0.0),
                        previous=data["events"].where(in_prev, 0.0))
            .groupby(["area", "theme"], sort=True)[["current", "previous"]].sum()
            .reset_index()
        )
        sums = cells.merge(sums, on=["area", "theme"], how="left").fillna(
            {"current": 0.0, "previous": 0.0})
        cur, prev = sums["current"].to_numpy(), sums["previous"].to_numpy()
        p = poisson_conditional_p(cur, prev)
        q = bh_adjust(p)
        change = cur - prev
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(prev >= min_base, 100.0 * change / prev, np.nan)
        frames.append(pd.DataFrame({
            "comparison": name, "area": sums["area"], "theme": sums["theme"],
            "current_start": cur_start, "current_end": cur_end,
            "current": cur.astype(np.int64), "previous": prev.astype(np.int64),
            "change": change.astype(np.int64), "pct_change": pct, "z": sqrt_z(cur, prev),
            "p_value": p, "q_value": q, "significant": q < alpha,
            "direction": np.select([change > 0, change < 0], ["increase", "decrease"],
                                   "no change"),
        }))
    return pd.concat(frames, ignore_index=True)[COLUMNS]
