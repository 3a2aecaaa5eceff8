"""Control charts for a monthly count series, with run rules and a seasonal baseline.

Method
------
* **Centre line**: the mean of the baseline months (``baseline_months`` first months, default all).
* **Sigma**: default ``"poisson"``, the c-chart sigma ``sqrt(expected)`` (Montgomery,
  *Introduction to Statistical Quality Control*, 7.3.1), the right model for counts of
  independent events in equal periods. ``"moving_range"`` gives the XmR (individuals) chart,
  sigma = mean |x_t - x_{t-1}| / 1.128 (d2 for n = 2, Montgomery 6.4), which absorbs the
  over-dispersion common in crime counts at the cost of needing a stable baseline.
  Limits are at 2 and 3 sigma; the lower limits are clipped at 0.
* **Seasonal baseline** when the baseline holds at least ``seasonal_min_months`` (default 36)
  months: ``expected_t = level * S_{month(t)}``, where ``level`` is the baseline mean and S the
  seasonal index of ``seasonality.seasonal_index`` over the complete calendar years of the
  baseline (ratio of the calendar month's mean to the overall mean). With the Poisson sigma the
  limits then follow the expected value month by month; otherwise expected is the flat mean.
* **Run rules** (Western Electric *Statistical Quality Control Handbook* 1956; Nelson 1984,
  J. Quality Technology 16(4)), evaluated on the standardised residual
  ``z_t = (x_t - expected_t) / sigma_t`` so that a seasonal peak is not a signal:
  1. ``beyond_3sigma``: one point beyond 3 sigma;
  2. ``run_9``: 9 consecutive points on the same side of the centre line;
  3. ``trend_6``: 6 consecutive points steadily rising or falling (5 rises or 5 falls);
  4. ``two_of_three_2sigma``: 2 of 3 consecutive points beyond 2 sigma on the same side.
  Every point belonging to a run that satisfies a rule is flagged, not only its last point.
* **Published exceedances** (``exceedance_family``, what ``analysis.exceedances`` holds): the
  chart above is the descriptive picture; the flag a report prints is a calibrated test of
  the judged window (the last ``judged_months``, default 6) against a baseline that excludes
  it (every earlier month). Expected for a judged month is the baseline level (its mean after
  the seasonal factors are divided out) times that calendar month's seasonal factor, the
  factors estimated from the baseline months only (the monthly means of the series' group,
  e.g. the theme summed over the force area, so twelve factors are not guessed from two
  values each) when the baseline holds at least ``seasonal_min_months`` (24). The
  predictive variance of a judged count is ``e + kappa e^2 + e^2 (1/level + kappa) / n_b``:
  NB2 month-to-month variation with ``kappa`` pooled across the family's baselines
  (csp.analysis.dispersion.residual_dispersion, Pearson residuals about each baseline's fit),
  plus the uncertainty of a level estimated from ``n_b`` months; ``kappa`` is the larger of
  the baselines' in-sample dispersion and the dispersion of each baseline's last six months
  predicted from its earlier months (``prediction_dispersion``), which sees the drift of the
  level from year to year that a single month's residual cannot. The two-sided p-value comes
  from the negative binomial of that mean and variance (Poisson when kappa is 0); BH q-values
  run across every judged month of every chart in the family, and ``signal`` is ``q <
  alpha``, with ``direction`` ``above expected`` or ``below expected``. The run-rule columns
  are still computed on the predictive z for the chart reader but are not signals: together
  their false-alarm rate over dozens of charts is far above any stated level.
* **Refusal**: a series with fewer than ``min_points`` months (default 12) or a baseline mean
  below ``min_mean`` events a month (default 5) is refused: the function returns a
  ``ControlChart`` whose ``refused`` says why and whose frame is empty, rather than raising, so a
  report can print the reason beside the theme. Malformed input (missing columns, negative
  counts, unknown sigma) raises ValueError. Missing months between the first and last are zero.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scipy.stats import nbinom, poisson

from .dispersion import residual_dispersion
from .fdr import bh_adjust
from .seasonality import complete_years

DEFAULT_MIN_POINTS = 12
DEFAULT_MIN_MEAN = 5.0
DEFAULT_SEASONAL_MIN_MONTHS = 36
D2 = 1.128  # unbiasing constant of the moving range of two observations
RULES = ["beyond_3sigma", "run_9", "trend_6", "two_of_three_2sigma"]
FRAME_COLUMNS = ["month", "events", "expected", "sigma", "lcl3", "lcl2", "ucl2", "ucl3", "z",
                 *RULES, "signal"]
DEFAULT_JUDGED_MONTHS = 6
FAMILY_SEASONAL_MIN_MONTHS = 24
DEFAULT_ALPHA = 0.05
EXCEEDANCE_COLUMNS = [*FRAME_COLUMNS, "direction", "p_value", "q_value", "seasonal", "dispersion",
                      "baseline_start", "baseline_end", "refused"]


@dataclass
class ControlChart:
    frame: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FRAME_COLUMNS))
    centre: float = float("nan")
    sigma_method: str = "poisson"
    seasonal: bool = False
    refused: str | None = None

    @property
    def signals(self) -> pd.DataFrame:
        """The flagged months only."""
        return self.frame[self.frame["signal"]] if not self.frame.empty else self.frame


def _spread_back(end_flags: np.ndarray, length: int) -> np.ndarray:
    """Mark the ``length`` points ending at each True of ``end_flags`` (the whole run)."""
    s = pd.Series(end_flags[::-1].astype(float))
    return (s.rolling(length, min_periods=1).max().to_numpy()[::-1] > 0)


def _run_rules(z: np.ndarray) -> dict[str, np.ndarray]:
    zs = pd.Series(z)
    above, below = (zs > 0).astype(float), (zs < 0).astype(float)
    run9_end = ((above.rolling(9).sum() == 9) | (below.rolling(9).sum() == 9)).to_numpy()
    d = zs.diff()
    up, down = (d > 0).astype(float), (d < 0).astype(float)
    trend_end = ((up.rolling(5).sum() == 5) | (down.rolling(5).sum() == 5)).to_numpy()
    hi, lo = (zs > 2).astype(float), (zs < -2).astype(float)
    two3_end = ((hi.rolling(3).sum() >= 2) | (lo.rolling(3).sum() >= 2)).to_numpy()
    # within a qualifying 3-window only the points beyond 2 sigma are the signal
    two3 = _spread_back(two3_end, 3) & (np.abs(z) > 2)
    return {
        "beyond_3sigma": np.abs(z) > 3,
        "run_9": _spread_back(run9_end, 9),
        "trend_6": _spread_back(trend_end, 6),
        "two_of_three_2sigma": two3,
    }


def _seasonal_factors(base: pd.Series) -> np.ndarray | None:
    """The baseline's seasonal index (csp.analysis.seasonality.seasonal_index of one series,
    computed directly: the analysis draws ~90 charts a run) as 12 factors, January first;
    None when the baseline holds no complete calendar year or no events in them."""
    years = complete_years(base.index[0], base.index[-1])
    if not years:
        return None
    in_years = base[(base.index.year >= years[0]) & (base.index.year <= years[-1])]
    values = in_years.to_numpy(dtype=float)
    overall = values.mean()
    if not overall > 0:
        return None
    by_month = np.bincount(in_years.index.month.to_numpy() - 1, weights=values, minlength=12) / len(years)
    return by_month / overall


def control_chart(
    series,
    *,
    sigma: str = "poisson",
    baseline_months: int | None = None,
    min_points: int = DEFAULT_MIN_POINTS,
    min_mean: float = DEFAULT_MIN_MEAN,
    seasonal_min_months: int = DEFAULT_SEASONAL_MIN_MONTHS,
) -> ControlChart:
    """Control chart of one monthly series.

    ``series`` is a frame with columns month, events (several rows a month are summed) or a
    Series indexed by month.
    """
    if sigma not in ("poisson", "moving_range"):
        raise ValueError("sigma must be 'poisson' or 'moving_range'")
    if isinstance(series, pd.Series):
        frame = pd.DataFrame({"month": series.index, "events": series.to_numpy()})
    else:
        frame = series
    missing = {"month", "events"} - set(frame.columns)
    if missing:
        raise ValueError(f"series lacks columns: {sorted(missing)}")
    if (pd.to_numeric(frame["events"]) < 0).any():
        raise ValueError("events must be non-negative")
    if frame.empty:
        return ControlChart(sigma_method=sigma, refused="no data")
    months = pd.to_datetime(frame["month"]).dt.to_period("M").dt.to_timestamp()
    monthly = frame.assign(month=months).groupby("month")["events"].sum().astype(float)
    full_index = pd.date_range(monthly.index.min(), monthly.index.max(), freq="MS")
    x = monthly.reindex(full_index, fill_value=0.0)
    n = len(x)
    if n < min_points:
        return ControlChart(sigma_method=sigma,
                            refused=f"{n} months: a control chart needs at least {min_points}")
    nb = n if baseline_months is None else min(int(baseline_months), n)
    base = x.iloc[:nb]
    centre = float(base.mean())
    if centre < min_mean:
        return ControlChart(centre=centre, sigma_method=sigma,
                            refused=f"mean {centre:.1f} events a month is below {min_mean:g}: "
                                    "too few for a control chart")
    seasonal = nb >= seasonal_min_months
    expected = np.full(n, centre)
    if seasonal:
        factors = _seasonal_factors(base)
        if factors is not None:
            expected = centre * factors[x.index.month.to_numpy() - 1]
        else:  # fewer than one complete year inside the baseline: stay flat
            seasonal = False
    if sigma == "poisson":
        sig = np.sqrt(expected)
    else:
        resid = base.to_numpy() - expected[:nb]
        sig = np.full(n, np.mean(np.abs(np.diff(resid))) / D2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sig > 0, (x.to_numpy() - expected) / sig, 0.0)
    rules = _run_rules(z)
    out = pd.DataFrame({
        "month": x.index, "events": x.to_numpy(), "expected": expected, "sigma": sig,
        "lcl3": np.maximum(expected - 3 * sig, 0.0), "lcl2": np.maximum(expected - 2 * sig, 0.0),
        "ucl2": expected + 2 * sig, "ucl3": expected + 3 * sig, "z": z, **rules,
    })
    out["signal"] = out[RULES].any(axis=1)
    return ControlChart(frame=out[FRAME_COLUMNS], centre=centre, sigma_method=sigma,
                        seasonal=seasonal)


def predictive_p(observed, mean, variance) -> np.ndarray:
    """Two-sided p-value of counts against a negative binomial of the given mean and variance
    (Poisson where the variance does not exceed the mean): twice the smaller tail, capped at 1."""
    x = np.asarray(observed, dtype=float)
    m = np.asarray(mean, dtype=float)
    v = np.asarray(variance, dtype=float)
    over = v > m * (1 + 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(over, m**2 / (v - m), 1.0)
        prob = np.where(over, r / (r + m), 0.5)
    lower = np.where(over, nbinom.cdf(x, r, prob), poisson.cdf(x, m))
    upper = np.where(over, nbinom.sf(x - 1, r, prob), poisson.sf(x - 1, m))
    return np.minimum(1.0, 2 * np.minimum(lower, upper))


def seasonal_factors_by_group(baseline: np.ndarray, calendar_month: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(series, 12) factors, January first: each group's mean count in each calendar month of
    the baseline over its overall monthly mean (the group summed over its series)."""
    factors = np.ones((len(baseline), 12))
    for g in np.unique(groups):
        rows = groups == g
        total = baseline[rows].sum(axis=0)
        by_month = np.array([total[calendar_month == m].mean() for m in range(1, 13)])
        overall = by_month.mean()
        if overall > 0:
            factors[rows] = by_month / overall
    return factors


