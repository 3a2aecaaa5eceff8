"""Hotspots: rates per 1,000 residents and the Getis-Ord Gi* statistic.

Method
------
* **Rates** per 1,000 residents: events / population * 1000, by LSOA or summed to any larger
  unit (ward) before dividing, so a ward rate is not an average of LSOA rates. Units with a
  population and no events have rate 0; units with events and no population have rate NaN.
* **Gi*** (Ord and Getis 1995, 'Local spatial autocorrelation statistics: distributional issues
  and an application', Geographical Analysis 27(4), eq. 14-15) with binary weights and the unit
  itself included (w_ii = 1)::

      Gi* = (sum_j w_ij x_j - xbar W_i) / (S sqrt((n S1_i - W_i^2) / (n - 1)))
      W_i = sum_j w_ij,  S1_i = sum_j w_ij^2,  xbar = mean(x),  S = sqrt(mean(x^2) - xbar^2)

  Gi* is already a z-score; the p-value is two-sided normal, and BH q-values (``fdr.bh_adjust``)
  correct for testing every unit (Caldas de Castro and Singer 2006, Geographical Analysis 38).
  ``hot`` is ``z > 0 and q < alpha``, ``cold`` is ``z < 0 and q < alpha`` (alpha 0.05).
  The same numbers as PySAL ``esda.G_Local(y, w, transform='B', star=True).Zs``.
* **Neighbours**: queen contiguity (polygons sharing at least a boundary point, found with a
  shapely STRtree ``intersects`` query; ``snap`` metres of tolerance absorbs slivers in published
  boundaries) when polygons are given, else a distance band on centroids (every unit within
  ``threshold`` metres, cKDTree) in British National Grid metres (EPSG:27700 via pyproj) or
  given x/y. A unit with no neighbour still has itself, so Gi* stays defined.
  Gi* is kept as the descriptive statistic and the ranking (``z``, ``rank``), not as the
  decision: its normal approximation fails far in the upper tail of skewed rates, where a
  q < 0.05 flag among hundreds of LSOAs needs p near 1e-4.
* **The published flag** (``excess_risk``): a model-based test of excess risk in each LSOA's
  neighbourhood (itself and its neighbours: Gi*'s window). Each LSOA's expected count is its
  population times its partnership's rate (population as exposure); LSOAs differ beyond
  Poisson, so counts are negative binomial about it, ``Var(O) = E + kappa E^2``: the
  gamma-Poisson model of small-area rates, whose ``kappa`` is the between-area variance of
  the relative risks (Clayton and Kaldor 1987, 'Empirical Bayes estimates of age-standardized
  relative risks for use in disease mapping', Biometrics 43; Marshall 1991, 'Mapping disease
  and mortality rates using empirical Bayes estimators', JRSS C 40). ``kappa`` is estimated
  by moments over every LSOA, robustly (``heterogeneity``: the median Pearson residual
  matched to chi-square(1) over the LSOAs expecting at least 5 events, so a real hotspot does
  not widen the yardstick it is judged by; the Pearson statistic equal to its degrees of
  freedom when too few expect 5). With independent risks the neighbourhood's total ``S`` has
  mean ``sum E`` and variance ``sum (E + kappa E^2)``; its upper-tail p-value is that of the
  negative binomial with that mean and variance (exact for one LSOA, a moment match for the
  sum). BH q-values across the LSOAs of the map. Heterogeneity between LSOAs, however large,
  is then not a hotspot; a cluster of raised rates is. **Minimum evidence**: ``hot`` also
  needs the LSOA's own rate above its partnership's (``rate_ratio = O / E > 1``, reported) and
  at least ``MIN_EVENTS`` (10) events of its own; ``cold`` is the mirror (lower tail, rate
  ratio below 1). ``smoothed_rate_ratio`` is the empirical-Bayes (posterior mean) relative
  risk ``(O + 1/kappa) / (E + 1/kappa)``, which shrinks a small LSOA's ratio towards 1.
* **Classification across years** (``hotspot_classes``), with L the latest year and the
  earlier years pooled: ``persistent`` hot in L and hot on the earlier years together;
  ``emerging`` hot in L, not hot before, and its neighbourhood's count in L significantly
  above its mean of the earlier years (the over-dispersed conditional test of
  csp.analysis.change, kappa pooled over every neighbourhood's yearly counts, one-sided, BH
  across every LSOA of the map, not only those hot, whose latest counts are high by
  selection); ``hot`` hot in L with neither (no clear evidence how long it
  has been); ``diminishing`` hot before, not in L, with a significant fall; otherwise ``not
  hot``. A class is only ever the outcome of those calibrated tests.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import norm

from .fdr import bh_adjust


def rates_per_1000(
    counts: pd.DataFrame,
    population: pd.DataFrame,
    *,
    unit_col: str = "lsoa11_code",
    group_col: str | None = None,
) -> pd.DataFrame:
    """Events per 1,000 residents by ``unit_col``, or by ``group_col`` (e.g. ward_code).

    ``counts``: unit_col, events (summed per unit). ``population``: unit_col, population, and
    ``group_col`` when grouping (the unit -> group lookup comes from the population frame).
    """
    for name, frame, need in (("counts", counts, {unit_col, "events"}),
                              ("population", population, {unit_col, "population"})):
        if need - set(frame.columns):
            raise ValueError(f"{name} lacks columns: {sorted(need - set(frame.columns))}")
    ev = counts.groupby(unit_col)["events"].sum()
    keep = [unit_col, "population"] + ([group_col] if group_col else [])
    pop = population[keep].drop_duplicates(unit_col).set_index(unit_col)
    units = pop.index.union(ev.index)
    table = pd.DataFrame({"events": ev.reindex(units, fill_value=0).astype(float),
                          "population": pop["population"].reindex(units).astype(float)})
    if group_col:
        table[group_col] = pop[group_col].reindex(units)
        table = table.groupby(group_col, dropna=False)[["events", "population"]].sum(min_count=1)
        key = group_col
    else:
        key = unit_col
    table = table.rename_axis(key).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["rate_per_1000"] = np.where(table["population"] > 0,
                                          1000.0 * table["events"] / table["population"], np.nan)
    return table


def queen_weights(geometries, *, snap: float = 0.0) -> sparse.csr_matrix:
    """Binary queen contiguity: 1 where two polygons share at least one point (no self)."""
    import shapely

    geoms = np.asarray(list(geometries), dtype=object)
    n = len(geoms)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    probe = shapely.buffer(geoms, snap) if snap > 0 else geoms
    tree = shapely.STRtree(geoms)
    i, j = tree.query(probe, predicate="intersects")
    off = i != j
    w = sparse.coo_matrix((np.ones(off.sum()), (i[off], j[off])), shape=(n, n)).tocsr()
    w = ((w + w.T) > 0).astype(float)  # symmetric even when snapping is one-sided
    return sparse.csr_matrix(w)


def distance_band_weights(x, y, threshold: float) -> sparse.csr_matrix:
    """Binary distance band: 1 where two points are within ``threshold`` (same units), no self."""
    pts = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    n = len(pts)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    pairs = cKDTree(pts).query_pairs(r=threshold, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    w = sparse.coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    return w.tocsr()


def getis_ord_gi_star(
    values, weights, *, ids=None, alpha: float = 0.05
) -> pd.DataFrame:
    """Gi* z-scores with self-weight 1 and binary neighbour weights.

    ``weights``: an n x n binary matrix (sparse or dense) of neighbours without the diagonal
    (any diagonal given is replaced by 1). Returns id, value, n_neighbours, z, p_value,
    q_value, hot, cold, rank (1 = highest z).
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    ids = np.arange(n) if ids is None else np.asarray(ids)
    cols = ["id", "value", "n_neighbours", "z", "p_value", "q_value", "hot", "cold", "rank"]
    if n == 0:
        return pd.DataFrame(columns=cols)
    if np.isnan(x).any():
        raise ValueError("values contain NaN: fill or drop those units first")
    w = sparse.csr_matrix(weights, dtype=float)
    if w.shape != (n, n):
        raise ValueError(f"weights shape {w.shape} does not match {n} values")
    w = (w != 0).astype(float)
    w.setdiag(1.0)  # Gi*: the unit counts as its own neighbour
    w = sparse.csr_matrix(w)
    wi = np.asarray(w.sum(axis=1)).ravel()
    s1 = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    lag = w @ x
    xbar = x.mean()
    s = np.sqrt(np.mean(x**2) - xbar**2)
    denom = s * np.sqrt(np.maximum(n * s1 - wi**2, 0.0) / (n - 1)) if n > 1 else np.zeros(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 0, (lag - xbar * wi) / denom, np.nan)
    p = np.where(np.isnan(z), np.nan, 2 * norm.sf(np.abs(z)))
    q = bh_adjust(p)
    sig = np.nan_to_num(q, nan=1.0) < alpha
    out = pd.DataFrame({
        "id": ids, "value": x, "n_neighbours": (wi - 1).astype(int), "z": z, "p_value": p,
        "q_value": q, "hot": sig & (z > 0), "cold": sig & (z < 0),
    })
    out["rank"] = out["z"].rank(ascending=False, method="min").astype("Int64")
    return out[cols]


