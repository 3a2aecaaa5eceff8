"""csp.analysis.hotspots: rates, weights, Gi* against the textbook formula and PySAL esda."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from csp.analysis.hotspots import (
    distance_band_weights, excess_risk, getis_ord_gi_star, hotspot_classes, nb_tail, queen_weights,
    rates_per_1000,
)
from csp.geometry import polygons_from_geojson


def _grid(k: int):
    """k x k unit squares, row-major (the order of libpysal's lat2W)."""
    return [box(c, -r, c + 1, -r + 1) for r in range(k) for c in range(k)]


def _gi_star_by_hand(x, nbrs):
    """Ord and Getis (1995) eq. 14 with binary weights and w_ii = 1, written out per unit."""
    n = len(x)
    xbar = sum(x) / n
    s = math.sqrt(sum(v * v for v in x) / n - xbar * xbar)
    out = []
    for i in range(n):
        members = {i} | set(nbrs[i])
        wi = len(members)  # sum of binary weights = sum of squared weights
        num = sum(x[j] for j in members) - xbar * wi
        den = s * math.sqrt((n * wi - wi * wi) / (n - 1))
        out.append(num / den if den > 0 else math.nan)
    return out


def _queen_by_hand(k):
    nbrs = []
    for r in range(k):
        for c in range(k):
            nbrs.append([rr * k + cc for rr in range(r - 1, r + 2) for cc in range(c - 1, c + 2)
                         if 0 <= rr < k and 0 <= cc < k and (rr, cc) != (r, c)])
    return nbrs


Y3 = [3.0, 8.0, 2.0, 7.0, 20.0, 9.0, 1.0, 6.0, 4.0]
# esda 2.9.0 / libpysal 4.14.1: G_Local(y, lat2W(3, 3, rook=False), transform="B", star=True).Zs
ESDA_3X3 = [1.333589718939652, 1.1163126113028765, 1.4512594000225627, 0.6201736729460428,
            math.nan, 1.1163126113028765, 0.8629109946080101, 0.8682431421244596,
            1.4512594000225627]
Y5 = [2, 3, 1, 4, 2, 3, 2, 5, 3, 1, 1, 4, 30, 25, 2, 2, 3, 28, 4, 3, 1, 2, 3, 1, 2]
ESDA_5X5 = [-0.7685468113540435, -0.9342298280227833, -0.8235390901053918, -0.9342298280227833,
            -0.7685468113540435, -0.9895751969814789, 0.08272975693633541, 1.3630712333320023,
            1.166095621578823, 0.22802292010982636, -0.9895751969814789, 1.412315136270297,
            2.6926566126659637, 2.5449249038510793, 0.28336828906852196, -1.1002659348988704,
            1.2153395245171177, 2.4956810009127848, 2.397193195036195, 0.22802292010982636,
            -0.8974976186282118, 0.3387136580272176, 0.4494043959446093, 0.4494043959446093,
            -0.7685468113540435]


def test_queen_weights_from_polygons_match_hand_adjacency():
    w = queen_weights(_grid(4)).toarray()
    hand = np.zeros((16, 16))
    for i, nb in enumerate(_queen_by_hand(4)):
        hand[i, nb] = 1
    np.testing.assert_array_equal(w, hand)


def test_gi_star_matches_hand_formula_and_esda_3x3():
    w = queen_weights(_grid(3))
    z = getis_ord_gi_star(Y3, w)["z"].to_numpy()
    np.testing.assert_allclose(z, _gi_star_by_hand(Y3, _queen_by_hand(3)), atol=1e-9,
                               equal_nan=True)
    np.testing.assert_allclose(z, ESDA_3X3, atol=1e-9, equal_nan=True)
    # the centre neighbours every cell: its variance is zero and Gi* undefined, as in esda
    assert math.isnan(z[4])


def test_gi_star_5x5_planted_hotspot_ranks_first_and_matches_esda():
    w = queen_weights(_grid(5))
    out = getis_ord_gi_star(Y5, w, ids=[f"L{i:02d}" for i in range(25)])
    np.testing.assert_allclose(out["z"], ESDA_5X5, atol=1e-9)
    np.testing.assert_allclose(out["z"], _gi_star_by_hand(Y5, _queen_by_hand(5)), atol=1e-9)
    assert out.sort_values("rank").iloc[0]["id"] == "L12"
    assert out.loc[out["rank"] == 1, "id"].item() == "L12"
    from scipy.stats import false_discovery_control, norm
    np.testing.assert_allclose(out["p_value"], 2 * norm.sf(np.abs(out["z"])), atol=1e-12)
    np.testing.assert_allclose(out["q_value"], false_discovery_control(out["p_value"]),
                               atol=1e-9)


def test_planted_hotspot_is_hot_on_a_larger_grid():
    rng = np.random.default_rng(0)
    k = 15
    y = rng.poisson(5, k * k).astype(float)
    centre = [(7 + dr) * k + 7 + dc for dr in (-1, 0, 1) for dc in (-1, 0, 1)]
    y[centre] += 25
    out = getis_ord_gi_star(y, queen_weights(_grid(k)))
    assert out.loc[7 * k + 7, "hot"] and out.loc[7 * k + 7, "rank"] == 1
    assert not out.loc[[0, k * k - 1], "hot"].any()


def test_distance_band_on_points_equals_rook_on_unit_grid():
    xs, ys = np.meshgrid(np.arange(4) * 100.0, np.arange(4) * 100.0)
    w = distance_band_weights(xs.ravel(), ys.ravel(), threshold=100.0).toarray()
    assert w.sum(axis=1).tolist() == [2, 3, 3, 2, 3, 4, 4, 3, 3, 4, 4, 3, 2, 3, 3, 2]
    assert (w == w.T).all() and np.trace(w) == 0


def test_geojson_and_snap_tolerance():
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "A"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}},
        {"type": "Feature", "properties": {"code": "B"},
         "geometry": {"type": "Polygon",
                      "coordinates": [[[1.001, 0], [2, 0], [2, 1], [1.001, 1], [1.001, 0]]]}},
    ]}
    ids, geoms = polygons_from_geojson(fc, "code")
    assert ids == ["A", "B"]
    assert queen_weights(geoms).nnz == 0  # a sliver gap: not neighbours
    assert queen_weights(geoms, snap=0.01).nnz == 2


