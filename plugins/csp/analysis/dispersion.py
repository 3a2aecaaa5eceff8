"""Extra-Poisson variation, estimated once for a family of comparable series and shared by the
tests that need it (change, trend, seasonality, control charts, displacement).

Recorded crime varies more than Poisson from month to month and from year to year. The model
is the negative binomial (NB2) variance ``Var(T) = mu + kappa mu^2`` for a total ``T`` of mean
``mu`` (Cameron and Trivedi, *Regression Analysis of Count Data*, 2nd ed., 3.2): a relative
(multiplicative) variation of coefficient of variation ``sqrt(kappa)`` on top of Poisson
counting noise. One ``kappa`` is estimated for a whole family (every CSP x theme, or every CSP
x category, of the force area) from the same-span totals of each series in each year of
history, so that year-to-year variation, which no single short series can show, is seen.

Estimator: ``kappa`` solves ``median_s X2_s(kappa) = median(chi2_{k-1})``, with
``X2_s(kappa) = sum_j (T_sj - Tbar_s)^2 / (Tbar_s + kappa Tbar_s^2)`` the Pearson statistic of
series ``s`` about its own mean over its ``k`` years: the "Pearson statistic equals its
expectation" moment estimator of NB2 dispersion (Breslow 1984, 'Extra-Poisson variation in
log-linear models', Applied Statistics 33(1)), taken at the median across series rather than
the sum, so that a few series with a real change (the signals the tests are there to find)
do not inflate the dispersion every other series is tested with (a robust M-estimate).
Series whose mean is below ``MIN_MEAN`` are left out of the estimate (their Pearson
statistic is far from chi-square) but are tested with the family's ``kappa``. When no series
is usable, or the median is below its Poisson expectation, ``kappa`` is 0 (Poisson).
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.stats import chi2

MIN_MEAN = 5.0  # events per period: below this a series' Pearson statistic is not chi-square
MIN_SERIES = 5  # fewer usable series than this: no pooled estimate (Poisson)
MAX_KAPPA = 10.0


def pooled_dispersion(totals, *, min_mean: float = MIN_MEAN) -> float:
    """NB2 ``kappa`` of a family: ``totals`` is (series, periods), each row one series' totals
    over the same span in consecutive years (at least two periods)."""
    t = np.asarray(totals, dtype=float)
    if t.ndim != 2 or t.shape[1] < 2:
        return 0.0
    mean = t.mean(axis=1)
    use = mean >= min_mean
    if use.sum() < MIN_SERIES:
        return 0.0
    t, mean = t[use], mean[use]
    ss = ((t - mean[:, None]) ** 2).sum(axis=1)
    target = chi2.median(t.shape[1] - 1)

    def excess(kappa: float) -> float:
        return float(np.median(ss / (mean + kappa * mean**2))) - target

    if excess(0.0) <= 0:
        return 0.0
    if excess(MAX_KAPPA) >= 0:
        return MAX_KAPPA
    return float(brentq(excess, 0.0, MAX_KAPPA, xtol=1e-10))


def residual_dispersion(observed, expected, df_per_series: float, *, min_mean: float = MIN_MEAN) -> float:
    """NB2 ``kappa`` from each series' Pearson residuals about a fitted mean: ``observed`` and
    ``expected`` are (series, cells); each row's Pearson statistic is referred to chi-square on
    ``df_per_series`` degrees of freedom, at the median across rows (as above). Used where a
    series has a fitted profile (month-of-year and year effects, a control chart's baseline)."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    if o.ndim != 2 or o.shape[0] == 0 or df_per_series <= 0:
        return 0.0
    use = e.mean(axis=1) >= min_mean
    if use.sum() < MIN_SERIES:
        return 0.0
    o, e = o[use], e[use]
    resid2 = np.where(e > 0, (o - e) ** 2, 0.0)
    target = chi2.median(df_per_series)

    def excess(kappa: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            x2 = np.where(e > 0, resid2 / (e + kappa * e**2), 0.0).sum(axis=1)
        return float(np.median(x2)) - target

    if excess(0.0) <= 0:
        return 0.0
    if excess(MAX_KAPPA) >= 0:
        return MAX_KAPPA
    return float(brentq(excess, 0.0, MAX_KAPPA, xtol=1e-10))
