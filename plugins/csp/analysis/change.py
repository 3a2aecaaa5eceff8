"""Change over time: rolling 12 months and year to date against the same span a year earlier.

Method
------
For each (area, theme) the events in the current window (``current``) and in the window of the
same length twelve months earlier (``previous``) are compared.

* **Exact conditional test with over-dispersion**. If the two counts are Poisson with equal
  rates, ``current | current + previous ~ Binomial(n, p0)`` with ``p0`` the current window's
  share of the days (Przyborowski and Wilenski 1940; Lehmann, *Testing Statistical
  Hypotheses*, 4.5): 1/2 for windows of equal length, so per-day rates are compared where a
  leap day makes them differ. Recorded crime varies more than Poisson, so each window's rate
  is itself gamma-distributed about the common rate (the negative binomial, NB2 variance
  ``mu + kappa mu^2``); the current window's share of the two rates is then Beta, and
  ``current | n ~ BetaBinomial(n, a, b)`` with ``a = 2 p0 / kappa``, ``b = 2 (1 - p0) /
  kappa`` (exact for equal windows, where a = b = 1/kappa; Johnson, Kemp and Kotz,
  *Univariate Discrete Distributions*, 6.7.2). ``kappa`` is estimated for each group of
  comparable series (the same theme, or category, in every partnership of the force area) from
  their same-span totals in every year of history (csp.analysis.dispersion), so year-to-year
  variation that one series cannot show is seen. Because kappa is an estimate from a few
  series, the test's normal deviate is referred to Student's t on Satterthwaite's degrees of
  freedom (csp.analysis.dispersion.t_adjusted_p), which matters only where the extra
  variation dominates the Poisson part. As kappa -> 0 this is the
  binomial test, identical to ``scipy.stats.binomtest(current, n, 0.5).pvalue`` for equal
  windows. Two-sided: twice the smaller tail, capped at 1; a tie or no events gives 1. Above
  ``EXACT_MAX_N`` (500) events the beta-binomial tails are taken from its normal form (same
  mean and variance, continuity-corrected): scipy sums the exact tail term by term, and at
  that size the difference is negligible.
* **Too thin to test**: with fewer than ``MIN_EVENTS`` (10) events in the two windows together
  the test is not run: ``significant`` is null and ``reason`` says why (a test that cannot
  reach significance only dilutes the family).
* **Square-root Z** (Wheeler 2016, 'Tables and graphs for monitoring temporal crime trends',
  Police Practice and Research 17(5)). Wheeler's ``2 (sqrt(current) - sqrt(baseline))`` treats the
  baseline as a known mean. Here both counts are observed, each square root has variance about
  1/4, so the difference has variance 1/2 and the statistic used is the plain (not Anscombe
  +3/8) two-sample form ``z = (sqrt(current) - sqrt(previous)) / sqrt(1/2)``. It is reported as
  an effect size for tables; the decision uses the exact p-value.
* **Benjamini-Hochberg** q-values (``fdr.bh_adjust``) across all area x theme tests of one
  comparison (rolling 12 months and year to date are separate families); ``significant`` is
  ``q < alpha`` (default 0.05).
* **Percent change** of the per-day rate only where ``previous >= min_base`` (default 20
  events); below that it is missing (NaN), because a percentage on a small base mostly shows
  noise (Wheeler 2016). It comes with a 95 % interval, ``pct_change_low`` and
  ``pct_change_high``, from the rate ratio's log-scale standard error
  ``sqrt(1/current + 1/previous + 2 kappa)`` (the delta method for two over-dispersed counts).

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
from scipy.stats import betabinom, binom, norm

from .dispersion import grouped_dispersion, t_adjusted_p
from .fdr import bh_adjust, significant

DEFAULT_MIN_BASE = 20
MIN_EVENTS = 10
EXACT_MAX_N = 500  # above this many events the over-dispersed test uses its normal form
DEFAULT_ALPHA = 0.05
DEFAULT_YEAR_START_MONTH = 4

COLUMNS = [
    "comparison", "area", "theme", "current_start", "current_end", "current", "previous",
    "change", "pct_change", "z", "p_value", "q_value", "significant", "direction",
    "pct_change_low", "pct_change_high", "current_days", "previous_days", "dispersion", "reason",
]
THIN_REASON = f"fewer than {MIN_EVENTS} events in the two windows: too few to test"


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


def overdispersed_conditional_p(current, previous, *, kappa=0.0, share: float | np.ndarray = 0.5) -> np.ndarray:
    """Two-sided conditional test of equal per-day rates: ``current | n`` is Binomial(n, share)
    for Poisson counts (kappa 0), BetaBinomial(n, 2 share / kappa, 2 (1 - share) / kappa) for
    NB2 counts of dispersion kappa; twice the smaller tail, capped at 1."""
    x1, x0 = np.broadcast_arrays(np.atleast_1d(np.asarray(current, dtype=float)),
                                 np.atleast_1d(np.asarray(previous, dtype=float)))
    if np.any(x1 < 0) or np.any(x0 < 0):
        raise ValueError("counts must be non-negative")
    kappa = np.broadcast_to(np.asarray(kappa, dtype=float), np.broadcast(x1, x0).shape)
    if np.any(kappa < 0):
        raise ValueError("kappa must be non-negative")
    n = x1 + x0
    share = np.broadcast_to(np.asarray(share, dtype=float), n.shape)
    lower, upper = np.atleast_1d(binom.cdf(x1, n, share)), np.atleast_1d(binom.sf(x1 - 1, n, share))
    exact = (kappa > 0) & (n <= EXACT_MAX_N)
    if exact.any():
        a, b = 2 * share[exact] / kappa[exact], 2 * (1 - share[exact]) / kappa[exact]
        lower[exact] = betabinom.cdf(x1[exact], n[exact], a, b)
        upper[exact] = betabinom.sf(x1[exact] - 1, n[exact], a, b)
    large = (kappa > 0) & (n > EXACT_MAX_N)
    if large.any():
        # the beta-binomial's mean and variance with a continuity correction: at these sizes
        # its skewness is negligible (nil for equal windows), and scipy sums it term by term
        mean = n[large] * share[large]
        rho = 1 / (2 / kappa[large] + 1)
        sd = np.sqrt(mean * (1 - share[large]) * (1 + (n[large] - 1) * rho))
        lower[large] = norm.cdf((x1[large] + 0.5 - mean) / sd)
        upper[large] = norm.sf((x1[large] - 0.5 - mean) / sd)
    p = np.minimum(1.0, 2.0 * np.minimum(lower, upper))
    return np.where(n == 0, 1.0, p)


def percent_change_interval(current, previous, current_days, previous_days, *, kappa: float = 0.0,
                            min_base: int = DEFAULT_MIN_BASE, level: float = 0.95):
    """(percent change of the per-day rate, low, high): NaN where previous < min_base or a
    count is zero (no log-scale interval)."""
    c = np.asarray(current, dtype=float)
    p = np.asarray(previous, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (c / np.asarray(current_days, dtype=float)) / (p / np.asarray(previous_days, dtype=float))
        half = norm.ppf(0.5 + level / 2) * np.sqrt(1 / c + 1 / p + 2 * kappa)
        shown = (p >= min_base)
        pct = np.where(shown, 100 * (ratio - 1), np.nan)
        ok = shown & (c > 0)
        low = np.where(ok, 100 * (ratio * np.exp(-half) - 1), np.nan)
        high = np.where(ok, 100 * (ratio * np.exp(half) - 1), np.nan)
    return pct, low, high


def monthly_matrix(counts: pd.DataFrame, area_col: str,
                   theme_col: str) -> tuple[pd.DataFrame, pd.DatetimeIndex, np.ndarray]:
    """(cells: area, theme in sorted order; every month from the first to the last; the
    cells x months matrix of events, zero where the marts have no row): the one shape every
    series test of the analysis computes on."""
    missing = {"month", area_col, theme_col, "events"} - set(counts.columns)
    if missing:
        raise ValueError(f"counts lacks columns: {sorted(missing)}")
    events = counts["events"].to_numpy(dtype=float)
    if (events < 0).any():
        raise ValueError("events must be non-negative")
    months = pd.to_datetime(counts["month"]).dt.to_period("M").dt.to_timestamp()
    span = pd.date_range(months.min(), months.max(), freq="MS")
    keys = pd.MultiIndex.from_arrays([counts[area_col].to_numpy(), counts[theme_col].to_numpy()])
    codes, cells = pd.factorize(keys, sort=True)
    column = ((months.dt.year - span[0].year) * 12 + months.dt.month - span[0].month).to_numpy()
    matrix = np.zeros((len(cells), len(span)))
    np.add.at(matrix, (codes, column), events)
    return pd.DataFrame(cells.tolist(), columns=["area", "theme"]), span, matrix


def span_totals(matrix: np.ndarray, span: pd.DatetimeIndex, start, end) -> np.ndarray:
    """(series, years) totals of the months start..end in each year back to the first year the
    data cover entirely, latest first: what a family's dispersion is estimated from."""
    columns = []
    back = 0
    while True:
        lo, hi = start - pd.DateOffset(years=back), end - pd.DateOffset(years=back)
        if lo < span[0] or hi > span[-1]:
            break
        i, j = span.get_loc(lo), span.get_loc(hi)
        columns.append(matrix[:, i:j + 1].sum(axis=1))
        back += 1
    return np.column_stack(columns) if columns else np.empty((len(matrix), 0))


