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

import functools

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
    target = chi2_median(t.shape[1] - 1)

    def excess(kappa: float) -> float:
        return float(np.median(ss / (mean + kappa * mean**2))) - target

    if excess(0.0) <= 0:
        return 0.0
    if excess(MAX_KAPPA) >= 0:
        return MAX_KAPPA
    return float(brentq(excess, 0.0, MAX_KAPPA, xtol=1e-9, rtol=1e-6))


@functools.cache
def chi2_median(df: float) -> float:
    return float(chi2.median(df))


@functools.cache
def median_df(series: int, periods: int) -> float:
    """Degrees of freedom worth of a median-based kappa from ``series`` series of ``periods``
    periods each: 2 / (relative variance of the median of chi-square(periods - 1)), the
    median's asymptotic variance being 1 / (4 m f(median)^2)."""
    if series < 1 or periods < 2:
        return 0.0
    nu = periods - 1
    med = chi2_median(nu)
    relvar = 1 / (4 * series * float(chi2.pdf(med, nu)) ** 2 * med**2)
    return 2 / relvar


def grouped_dispersion(totals, groups, *, min_mean: float = MIN_MEAN) -> tuple[np.ndarray, np.ndarray]:
    """Per-series (kappa, its degrees of freedom): ``pooled_dispersion`` within each group of
    comparable series (the same theme or category across the force area's partnerships, whose
    relative variation is alike), never below the whole family's estimate (a group of nine
    series shows no extra variation by chance a quarter of the time); the family's estimate
    for a group with too few usable series. The degrees of freedom (``median_df``) let a test allow for kappa being an
    estimate (``t_adjusted_p``)."""
    t = np.asarray(totals, dtype=float)
    labels = np.asarray(groups)
    periods = t.shape[1] if t.ndim == 2 else 0
    usable = t.mean(axis=1) >= min_mean if periods else np.zeros(len(t), dtype=bool)
    kappa = np.full(len(t), pooled_dispersion(t, min_mean=min_mean))
    df = np.full(len(t), median_df(int(usable.sum()), periods))
    names, codes = np.unique(labels, return_inverse=True)
    counts = np.bincount(codes[usable], minlength=len(names))
    eligible = np.flatnonzero(counts >= MIN_SERIES)
    if len(eligible) == 0:
        return kappa, df
    # every eligible group's median equation solved at once (bisection on log kappa)
    width = counts[eligible].max()
    ss = np.full((len(eligible), width), np.nan)
    mu = np.full((len(eligible), width), np.nan)
    slot = np.full(len(names), -1)
    slot[eligible] = np.arange(len(eligible))
    mean = t.mean(axis=1)
    dev = ((t - mean[:, None]) ** 2).sum(axis=1)
    rows = np.flatnonzero(usable & (slot[codes] >= 0))
    order = rows[np.argsort(codes[rows], kind="stable")]
    group_of = slot[codes[order]]
    position = np.arange(len(order)) - np.searchsorted(group_of, group_of)
    ss[group_of, position], mu[group_of, position] = dev[order], mean[order]
    target = chi2_median(periods - 1)
    own = _median_roots(ss, mu, target)
    for i, g in enumerate(eligible):
        rows = codes == g
        if own[i] > kappa[rows][0]:  # the family's estimate is the floor: a group of a few
            kappa[rows] = own[i]     # series often shows none by chance
            df[rows] = median_df(int(counts[g]), periods)
    return kappa, df


def _median_roots(ss: np.ndarray, mean: np.ndarray, target: float, iterations: int = 40) -> np.ndarray:
    """Per row, the kappa solving nanmedian(ss / (mean + kappa mean^2)) = target (0 where the
    median is already at or below the target), by bisection on log kappa, rows at once."""
    median = np.median if not np.isnan(ss).any() else np.nanmedian  # groups of equal size: plain

    def excess(kappa):
        return median(ss / (mean + kappa[:, None] * mean**2), axis=1) - target

    rows = len(ss)
    out = np.zeros(rows)
    positive = excess(np.zeros(rows)) > 0
    lo, hi = np.full(rows, np.log(1e-9)), np.full(rows, np.log(MAX_KAPPA))
    for _ in range(iterations):
        mid = (lo + hi) / 2
        above = excess(np.exp(mid)) > 0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    out[positive] = np.exp((lo + hi) / 2)[positive]
    return out


def t_adjusted_p(p, kappa, mean, df):
    """A two-sided p-value computed with an estimated kappa, referred to Student's t: its normal
    deviate against t on Satterthwaite's degrees of freedom for the variance ``mean + kappa
    mean^2`` whose kappa part is known to ``df`` degrees of freedom, ``df (1 + 1/(kappa
    mean))^2`` (no change where kappa is 0: the Poisson variance is not estimated)."""
    from scipy.stats import norm, t as student

    p = np.asarray(p, dtype=float)
    k = np.broadcast_to(np.asarray(kappa, dtype=float), p.shape)
    m = np.broadcast_to(np.asarray(mean, dtype=float), p.shape)
    d = np.broadcast_to(np.asarray(df, dtype=float), p.shape)
    out = p.copy()
    adjust = (k > 0) & (m > 0) & (d > 0) & ~np.isnan(p)
    if adjust.any():
        eff = d[adjust] * (1 + 1 / (k[adjust] * m[adjust])) ** 2
        deviate = norm.isf(np.clip(p[adjust], 1e-300, 1.0) / 2)
        out[adjust] = np.minimum(1.0, 2 * student.sf(deviate, eff))
    return out


def residual_dispersion(observed, expected, df_per_series: float, *, min_mean: float = MIN_MEAN,
                        robust: bool = True) -> float:
    """NB2 ``kappa`` from each series' Pearson residuals about a fitted mean: ``observed`` and
    ``expected`` are (series, cells); each row's Pearson statistic is referred to chi-square on
    ``df_per_series`` degrees of freedom, at the median across rows (as above). Used where a
    series has a fitted profile (month-of-year and year effects, a control chart's baseline).
    ``robust=False`` matches the mean instead of the median (for residuals that are correlated
    within a series, whose sum keeps its expectation but not a chi-square shape)."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    if o.ndim != 2 or o.shape[0] == 0 or df_per_series <= 0:
        return 0.0
    use = e.mean(axis=1) >= min_mean
    if use.sum() < MIN_SERIES:
        return 0.0
    o, e = o[use], e[use]
    resid2 = np.where(e > 0, (o - e) ** 2, 0.0)
    target = chi2_median(df_per_series) if robust else df_per_series
    centre = np.median if robust else np.mean

    def excess(kappa: float) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            x2 = np.where(e > 0, resid2 / (e + kappa * e**2), 0.0).sum(axis=1)
        return float(centre(x2)) - target

    if excess(0.0) <= 0:
        return 0.0
    if excess(MAX_KAPPA) >= 0:
        return MAX_KAPPA
    return float(brentq(excess, 0.0, MAX_KAPPA, xtol=1e-9, rtol=1e-6))