def prediction_dispersion(baseline: np.ndarray, factors: np.ndarray, window: int, fitted_per_series: float) -> float:
    """NB2 kappa of a judged month about its prediction, pooled across the family: the larger
    of (1) the in-sample estimate, Pearson residuals of each baseline about its level and
    seasonal factors (``fitted_per_series`` parameters each), which holds month-to-month
    variation, and (2) an out-of-sample one, each baseline's last ``window`` months predicted
    from the months before them (mean-matched: the months of one window share any shift of
    the year), which also holds the drift of the level between years that a baseline from
    other months cannot see. Taking the larger errs on the side of fewer flags."""
    nb = baseline.shape[1]
    safe = np.where(factors > 0, factors, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.nan_to_num((baseline / safe).mean(axis=1))
    in_sample = residual_dispersion(baseline, level[:, None] * factors, max(nb - fitted_per_series, 1))
    fit = nb - window
    if fit < 12:
        return in_sample
    with np.errstate(divide="ignore", invalid="ignore"):
        early = np.nan_to_num((baseline[:, :fit] / safe[:, :fit]).mean(axis=1))
    out_of_sample = residual_dispersion(baseline[:, fit:], early[:, None] * factors[:, fit:], window, robust=False)
    return max(in_sample, out_of_sample)


def exceedance_family(matrix, months: pd.DatetimeIndex, *, groups=None, judged_months: int = DEFAULT_JUDGED_MONTHS,
                      min_points: int = DEFAULT_MIN_POINTS, min_mean: float = DEFAULT_MIN_MEAN,
                      seasonal_min_months: int = FAMILY_SEASONAL_MIN_MONTHS, kappa: float | None = None,
                      alpha: float = DEFAULT_ALPHA) -> dict[str, np.ndarray]:
    """The calibrated exceedance test of a family of monthly series (``matrix`` series x months,
    the last ``judged_months`` judged): arrays of shape (series, judged) for expected, variance,
    z, p, q, signal, direction, plus per series ``refused`` (None or why), ``seasonal`` and the
    family's kappa."""
    x = np.asarray(matrix, dtype=float)
    n_series, n = x.shape
    groups = np.zeros(n_series, dtype=int) if groups is None else np.asarray(groups)
    nb = n - judged_months
    refused = np.full(n_series, None, dtype=object)
    if nb < min_points:
        refused[:] = f"{nb} baseline months: the test needs at least {min_points} before the {judged_months} judged"
        nb = max(nb, 0)
    base = x[:, :nb]
    calendar = months.month.to_numpy()
    seasonal = nb >= seasonal_min_months
    factors = (seasonal_factors_by_group(base, calendar[:nb], groups) if seasonal
               else np.ones((n_series, 12)))
    f = factors[:, calendar - 1]
    level = np.zeros(n_series)
    if nb:
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.nan_to_num((base / np.where(f[:, :nb] > 0, f[:, :nb], np.nan)).mean(axis=1), nan=0.0)
    low = (level < min_mean) & np.equal(refused, None)
    refused[low] = [f"mean {m:.1f} events a month is below {min_mean:g}: too few for a control chart"
                    for m in level[low]]
    ok = np.equal(refused, None)
    expected = level[:, None] * f
    if kappa is None:
        # each baseline fits its level; each group's series share its 11 seasonal contrasts
        fitted = 1 + (11 * len(np.unique(groups)) / n_series if seasonal else 0)
        kappa = prediction_dispersion(base[ok], f[ok, :nb], judged_months, fitted) if ok.any() else 0.0
    inverse_level = 1 / np.where(level > 0, level, np.inf)
    variance = expected + kappa * expected**2 + expected**2 * inverse_level[:, None] / max(nb, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, (x - expected) / np.sqrt(variance), 0.0)
    judged = slice(nb, n)
    # a history shorter than the judged window judges what there is (and refuses every series)
    p = np.full((n_series, n - nb), np.nan)
    p[ok] = predictive_p(x[ok, judged], expected[ok, judged], variance[ok, judged])
    q = bh_adjust(p)
    flagged = np.nan_to_num(q, nan=1.0) < alpha
    resid = x[:, judged] - expected[:, judged]
    direction = np.where(flagged, np.where(resid > 0, "above expected", "below expected"), None)
    return {"expected": expected, "variance": variance, "z": z, "p": p, "q": q, "signal": flagged,
            "direction": direction, "refused": refused, "seasonal": seasonal, "kappa": kappa, "baseline_months": nb}


def exceedance_table(counts: pd.DataFrame, reference_month, *, area_col: str = "csp_code", theme_col: str = "theme",
                     judged_months: int = DEFAULT_JUDGED_MONTHS, alpha: float = DEFAULT_ALPHA) -> pd.DataFrame:
    """One row per area x theme x judged month (or one row per refused series saying why):
    the family's calibrated exceedances, every series of ``counts`` (month, area_col,
    theme_col, events) up to ``reference_month`` judged together. Seasonal factors are each
    theme's, from the series of that theme summed."""
    from .change import monthly_matrix

    ref = pd.Timestamp(reference_month)
    history = counts[pd.to_datetime(counts["month"]) <= ref]
    if history.empty:
        return pd.DataFrame(columns=[area_col, theme_col, *EXCEEDANCE_COLUMNS])
    cells, span, matrix = monthly_matrix(history, area_col, theme_col)
    full = span.union(pd.date_range(span[-1], ref.to_period("M").to_timestamp(), freq="MS"))
    matrix = np.pad(matrix, ((0, 0), (0, len(full) - len(span))))
    r = exceedance_family(matrix, full, groups=pd.factorize(cells["theme"])[0], judged_months=judged_months,
                          alpha=alpha)
    nb = r["baseline_months"]
    frames = []
    for i, cell in cells.iterrows():
        if r["refused"][i] is not None:
            frames.append(pd.DataFrame({area_col: [cell["area"]], theme_col: [cell["theme"]],
                                        "refused": [r["refused"][i]]}))
            continue
        sd = np.sqrt(r["variance"][i, nb:])
        e = r["expected"][i, nb:]
        z_all = r["z"][i]
        rules = {k: v[nb:] for k, v in _run_rules(z_all).items()}
        frames.append(pd.DataFrame({
            area_col: cell["area"], theme_col: cell["theme"], "month": full[nb:], "events": matrix[i, nb:],
            "expected": e, "sigma": sd, "lcl3": np.maximum(e - 3 * sd, 0.0), "lcl2": np.maximum(e - 2 * sd, 0.0),
            "ucl2": e + 2 * sd, "ucl3": e + 3 * sd, "z": z_all[nb:], **rules,
            "signal": r["signal"][i], "direction": r["direction"][i], "p_value": r["p"][i], "q_value": r["q"][i],
            "seasonal": r["seasonal"], "dispersion": r["kappa"], "baseline_start": full[0],
            "baseline_end": full[nb - 1], "refused": None,
        }))
    table = pd.concat(frames, ignore_index=True)
    return table.reindex(columns=[area_col, theme_col, *EXCEEDANCE_COLUMNS])