def compare_family(current, previous, current_days: int, previous_days: int, history=None, *,
                   groups=None, kappa=None, alpha: float = DEFAULT_ALPHA,
                   min_base: int = DEFAULT_MIN_BASE) -> dict[str, np.ndarray]:
    """The change test of one family (arrays, one element per series): each series' dispersion
    (from ``history``, (series, years) same-span totals, pooled within ``groups`` of comparable
    series, unless ``kappa`` is given), p, BH q, the nullable ``significant``, percent change
    and its interval."""
    cur = np.asarray(current, dtype=float)
    prev = np.asarray(previous, dtype=float)
    df = np.inf
    if kappa is None:
        if history is None:
            kappa = 0.0
        else:
            kappa, df = grouped_dispersion(history, np.zeros(len(cur)) if groups is None else groups)
    kappa = np.broadcast_to(np.asarray(kappa, dtype=float), cur.shape)
    df = np.broadcast_to(np.asarray(df, dtype=float), cur.shape)
    tested = (cur + prev) >= MIN_EVENTS
    p = np.full(cur.shape, np.nan)
    exact = overdispersed_conditional_p(cur[tested], prev[tested], kappa=kappa[tested],
                                        share=current_days / (current_days + previous_days))
    p[tested] = t_adjusted_p(exact, kappa[tested], (cur[tested] + prev[tested]) / 2, df[tested])
    q = bh_adjust(p)
    pct, low, high = percent_change_interval(cur, prev, current_days, previous_days, kappa=kappa,
                                             min_base=min_base)
    return {"kappa": kappa, "tested": tested, "p": p, "q": q, "significant": significant(q, alpha, tested),
            "pct": pct, "low": low, "high": high}