def test_rates_per_lsoa_and_ward():
    counts = pd.DataFrame({"lsoa11_code": ["L1", "L1", "L2", "L9"], "events": [3, 2, 10, 4]})
    pop = pd.DataFrame({"lsoa11_code": ["L1", "L2", "L3"], "population": [1000, 2000, 1500],
                        "ward_code": ["W1", "W1", "W2"]})
    lsoa = rates_per_1000(counts, pop).set_index("lsoa11_code")
    assert lsoa.loc["L1", "rate_per_1000"] == pytest.approx(5.0)
    assert lsoa.loc["L3", "rate_per_1000"] == 0.0  # residents, no events
    assert math.isnan(lsoa.loc["L9", "rate_per_1000"])  # events, no population
    ward = rates_per_1000(counts, pop, group_col="ward_code").set_index("ward_code")
    assert ward.loc["W1", "rate_per_1000"] == pytest.approx(1000 * 15 / 3000)
    assert ward.loc["W2", "events"] == 0


def _grid_map(k: int, rng, risk, years: int = 1, base: float = 40.0):
    weights = queen_weights(_grid(k))
    n = k * k
    population = np.full((n, years), 1000.0)
    counts = rng.poisson(base * np.asarray(risk)[:, None] * np.ones((1, years))).astype(float)
    return counts, population, np.repeat(["A", "B"], [n // 2, n - n // 2]), weights


def test_excess_risk_tail_is_the_negative_binomial():
    """One LSOA's p-value is the NB upper tail of mean E and variance E + kappa E^2 (scipy's
    nbinom with n = 1/kappa), and kappa 0 is the Poisson tail."""
    from scipy.stats import nbinom, poisson

    kappa, e = 0.09, 60.0
    r = 1 / kappa
    assert nb_tail(130, e, e + kappa * e**2, upper=True) == pytest.approx(nbinom.sf(129, r, r / (r + e)), rel=1e-10)
    assert nb_tail(80, e, e, upper=True) == pytest.approx(poisson.sf(79, e), rel=1e-12)


def test_independent_heterogeneity_is_not_a_hotspot_but_a_cluster_is():
    rng = np.random.default_rng(5)
    k = 20
    risk = rng.gamma(1 / 0.3**2, 0.3**2, k * k)  # CV 0.3, no spatial structure
    counts, pop, csp, w = _grid_map(k, rng, risk)
    plain = excess_risk(counts[:, 0], pop[:, 0], csp, w)
    assert plain["kappa"] == pytest.approx(0.09, rel=0.5) and not plain["hot"].any()
    cluster = np.zeros(k * k, dtype=bool)
    for r in range(8, 11):
        cluster[r * k + 8:r * k + 11] = True  # a 3 x 3 block at three times the risk
    counts, pop, csp, w = _grid_map(k, rng, np.where(cluster, 3.0, 1.0) * rng.gamma(1 / 0.09, 0.09, k * k))
    found = excess_risk(counts[:, 0], pop[:, 0], csp, w)
    assert found["hot"][cluster].sum() >= 7 and not found["hot"][~cluster & (found["rate_ratio"] <= 1)].any()
    # minimum evidence: every hot LSOA is above its partnership's rate with 10 events or more
    assert (found["rate_ratio"][found["hot"]] > 1).all() and (counts[found["hot"], 0] >= 10).all()


def test_classes_come_from_calibrated_tests():
    rng = np.random.default_rng(6)
    k = 20
    cluster = np.zeros(k * k, dtype=bool)
    for r in range(8, 11):
        cluster[r * k + 8:r * k + 11] = True
    stable = np.where(cluster, 3.0, 1.0)
    counts, pop, csp, w = _grid_map(k, rng, stable, years=3)
    classes = hotspot_classes(counts, pop, csp, w)
    assert (classes["class"][cluster] == "persistent").sum() >= 7 and not (classes["class"] == "emerging").any()
    new = counts.copy()
    new[:, :2] = rng.poisson(40.0, (k * k, 2))  # the cluster appears only in the latest year
    classes = hotspot_classes(new, pop, csp, w)
    assert (classes["class"][cluster] == "emerging").sum() >= 5 and classes["years"] == 3


def test_empty_and_bad_input():
    assert getis_ord_gi_star([], np.zeros((0, 0))).empty
    with pytest.raises(ValueError):
        getis_ord_gi_star([1.0, 2.0], np.zeros((3, 3)))
    z = getis_ord_gi_star([0.0, 0.0, 0.0], np.zeros((3, 3)))["z"]
    assert z.isna().all()  # constant (e.g. all-zero) values: no variance, no z
