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

Over-dispersion. Recorded crime varies from year to year more than Poisson, and the month x
year table of one series cannot show it (its residuals after year and month effects see only
month-to-month noise). So the variance of the year totals is the negative binomial
``Var(N_y) = mu + kappa mu^2`` with ``kappa`` estimated for each group of comparable series
(the same theme, or category, in every partnership of the force area) from their 12-month
totals (csp.analysis.dispersion, a robust Pearson moment estimate at the median across the
group, so one series with a real trend does not hide itself); the p-value refers z to
Student's t on Satterthwaite's degrees of freedom for that estimate (csp.analysis.dispersion).
The score test of ``beta = 0`` in that NB2 log-linear model, with the common mean
``mu = n / years`` under the null, has

    Var(U) = (mu + kappa mu^2) sum_y (y - ybar)^2,

which is the Poisson score variance above times ``1 + kappa mu``; ``dispersion`` reports that
factor (the series' variance over Poisson's) and ``nb_dispersion`` the group's ``kappa``. With
kappa 0 it is the Poisson score test exactly (a statsmodels Poisson GLM score test gives the
same z), and with kappa fixed the NB2 GLM score test. With three years, the least-squares
contrast of equally spaced years weights them -1, 0, +1: the middle year's total fixes the
level, not the slope (any linear trend test does this); ``year_totals`` shows all three.
``annual_change_pct`` is ``100 (exp(U / Var_Poisson(U)) - 1)``, the one-step estimate of the
change per year. q-values: Benjamini-Hochberg across the series tested together.

A series with fewer than ``MIN_EVENTS`` events over the years is not tested (``significant``
null, ``reason`` says why). ``direction`` is ``rising`` or ``falling`` when significant, ``no
clear trend`` when tested and not, null when not tested.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from .change import month_start, monthly_matrix, span_totals
from .dispersion import grouped_dispersion, t_adjusted_p
from .fdr import bh_adjust, significant

DEFAULT_YEARS = 3
MIN_YEARS = 2
MIN_EVENTS = 20
THIN_REASON = f"fewer than {MIN_EVENTS} events over the years: too few to test"
COLUMNS = ["area", "theme", "first_month", "years", "year_totals", "total", "z", "dispersion",
           "annual_change_pct", "p_value", "q_value", "significant", "direction", "nb_dispersion",
           "reason"]


def trend_family(year_totals, *, groups=None, kappa=None, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """The trend test of one family: ``year_totals`` (series, years), oldest year first; each
    series' kappa is estimated from them, pooled within ``groups`` of comparable series,
    unless given."""
    t = np.asarray(year_totals, dtype=float)
    df = np.inf
    if kappa is None:
        kappa, df = grouped_dispersion(t, np.zeros(len(t)) if groups is None else groups)
    kappa = np.broadcast_to(np.asarray(kappa, dtype=float), (len(t),))
    span = t.shape[1]
    y = np.arange(span, dtype=float)
    n = t.sum(axis=1)
    mu = n / span
    syy = np.sum((y - y.mean()) ** 2)
    u = t @ y - n * y.mean()
    var_poisson = mu * syy
    inflation = 1 + kappa * mu
    tested = n >= MIN_EVENTS
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_poisson > 0, u / np.sqrt(var_poisson * inflation), 0.0)
        annual = 100.0 * np.expm1(np.where(var_poisson > 0, u / var_poisson, 0.0))
    p = np.where(tested, t_adjusted_p(2 * norm.sf(np.abs(z)), kappa, mu, df), np.nan)
    q = bh_adjust(p)
    sig = significant(q, alpha, tested)
    flagged = sig.fillna(False).to_numpy(dtype=bool)
    direction = np.select([flagged & (z > 0), flagged & (z < 0), tested], ["rising", "falling", "no clear trend"], None)
    return {"kappa": kappa, "tested": tested, "z": z, "p": p, "q": q, "significant": sig, "annual": annual,
            "inflation": inflation, "n": n, "direction": direction}


def trend_test(counts: pd.DataFrame, reference_month, *, area_col: str = "area", theme_col: str = "theme",
               years: int = DEFAULT_YEARS, alpha: float = 0.05, kappa: float | None = None) -> pd.DataFrame:
    """One row per (area, theme) of ``counts`` (columns month, area_col, theme_col, events; several
    rows a month are summed, missing months are zero). Uses as many complete years ending at
    ``reference_month`` as the data cover, up to ``years``; fewer than two raises ValueError.
    The series of ``counts`` are one family (one kappa, one BH family)."""
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
    cells, months, matrix = monthly_matrix(counts, area_col, theme_col)
    full = months.union(pd.date_range(months[-1], ref, freq="MS"))
    wide = np.pad(matrix, ((0, 0), (0, len(full) - len(months))))
    year_totals = span_totals(wide, full, ref - pd.DateOffset(months=11), ref)[:, :span][:, ::-1]
    r = trend_family(year_totals, groups=cells["theme"].to_numpy(), kappa=kappa, alpha=alpha)
    return pd.DataFrame({
        "area": cells["area"], "theme": cells["theme"],
        "first_month": first, "years": span,
        "year_totals": [" / ".join(str(int(v)) for v in row) for row in year_totals],
        "total": r["n"].astype(np.int64), "z": r["z"], "dispersion": r["inflation"], "annual_change_pct": r["annual"],
        "p_value": r["p"], "q_value": r["q"], "significant": r["significant"], "direction": r["direction"],
        "nb_dispersion": r["kappa"], "reason": np.where(r["tested"], None, THIN_REASON),
    })[COLUMNS]
