"""csp.analysis.repeats: repeat locations by brute force, Knox test against a pair-by-pair count."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from csp.analysis.repeats import knox_test, repeat_locations


def test_repeat_locations_rolling_window_matches_brute_force():
    rng = np.random.default_rng(0)
    n = 400
    ev = pd.DataFrame({"location_key": rng.choice([f"k{i}" for i in range(60)], n),
                       "event_date": pd.Timestamp("2022-01-01")
                       + pd.to_timedelta(rng.integers(0, 1000, n), unit="D")})
    out = repeat_locations(ev, min_events=4).set_index("location_key")
    for key, grp in ev.groupby("location_key"):
        d = np.sort(grp.event_date.to_numpy())
        best = max(((d > t - np.timedelta64(365, "D")) & (d <= t)).sum() for t in d)
        assert out.loc[key, "max_in_window"] == best
        assert out.loc[key, "events"] == len(d)
        assert out.loc[key, "repeat"] == (best >= 4)
    assert out["repeat"].iloc[: out["repeat"].sum()].all()  # repeats listed first


def test_window_straddles_year_end_and_excludes_366_days():
    ev = pd.DataFrame({"location_key": ["a"] * 3 + ["b"] * 3,
                       "event_date": pd.to_datetime(["2023-11-01", "2023-12-20", "2024-01-15",
                                                     "2023-01-01", "2023-07-01", "2024-01-01"])})
    out = repeat_locations(ev).set_index("location_key")
    assert out.loc["a", "repeat"] and out.loc["a", "max_in_window"] == 3
    # b's first and third events are 365 days apart: not within one 365-day window
    assert out.loc["b", "max_in_window"] == 2 and not out.loc["b", "repeat"]


def test_repeat_locations_empty():
    assert repeat_locations(pd.DataFrame(columns=["location_key", "event_date"])).empty


def _knox_by_hand(x, y, day, s_edges, t_edges, permutations, seed):
    """Pair-by-pair Knox table, permuting dates with the same generator calls."""
    def table(d):
        counts = np.zeros((len(s_edges) - 1, len(t_edges) - 1))
        for i in range(len(x)):
            for j in range(i + 1, len(x)):
                dist = math.hypot(x[i] - x[j], y[i] - y[j])
                dt = abs(d[i] - d[j])
                for a in range(len(s_edges) - 1):
                    for b in range(len(t_edges) - 1):
                        if s_edges[a] <= dist < s_edges[a + 1] and t_edges[b] <= dt < t_edges[b + 1]:
                            counts[a, b] += 1
        return counts.ravel()

    obs = table(day)
    rng = np.random.default_rng(seed)
    perms = np.array([table(rng.permutation(day)) for _ in range(permutations)])
    return obs, perms.mean(axis=0), (1 + (perms >= obs).sum(axis=0)) / (1 + permutations)


def test_knox_matches_pairwise_count():
    rng = np.random.default_rng(1)
    n = 40
    ev = pd.DataFrame({"x": rng.uniform(0, 600, n), "y": rng.uniform(0, 600, n),
                       "date": pd.Timestamp("2024-01-01")
                       + pd.to_timedelta(rng.integers(0, 60, n), unit="D")})
    s_edges, t_edges = (0, 100, 200, 400), (0, 7, 14, 28)
    out = knox_test(ev, space_bands=s_edges, time_bands=t_edges, permutations=49, seed=7)
    day = ((ev.date - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=float)
    obs, exp, p = _knox_by_hand(ev.x.to_numpy(), ev.y.to_numpy(), day, s_edges, t_edges, 49, 7)
    np.testing.assert_array_equal(out.observed, obs)
    np.testing.assert_allclose(out.expected, exp, atol=1e-12)
    np.testing.assert_allclose(out.p_value, p, atol=1e-12)
    assert out.space_band.iloc[0] == "0-100 m" and out.time_band.iloc[0] == "0-7 days"


def test_planted_near_repeats_are_detected_and_random_data_are_not():
    rng = np.random.default_rng(2)
    base = pd.DataFrame({"x": rng.uniform(0, 5000, 300), "y": rng.uniform(0, 5000, 300),
                         "date": pd.Timestamp("2023-01-01")
                         + pd.to_timedelta(rng.integers(0, 365, 300), unit="D")})
    seeds = base.sample(40, random_state=1)
    follow = seeds.assign(x=seeds.x + rng.uniform(-50, 50, 40), y=seeds.y + rng.uniform(-50, 50, 40),
                          date=seeds.date + pd.to_timedelta(rng.integers(1, 6, 40), unit="D"))
    planted = knox_test(pd.concat([base, follow]), permutations=199, seed=3)
    first = planted.iloc[0]
    assert first.knox_ratio > 3 and first.p_value <= 0.01
    null = knox_test(base, permutations=199, seed=3)
    assert (null.p_value > 0.01).all()


def test_knox_edge_cases():
    empty = knox_test(pd.DataFrame(columns=["x", "y", "date"]), permutations=9, seed=0)
    assert (empty.observed == 0).all() and len(empty) == 9
    with pytest.raises(ValueError):
        knox_test(pd.DataFrame(columns=["x", "y", "date"]), space_bands=(100, 50))


def test_one_global_near_repeat_test_per_table():
    rng = np.random.default_rng(21)
    n = 200
    x, y, day = rng.uniform(0, 4000, n), rng.uniform(0, 4000, n), rng.integers(0, 365, n)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D")
    random = knox_test(pd.DataFrame({"x": x, "y": y, "date": dates}), permutations=999, seed=1)
    assert random["global_p_value"].nunique() == 1 and random["global_p_value"].iloc[0] > 0.05
    k = 40  # follow-ups within 30 m and a week
    near = pd.DataFrame({"x": np.r_[x, x[:k] + 20], "y": np.r_[y, y[:k]],
                         "date": np.r_[dates, dates[:k] + pd.to_timedelta(rng.integers(1, 7, k), unit="D")]})
    planted = knox_test(near, permutations=999, seed=1)
    assert planted["global_p_value"].iloc[0] == pytest.approx(1 / 1000)
