"""The year-on-year trend score test: checked against its closed forms, a planted trend, a
seasonal series without trend, and stationary noise."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, kstest, norm

from csp.analysis.trend import trend_test

MONTHS = pd.date_range("2023-01-01", "2025-12-01", freq="MS")


def series(values, area="A", theme="t"):
    return pd.DataFrame({"month": MONTHS[-len(values):], "area": area, "theme": theme, "events": values})


def test_two_years_is_the_normal_binomial_score():
    # With two years, U = N_2 - n/2 and Var = n/4: the score form of the binomial test of
    # the second year's share of the events.
    rng = np.random.default_rng(1)
    counts = rng.poisson(40, 24)
    result = trend_test(series(counts), MONTHS[-1], years=2).iloc[0]
    n, second = counts.sum(), counts[12:].sum()
    z = (second - n / 2) / np.sqrt(n / 4)
    assert result["z"] == pytest.approx(z, abs=1e-12)
    assert result["p_value"] == pytest.approx(2 * norm.sf(abs(z)), abs=1e-12)
    # ... the normal approximation of the exact binomial test (within its continuity correction)
    assert abs(result["p_value"] - binomtest(int(second), int(n), 0.5).pvalue) < 2 * norm.pdf(z) / np.sqrt(n / 4)


def test_three_years_matches_the_hand_computed_score():
    counts = np.r_[np.full(12, 10), np.full(12, 12), np.full(12, 15)]
    result = trend_test(series(counts), MONTHS[-1]).iloc[0]
    totals = np.array([120, 144, 180])
    n = totals.sum()
    u = totals @ np.arange(3) - n * 1.0
    assert result["z"] == pytest.approx(u / np.sqrt(n * 2 / 3), abs=1e-12)
    assert result["year_totals"] == "120 / 144 / 180" and result["direction"] == "rising"


def test_a_planted_trend_is_found_and_seasonality_alone_is_not():
    rng = np.random.default_rng(7)
    month = np.arange(36)
    seasonal = 1 + 0.3 * np.cos(2 * np.pi * (month % 12 - 6) / 12)
    frames = [series(rng.poisson(50 * seasonal * 1.25 ** (month / 12)), area="trend"),
              series(rng.poisson(50 * seasonal), area="seasonal only")]
    result = trend_test(pd.concat(frames), MONTHS[-1]).set_index("area")
    assert result.loc["trend", "significant"] and result.loc["trend", "annual_change_pct"] == pytest.approx(25, abs=8)
    assert not result.loc["seasonal only", "significant"]


def test_stationary_noise_gives_uniform_p_values():
    rng = np.random.default_rng(11)
    frames = [series(rng.poisson(rng.uniform(5, 200), 36), area=f"a{i}") for i in range(400)]
    result = trend_test(pd.concat(frames), MONTHS[-1])
    assert result["significant"].mean() <= 0.02
    assert kstest(result["p_value"], "uniform").pvalue > 0.01


def test_year_to_year_variation_is_estimated_across_the_family():
    """Series whose yearly level varies 10 % (gamma) beyond Poisson: the family's kappa is
    found near 0.01 and the test keeps its level, where a Poisson test flags most series."""
    rng = np.random.default_rng(3)
    frames = []
    for i in range(300):
        level = rng.uniform(200, 600)
        yearly = rng.gamma(100, 1 / 100, 3)  # CV 0.1
        frames.append(series(rng.poisson(np.repeat(level * yearly, 12)), area=f"a{i}"))
    result = trend_test(pd.concat(frames), MONTHS[-1])
    assert result["nb_dispersion"].iloc[0] == pytest.approx(0.01, rel=0.35)
    assert (result["p_value"] < 0.05).mean() < 0.09
    assert (trend_test(pd.concat(frames), MONTHS[-1], kappa=0.0)["p_value"] < 0.05).mean() > 0.5


def test_thin_series_are_not_tested():
    result = trend_test(series(np.r_[np.zeros(30), np.ones(6)]), MONTHS[-1]).iloc[0]
    assert pd.isna(result["significant"]) and np.isnan(result["p_value"]) and "too few" in result["reason"]
    assert result["direction"] is None


def test_too_little_history_is_refused():
    with pytest.raises(ValueError, match="needs 2 complete years"):
        trend_test(series(np.ones(20)), MONTHS[-1])
