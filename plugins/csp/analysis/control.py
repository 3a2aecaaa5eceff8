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

from .seasonality import complete_years

DEFAULT_MIN_POINTS = 12
DEFAULT_MIN_MEAN = 5.0
DEFAULT_SEASONAL_MIN_MONTHS = 36
D2 = 1.128  # unbiasing constant of the moving range of two observations
RULES = ["beyond_3sigma", "run_9", "trend_6", "two_of_three_2sigma"]
FRAME_COLUMNS = ["month", "events", "expected", "sigma", "lcl3", "lcl2", "ucl2", "ucl3", "z",
                 *RULES, "signal"]


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
