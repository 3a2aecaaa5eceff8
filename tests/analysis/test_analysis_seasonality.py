"""csp.analysis.seasonality: index by hand on complete years only, same month last year."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from csp.analysis.seasonality import complete_years, same_month_last_year, seasonal_index


def test_complete_years():
    assert complete_years("2019-03-01", "2022-11-01") == [2020, 2021]
    assert complete_years("2019-01-01", "2020-12-01") == [2019, 2020]
    assert complete_years("2019-02-01", "2020-01-01") == []


def test_index_matches_hand_computation_and_ignores_partial_years():
    rng = np.random.default_rng(0)
    months = pd.date_range("2019-07-01", "2023-03-01", freq="MS")  # complete: 2020-2022
    counts = pd.DataFrame({"month": months, "theme": "asb",
                           "events": rng.poisson(30 + 30 * (months.month == 7))})
    # a spike in the partial years must not move the index
    counts.loc[counts.month == "2019-07-01", "events"] = 10_000
    out = seasonal_index(counts).set_index("month_of_year")
    full = counts[(counts.month >= "2020-01-01") & (counts.month <= "2022-12-01")]
    overall = full.events.mean()
    for m in range(1, 13):
        hand = full[full.month.dt.month == m].events.mean() / overall
        assert out.loc[m, "index"] == pytest.approx(hand, abs=1e-12)
    assert out["index"].mean() == pytest.approx(1.0)
    assert out.loc[7, "index"] > 1.15 and (out.years_used == 3).all()


def test_missing_months_count_as_zero_and_no_complete_year():
    counts = pd.DataFrame({"month": pd.to_datetime(["2020-01-01", "2020-12-01"]),
                           "theme": ["t", "t"], "events": [12, 12]})
    out = seasonal_index(counts).set_index("month_of_year")
    assert out.loc[1, "index"] == pytest.approx(6.0) and out.loc[6, "index"] == 0
    short = seasonal_index(counts.iloc[:1])
    assert short["index"].isna().all() and len(short) == 12
    zero = seasonal_index(counts.assign(events=0))
    assert zero["index"].isna().all()
    assert seasonal_index(pd.DataFrame(columns=["month", "theme", "events"])).empty


def test_same_month_last_year():
    counts = pd.DataFrame({
        "month": pd.to_datetime(["2023-06-01", "2024-06-01", "2023-06-01", "2024-05-01"]),
        "theme": ["asb", "asb", "violence", "violence"], "events": [40, 70, 10, 99]})
    out = same_month_last_year(counts, "2024-06-15").set_index("theme")
    assert out.loc["asb", ["current", "last_year", "change"]].tolist() == [70, 40, 30]
    assert out.loc["asb", "p_value"] == pytest.approx(binomtest(70, 110).pvalue, abs=1e-9)
    assert out.loc["violence", "current"] == 0 and out.loc["violence", "last_year"] == 10
    with pytest.raises(ValueError):
        same_month_last_year(counts, "2024-01-01")


def test_seasonal_profile_test_finds_a_planted_season_and_not_noise():
    from csp.analysis.seasonality import seasonal_profiles

    rng = np.random.default_rng(12)
    months = pd.date_range("2023-01-01", periods=36, freq="MS")
    season = 1 + 0.3 * np.cos(2 * np.pi * (months.month - 7) / 12)
    frames = [pd.DataFrame({"month": months, "area": f"a{i}", "theme": "t",
                            "events": rng.poisson(60 * (season if i == 0 else 1))}) for i in range(30)]
    frames.append(pd.DataFrame({"month": months, "area": "thin", "theme": "t", "events": rng.poisson(0.5, 36)}))
    out = seasonal_profiles(pd.concat(frames)).drop_duplicates("area").set_index("area")
    assert out.loc["a0", "significant"] and out.drop(["a0", "thin"])["significant"].sum() <= 1
    assert pd.isna(out.loc["thin", "significant"]) and "too few" in out.loc["thin", "reason"]


def test_seasonal_test_allows_for_month_to_month_variation():
    from csp.analysis.seasonality import seasonality_family

    rng = np.random.default_rng(13)
    x = rng.poisson(500 * rng.gamma(100, 0.01, (60, 3, 12)))  # CV 10 % a month, no season
    lumpy = seasonality_family(x)
    assert lumpy["kappa"] == pytest.approx(0.01, rel=0.3)
    assert np.nanmean(lumpy["p"] < 0.05) < 0.12
    assert np.nanmean(seasonality_family(x, kappa=0.0)["p"] < 0.05) > 0.5