MIN_EVENTS = 10
DEFAULT_ALPHA = 0.05


def nb_tail(observed, mean, variance, *, upper: bool) -> np.ndarray:
    """P(X >= observed) (upper) or P(X <= observed) of the negative binomial with the given
    mean and variance (Poisson where the variance does not exceed the mean)."""
    from scipy.stats import nbinom, poisson

    x, m, v = (np.asarray(a, dtype=float) for a in (observed, mean, variance))
    over = v > m * (1 + 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(over, m**2 / (v - m), 1.0)
        prob = np.where(over, r / (r + m), 0.5)
    if upper:
        return np.where(over, nbinom.sf(x - 1, r, prob), poisson.sf(x - 1, m))
    return np.where(over, nbinom.cdf(x, r, prob), poisson.cdf(x, m))


def heterogeneity(observed, expected, fitted: int, *, min_expected: float = 5.0, min_units: int = 30) -> float:
    """kappa of the gamma-Poisson model: median (O - E)^2 / (E + kappa E^2) = median of
    chi-square(1) over the LSOAs expecting ``min_expected`` or more; with fewer than
    ``min_units`` of those, sum (O - E)^2 / (E + kappa E^2) = n - fitted over all."""
    from scipy.optimize import brentq
    from scipy.stats import chi2

    o, e = np.asarray(observed, dtype=float), np.asarray(expected, dtype=float)
    keep = e > 0
    o, e = o[keep], e[keep]
    if len(o) - fitted < 5:
        return 0.0
    r2 = (o - e) ** 2
    large = e >= min_expected
    if large.sum() >= min_units:
        target = chi2.median(1) * (len(o) - fitted) / len(o)

        def excess(kappa):
            return float(np.median(r2[large] / (e[large] + kappa * e[large] ** 2))) - target
    else:
        def excess(kappa):
            return float(np.sum(r2 / (e + kappa * e**2))) - (len(o) - fitted)

    if excess(0.0) <= 0:
        return 0.0
    return float(brentq(excess, 0.0, 100.0, xtol=1e-12)) if excess(100.0) < 0 else 100.0


def neighbourhood(weights, n: int) -> sparse.csr_matrix:
    """The binary neighbour matrix with each unit its own neighbour (Gi*'s window)."""
    w = sparse.csr_matrix(weights, dtype=float)
    if w.shape != (n, n):
        raise ValueError(f"weights shape {w.shape} does not match {n} values")
    w = (w != 0).astype(float)
    w.setdiag(1.0)
    return sparse.csr_matrix(w)


def excess_risk(observed, population, partnership, weights, *, kappa: float | None = None,
                alpha: float = DEFAULT_ALPHA, min_events: int = MIN_EVENTS) -> dict[str, np.ndarray]:
    """The hotspot test of one map (arrays, one element per LSOA; ``partnership`` any labels):
    expected, rate_ratio, smoothed_rate_ratio, p (upper), q, hot, cold, kappa. ``weights``:
    the n x n binary neighbours (no diagonal needed)."""
    o = np.asarray(observed, dtype=float)
    pop = np.asarray(population, dtype=float)
    codes, labels = pd.factorize(pd.Series(partnership), sort=True)
    rate = np.bincount(codes, weights=o, minlength=len(labels)) / np.maximum(
        np.bincount(codes, weights=pop, minlength=len(labels)), 1e-12)
    e = pop * rate[codes]
    if kappa is None:
        kappa = heterogeneity(o, e, len(labels))
    w = neighbourhood(weights, len(o))
    s, es, vs = w @ o, w @ e, w @ (e + kappa * e**2)
    upper = np.where(es > 0, nb_tail(s, es, vs, upper=True), 1.0)
    lower = np.where(es > 0, nb_tail(s, es, vs, upper=False), 1.0)
    q_hot, q_cold = bh_adjust(upper), bh_adjust(lower)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(e > 0, o / e, np.nan)
        if kappa > 0:
            smoothed = np.where(e > 0, (o + 1 / kappa) / (e + 1 / kappa), np.nan)
        else:
            smoothed = np.where(e > 0, 1.0, np.nan)
    hot = (q_hot < alpha) & (np.nan_to_num(ratio) > 1) & (o >= min_events)
    cold = (q_cold < alpha) & (np.nan_to_num(ratio, nan=1.0) < 1)
    return {"expected": e, "rate_ratio": ratio, "smoothed_rate_ratio": smoothed, "p": upper, "q": q_hot,
            "p_cold": lower, "q_cold": q_cold, "hot": hot, "cold": cold, "kappa": kappa,
            "neighbourhood_events": s, "neighbourhood_expected": es}


def hotspot_classes(observed_by_year, population_by_year, partnership, weights, *, alpha: float = DEFAULT_ALPHA,
                    min_events: int = MIN_EVENTS) -> dict[str, np.ndarray]:
    """Classes of one theme's LSOAs from (LSOA, year) counts and populations, oldest year
    first, the last year L: hot_latest, hot_before, rise/fall q-values, hot_years, class."""
    from .change import overdispersed_conditional_p
    from .dispersion import pooled_dispersion

    o = np.asarray(observed_by_year, dtype=float)
    pop = np.asarray(population_by_year, dtype=float)
    n, years = o.shape
    latest = excess_risk(o[:, -1], pop[:, -1], partnership, weights, alpha=alpha, min_events=min_events)
    hot_years = np.zeros(n, dtype=int)
    for y in range(years - 1):
        hot_years += excess_risk(o[:, y], pop[:, y], partnership, weights, alpha=alpha, min_events=min_events)["hot"]
    hot_years += latest["hot"]
    cls = np.where(latest["hot"], "hot", "not hot").astype(object)
    hot_before = np.zeros(n, dtype=bool)
    q_rise = np.full(n, np.nan)
    q_fall = np.full(n, np.nan)
    if years >= 2:
        earlier = excess_risk(o[:, :-1].sum(axis=1), pop[:, :-1].sum(axis=1), partnership, weights,
                              alpha=alpha, min_events=min_events)
        hot_before = earlier["hot"]
        counts = np.asarray(neighbourhood(weights, n) @ o)  # each neighbourhood's count by year
        kappa_t = pooled_dispersion(counts)  # their year-to-year variation beyond Poisson
        now, before = counts[:, -1], counts[:, :-1].sum(axis=1)
        share = 1 / years
        two_sided = overdispersed_conditional_p(now, before, kappa=kappa_t, share=share)
        rising = now / 1 > before / (years - 1)
        p_rise = np.where(rising, two_sided / 2, 1 - two_sided / 2)
        p_fall = np.where(~rising, two_sided / 2, 1 - two_sided / 2)
        # every LSOA is in the family: testing only those just found hot would select the ones
        # whose latest count is high by chance (the winner's curse)
        rise_family, fall_family = latest["hot"] & ~hot_before, hot_before & ~latest["hot"]
        q_rise, q_fall = bh_adjust(p_rise), bh_adjust(p_fall)
        cls = np.select(
            [latest["hot"] & hot_before, rise_family & (np.nan_to_num(q_rise, nan=1) < alpha), latest["hot"],
             fall_family & (np.nan_to_num(q_fall, nan=1) < alpha)],
            ["persistent", "emerging", "hot", "diminishing"], "not hot").astype(object)
    return {"latest": latest, "hot_before": hot_before, "q_rise": q_rise, "q_fall": q_fall,
            "hot_years": hot_years, "years": years, "class": cls}
