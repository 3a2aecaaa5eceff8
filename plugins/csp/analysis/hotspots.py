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
* **Classification across years** (``classify_hotspots``), with L the latest year, for units hot
  in at least one year: ``emerging`` hot in L only; ``persistent`` hot in L and in more than half
  of the years (so at least two); ``intermittent`` hot in L and in some earlier year but not in
  most; ``diminishing`` hot in an earlier year but not in L; otherwise ``not hot``.
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


def classify_hotspots(
    hot_by_year: pd.DataFrame, *, unit_col: str = "id", year_col: str = "year",
    hot_col: str = "hot",
) -> pd.DataFrame:
    """unit, years, hot_years, hot_latest, class: the rule in the module docstring."""
    cols = [unit_col, "years", "hot_years", "hot_latest", "class"]
    if hot_by_year.empty:
        return pd.DataFrame(columns=cols)
    latest = hot_by_year[year_col].max()
    n_years = hot_by_year[year_col].nunique()
    hb = hot_by_year.assign(_hot=hot_by_year[hot_col].astype(bool),
                            _latest=hot_by_year[year_col] == latest)
    g = hb.groupby(unit_col)
    out = pd.DataFrame({
        "years": n_years,
        "hot_years": g["_hot"].sum().astype(int),
        "hot_latest": hb[hb["_latest"]].groupby(unit_col)["_hot"].any().reindex(
            g.size().index, fill_value=False).astype(bool),
    }).reset_index()
    hy, hl = out["hot_years"], out["hot_latest"]
    out["class"] = np.select(
        [hl & (hy == 1), hl & (hy >= 2) & (hy > n_years / 2), hl, ~hl & (hy >= 1)],
        ["emerging", "persistent", "intermittent", "diminishing"],
        "not hot",
    )
    return out[cols]