def days(first_month, last_month) -> int:
    """Calendar days from the first day of ``first_month`` to the last of ``last_month``."""
    return int(((last_month + pd.offsets.MonthEnd(0)) - first_month).days) + 1


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
    dispersion: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Rolling 12 months and year to date versus a year earlier, per (area, theme).

    The area x theme series of ``counts`` are one family: each comparison's dispersion is
    estimated over all of them (``dispersion`` {comparison: kappa} overrides the estimate).

    ``counts`` has columns month, ``area_col``, ``theme_col``, events (several rows per cell are
    summed, so ``marts.monthly_counts`` can be passed as it is). Returns the tidy frame described in
    the module docstring, one row per comparison x area x theme that has any row in ``counts``;
    the output columns are always named ``area`` and ``theme``.
    """
    if counts.empty:
        missing = {"month", area_col, theme_col, "events"} - set(counts.columns)
        if missing:
            raise ValueError(f"counts lacks columns: {sorted(missing)}")
        return pd.DataFrame(columns=COLUMNS)
    cells, span, matrix = monthly_matrix(counts, area_col, theme_col)
    frames = []
    for name, (cur_start, cur_end, prev_start, prev_end) in windows(
        reference_month, year_start_month
    ).items():
        if span[0] > prev_start:
            raise ValueError(
                f"{name}: data start {span[0]:%Y-%m} after the comparison start "
                f"{prev_start:%Y-%m}; cannot compare a year earlier"
            )
        # months past the data's end are zero (the marts omit empty cells)
        full = span.union(pd.date_range(span[-1], cur_end, freq="MS"))
        wide = np.pad(matrix, ((0, 0), (0, len(full) - len(span))))
        history = span_totals(wide, full, cur_start, cur_end)
        cur, prev = history[:, 0], history[:, 1]
        cur_days, prev_days = days(cur_start, cur_end), days(prev_start, prev_end)
        kappa = dispersion.get(name) if dispersion else None
        result = compare_family(cur, prev, cur_days, prev_days, history, groups=cells["theme"].to_numpy(),
                                kappa=kappa, alpha=alpha, min_base=min_base)
        change = cur - prev
        frames.append(pd.DataFrame({
            "comparison": name, "area": cells["area"], "theme": cells["theme"],
            "current_start": cur_start, "current_end": cur_end,
            "current": cur.astype(np.int64), "previous": prev.astype(np.int64),
            "change": change.astype(np.int64), "pct_change": result["pct"], "z": sqrt_z(cur, prev),
            "p_value": result["p"], "q_value": result["q"], "significant": result["significant"],
            "direction": np.select([change > 0, change < 0], ["increase", "decrease"],
                                   "no change"),
            "pct_change_low": result["low"], "pct_change_high": result["high"],
            "current_days": cur_days, "previous_days": prev_days, "dispersion": result["kappa"],
            "reason": np.where(result["tested"], None, THIN_REASON),
        }))
    return pd.concat(frames, ignore_index=True)[COLUMNS]
