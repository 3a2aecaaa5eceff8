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
* **Test of a seasonal profile** (``seasonality_family``, ``seasonal_profiles``): is the
  month-of-year profile of a series different from a flat year? Over the complete calendar
  years, the month totals ``M_1..M_12`` are compared with their mean by Pearson's X^2 on 11
  degrees of freedom, divided by the over-dispersion factor ``1 + kappa mu`` (``mu`` the mean
  events a month), so month-to-month variation beyond Poisson is not read as a season
  (quasi-Poisson; McCullagh and Nelder, *Generalized Linear Models*, 2nd ed., 4.5 and 6.2).
  ``kappa`` is estimated once per family (csp.analysis.dispersion.residual_dispersion) from
  the month x year interaction of every series (residuals after month and year effects, on
  11 (years - 1) degrees of freedom), which a stable seasonal profile and year-to-year
  variation both leave untouched. Needs at least two complete calendar years and
  ``MIN_MONTHLY_MEAN`` events a month; otherwise ``significant`` is null and ``reason`` says
  why. Because kappa is estimated, X^2 / 11 is referred to F(11, d), d the number of series
  it was pooled over (the quasi-likelihood F test, conservative here). BH q-values across
  the family; an index is meant to be printed only when
  ``significant``.
* **Same month last year**: the reference month against the same calendar month a year earlier,
  with the exact conditional Poisson test of ``change.poisson_conditional_p`` and BH q-values
  across themes (``fdr.bh_adjust``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from scipy.stats import chi2
from scipy.stats import f as f_dist

from .change import month_start, poisson_conditional_p, sqrt_z
from .dispersion import residual_dispersion
from .fdr import bh_adjust, significant

MIN_YEARS = 2
MIN_MONTHLY_MEAN = 2.0
PROFILE_COLUMNS = ["area", "theme", "month_of_year", "mean_events", "index", "years_used", "p_value",
                   "q_value", "significant", "dispersion", "reason"]


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


def seasonality_family(table, *, kappa: float | None = None, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """The seasonal-profile test of a family: ``table`` (series, years, 12) of counts over
    complete calendar years, January first. Returns per series the index (12), X^2, p, q,
    the nullable ``significant``, ``tested`` and the family's kappa."""
    x = np.asarray(table, dtype=float)
    n_series, years, _ = x.shape
    month_totals = x.sum(axis=1)
    mean_month = month_totals.mean(axis=1)
    monthly_mean = mean_month / max(years, 1)
    tested = (years >= MIN_YEARS) & (monthly_mean >= MIN_MONTHLY_MEAN)
    if kappa is None:
        kappa = 0.0
        if years >= MIN_YEARS and tested.any():
            total = x.sum(axis=(1, 2))[:, None, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                fitted = np.where(total > 0, x.sum(axis=2, keepdims=True) * x.sum(axis=1, keepdims=True) / total, 0.0)
            kappa = residual_dispersion(x[tested].reshape(tested.sum(), -1), fitted[tested].reshape(tested.sum(), -1),
                                        11 * (years - 1), min_mean=MIN_MONTHLY_MEAN)
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = np.where(mean_month > 0, ((month_totals - mean_month[:, None]) ** 2).sum(axis=1) / mean_month, 0.0)
        index = np.where(mean_month[:, None] > 0, month_totals / mean_month[:, None], np.nan)
    scaled = pearson / (1 + kappa * monthly_mean)
    # kappa is estimated: refer X^2 / 11 to F(11, d) with d the series it was pooled over
    d = max(int(tested.sum()), 1) if kappa > 0 else np.inf
    p = np.where(tested, f_dist.sf(scaled / 11, 11, d) if np.isfinite(d) else chi2.sf(scaled, 11), np.nan)
    q = bh_adjust(p)
    return {"kappa": kappa, "tested": tested, "index": index, "pearson": pearson, "p": p, "q": q,
            "significant": significant(q, alpha, tested), "monthly_mean": monthly_mean}


def seasonal_profiles(counts: pd.DataFrame, *, area_col: str = "area", theme_col: str = "theme",
                      coverage: tuple | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """One row per area x theme x month of year: the index over the complete calendar years
    and the family's profile test (every series of ``counts`` is one family). ``coverage``
    (first, last month) gives the span the data cover when it is wider than the rows."""
    from .change import monthly_matrix

    if counts.empty:
        return pd.DataFrame(columns=PROFILE_COLUMNS)
    cells, span, matrix = monthly_matrix(counts, area_col, theme_col)
    first, last = coverage if coverage else (span[0], span[-1])
    years = complete_years(first, last)
    reasons = None
    if len(years) >= 1:
        full = pd.date_range(f"{years[0]}-01-01", f"{years[-1]}-12-01", freq="MS")
        wide = pd.DataFrame(matrix, columns=span).reindex(columns=full, fill_value=0.0).to_numpy()
        table = wide.reshape(len(cells), len(years), 12)
    else:
        table = np.zeros((len(cells), 0, 12))
    r = seasonality_family(table, alpha=alpha)
    reasons = np.where(r["tested"], None, np.where(
        len(years) < MIN_YEARS, f"{len(years)} complete calendar years: a seasonal test needs {MIN_YEARS}",
        f"fewer than {MIN_MONTHLY_MEAN:g} events a month: too few to test"))
    rows = len(cells)
    return pd.DataFrame({
        "area": np.repeat(cells["area"].to_numpy(), 12), "theme": np.repeat(cells["theme"].to_numpy(), 12),
        "month_of_year": np.tile(np.arange(1, 13), rows),
        "mean_events": (table.mean(axis=1) if len(years) else np.full((rows, 12), np.nan)).ravel(),
        "index": r["index"].ravel() if len(years) else np.full(rows * 12, np.nan),
        "years_used": len(years), "p_value": np.repeat(r["p"], 12), "q_value": np.repeat(r["q"], 12),
        "significant": pd.array(np.repeat(r["significant"], 12), dtype="boolean"), "dispersion": r["kappa"],
        "reason": np.repeat(reasons, 12),
    })[PROFILE_COLUMNS]
