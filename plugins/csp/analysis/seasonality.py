"""Seasonality: a seasonal index per theme and the same-month-last-year comparison.

Method
------
* **Seasonal index** (the ratio-to-overall-mean index of classical decomposition; e.g. Chatfield,
  *The Analysis of Time Series*, 2.6; Boba Santos, *Crime Analysis with Crime Mapping*, ch. 9):
  for each theme, the mean events of each calendar month divided by the mean of all months,
  using **complete calendar years only** so that no month of the year is over-represented. An
  index of 1.20 for July means July runs 20% above an average month. A year is complete when
  the data covers all twelve of its months (coverage is the span of the whole frame, or the
  ``coverage`` given, since empty months have no rows in the marts and count as zero). A theme
  with no complete year, or with no events in its complete years, gets no index (NaN).
* **Same month last year**: the reference month against the same calendar month a year earlier,
  with the exact conditional Poisson test of ``change.poisson_conditional_p`` and BH q-values
  across themes (``fdr.bh_adjust``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .change import month_start, poisson_conditional_p, sqrt_z
from .fdr import bh_adjust


def _monthly(counts: pd.DataFrame, theme_col: str) -> pd.DataFrame:
    missing = {"month", theme_col, "events"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts lacks columns: {sorted(missing)}")
    months = pd.to_datetime(counts["month"]).dt.to_period("M").dt.to_timestamp()
    return (
        pd.DataFrame({"month": months, "theme": counts[theme_col].to_numpy(),
                      "events": counts["events"].to_numpy(dtype=float)})
        .groupby(["theme", "month"], sort=True)["events"].sum().reset_index()
    )


def complete_years(first_month, last_month) -> list[int]:
    """Calendar years whose twelve months all lie within [first_month, last_month]."""
    first, last = month_start(first_month), month_start(last_month)
    start = first.year if first.month == 1 else first.year + 1
    end = last.year if last.month == 12 else last.year - 1
    return list(range(start, end + 1))


def seasonal_index(
    counts: pd.DataFrame, *, theme_col: str = "theme", coverage: tuple | None = None
) -> pd.DataFrame:
    """theme, month_of_year (1-12), mean_events, index, years_used: one row per theme x month."""
    cols = ["theme", "month_of_year", "mean_events", "index", "years_used"]
    if counts.empty:
        return pd.DataFrame(columns=cols)
    data = _monthly(counts, theme_col)
    first, last = coverage if coverage else (data["month"].min(), data["month"].max())
    years = complete_years(first, last)
    themes = data["theme"].unique()
    if not years:  # no complete year: one row per theme and month, with no index
        out = pd.MultiIndex.from_product([themes, range(1, 13)],
                                         names=["theme", "month_of_year"]).to_frame(index=False)
        out["mean_events"] = np.nan
        out["index"] = np.nan
        out["years_used"] = 0
        return out[cols]
    # the full theme x month grid of the complete years, zero where no row exists
    grid = pd.MultiIndex.from_product(
        [themes, pd.date_range(f"{years[0]}-01-01", f"{years[-1]}-12-01", freq="MS")],
        names=["theme", "month"],
    )
    full = data.set_index(["theme", "month"])["events"].reindex(grid, fill_value=0.0).reset_index()
    full["month_of_year"] = full["month"].dt.month
    by_month = full.groupby(["theme", "month_of_year"])["events"].mean()
    overall = full.groupby("theme")["events"].mean()
    out = by_month.rename("mean_events").reset_index()
    base = out["theme"].map(overall)
    out["index"] = out["mean_events"] / base.where(base > 0)
    out["years_used"] = len(years)
    return out[cols]


def same_month_last_year(
    counts: pd.DataFrame, reference_month, *, theme_col: str = "theme", alpha: float = 0.05
) -> pd.DataFrame:
    """theme, month, current, last_year, change, z, p_value, q_value, significant."""
    cols = ["theme", "month", "current", "last_year", "change", "z", "p_value", "q_value",
            "significant"]
    if counts.empty:
        return pd.DataFrame(columns=cols)
    data = _monthly(counts, theme_col)
    ref = month_start(reference_month)
    before = ref - pd.DateOffset(years=1)
    if data["month"].min() > before:
        raise ValueError(f"data start after {before:%Y-%m}: no same month last year")
    themes = pd.Index(data["theme"].unique(), name="theme")
    wide = data.pivot_table(index="theme", columns="month", values="events", aggfunc="sum")
    cur = wide.get(ref, pd.Series(0.0, index=wide.index)).reindex(themes).fillna(0.0)
    prev = wide.get(before, pd.Series(0.0, index=wide.index)).reindex(themes).fillna(0.0)
    p = poisson_conditional_p(cur.to_numpy(), prev.to_numpy())
    q = bh_adjust(p)
    return pd.DataFrame({
        "theme": themes, "month": ref, "current": cur.to_numpy().astype(np.int64),
        "last_year": prev.to_numpy().astype(np.int64),
        "change": (cur.to_numpy() - prev.to_numpy()).astype(np.int64),
        "z": sqrt_z(cur.to_numpy(), prev.to_numpy()), "p_value": p, "q_value": q,
        "significant": q < alpha,
    })[cols]
