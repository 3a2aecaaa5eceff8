"""Sustained trend: is a series rising or falling from year to year, seasonality allowed for?

Method
------
The last ``years`` complete years of monthly counts ending at the reference month (default 3,
at least 2) form a month-of-year x year table. Under the log-linear Poisson model
``log mu[m, y] = alpha[m] + beta * y`` (a seasonal profile of any shape, scaled by a trend
across years), the **score test** of ``beta = 0`` conditional on the month totals uses

    U = sum_y y * N_y - n * ybar,      Var(U) = n * (mean(y^2) - ybar^2),      z = U / sqrt(Var)

where ``N_y`` are the year totals and ``n`` the grand total (Agresti, *Categorical Data
Analysis*, 3rd ed., 5.2 and 10.3: the Cochran-Armitage / Mantel trend score for a Poisson
table). Because every year holds the same twelve calendar months, a stable seasonal pattern adds
nothing to U: the test compares like months with like, as the same-month-last-year comparison
does, and uses all of them. Two-sided p-value from the normal distribution.

Over-dispersion: the Pearson X^2 of the month x year table against the seasonal-and-year
independence fit, on (12 - 1)(years - 1) degrees of freedom, estimates the dispersion
``phi = X^2 / df``. Where X^2 is significant at 1 % (more variation than Poisson, as real
crime series often have), z is divided by sqrt(phi) (quasi-Poisson); otherwise the Poisson
variance stands, so the test is neither over-confident on lumpy series nor needlessly
conservative on Poisson ones. ``annual_change_pct`` is ``100 (exp(U / Var) - 1)``, the one-step
estimate of the change per year. q-values: Benjamini-Hochberg across the series tested together.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from .change import month_start
from .fdr import bh_adjust

DEFAULT_YEARS = 3
MIN_YEARS = 2
DISPERSION_TEST_LEVEL = 0.01
COLUMNS = ["area", "theme", "first_month", "years", "year_totals", "total", "z", "dispersion",
           "annual_change_pct", "p_value", "q_value", "significant", "direction"]


def trend_test(counts: pd.DataFrame, reference_month, *, area_col: str = "area", theme_col: str = "theme",
               years: int = DEFAULT_YEARS, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (area, theme) of ``counts`` (columns month, area_col, theme_col, events; several
    rows a month are summed, missing months are zero). Uses as many complete years ending at
    ``reference_month`` as the data cover, up to ``years``; fewer than two raises ValueError."""
    if counts.empty:
        return pd.DataFrame(columns=COLUMNS)
    ref = month_start(reference_month)
    first_data = pd.to_datetime(counts["month"]).min()
    available = ((ref.year - first_data.year) * 12 + ref.month - first_data.month + 1) // 12
    span = min(years, available)
    if span < MIN_YEARS:
        raise ValueError(f"a trend test needs {MIN_YEARS} complete years ending {ref:%Y-%m}; "
                         f"the data start {first_data:%Y-%m}")
    first = ref - pd.DateOffset(months=12 * span - 1)
    months = pd.to_datetime(counts["month"]).dt.to_period("M").dt.to_timestamp()
    inside = months.between(first, ref)
    offset = (months.dt.year - first.year) * 12 + months.dt.month - first.month
    data = pd.DataFrame({"area": counts[area_col].to_numpy(), "theme": counts[theme_col].to_numpy(),
                         "year": (offset // 12).to_numpy(), "month": (offset % 12).to_numpy(),
                         "events": counts["events"].to_numpy(dtype=float)})[inside.to_numpy()]
    cells = counts[[area_col, theme_col]].drop_duplicates().set_axis(["area", "theme"], axis=1)
    # One row per series, one column per (year, month): the month x year tables, side by side.
    table = (data.pivot_table(index=["area", "theme"], columns=["year", "month"], values="events",
                              aggfunc="sum", fill_value=0.0)
             .reindex(pd.MultiIndex.from_frame(cells), fill_value=0.0)
             .reindex(columns=pd.MultiIndex.from_product([range(span), range(12)]), fill_value=0.0))
    x = table.to_numpy().reshape(len(table), span, 12)
    n = x.sum(axis=(1, 2))
    year_totals = x.sum(axis=2)
    y = np.arange(span, dtype=float)
    u = year_totals @ y - n * y.mean()
    var = n * (np.mean(y**2) - y.mean() ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = year_totals[:, :, None] * x.sum(axis=1)[:, None, :] / n[:, None, None]
        pearson = np.nansum(np.where(expected > 0, (x - expected) ** 2 / expected, 0.0), axis=(1, 2))
        df = 11 * (span - 1)
        phi = np.where(chi2.sf(pearson, df) < DISPERSION_TEST_LEVEL, pearson / df, 1.0)
        z = np.where(var > 0, u / np.sqrt(var * phi), 0.0)
        annual = 100.0 * np.expm1(np.where(var > 0, u / var, 0.0))
    p = 2 * norm.sf(np.abs(z))
    q = bh_adjust(p)
    return pd.DataFrame({
        "area": table.index.get_level_values(0), "theme": table.index.get_level_values(1),
        "first_month": first, "years": span,
        "year_totals": [" / ".join(str(int(v)) for v in row) for row in year_totals],
        "total": n.astype(np.int64), "z": z, "dispersion": phi, "annual_change_pct": annual,
        "p_value": p, "q_value": q, "significant": q < alpha,
        "direction": np.select([(q < alpha) & (z > 0), (q < alpha) & (z < 0)], ["rising", "falling"], "no trend"),
    })[COLUMNS]
