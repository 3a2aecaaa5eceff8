"""csp.analysis.change: exact Poisson test and BH against scipy, windows, planted signals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, binomtest, false_discovery_control

from csp.analysis.change import compare_periods, overdispersed_conditional_p, poisson_conditional_p, sqrt_z, windows
from csp.analysis.fdr import bh_adjust


def test_conditional_poisson_p_equals_scipy_binomtest():
    rng = np.random.default_rng(0)
    a = np.r_[np.arange(0, 40), rng.integers(0, 400, 300), [0, 1, 1000]]
    b = np.r_[np.arange(40, 0, -1), rng.integers(0, 400, 300), [0, 0, 1100]]
    ours = poisson_conditional_p(a, b)
    for x1, x0, p in zip(a, b, ours, strict=True):
        ref = 1.0 if x1 + x0 == 0 else binomtest(int(x1), int(x1 + x0), 0.5).pvalue
        assert p == pytest.approx(ref, abs=1e-9), (x1, x0)


def test_overdispersed_conditional_p_is_the_beta_binomial_mixture():
    """The over-dispersed test's tails equal a binomial integrated over the Beta share of the
    two gamma rates (numerical integration), and kappa 0 is the binomial test."""
    from scipy.integrate import quad
    from scipy.stats import beta

    kappa, x1, x0 = 0.02, 130, 95
    n = x1 + x0
    a = b = 1 / kappa
    upper = quad(lambda s: binom.sf(x1 - 1, n, s) * beta.pdf(s, a, b), 0, 1, epsabs=1e-13)[0]
    assert overdispersed_conditional_p(x1, x0, kappa=kappa) == pytest.approx(2 * upper, rel=1e-7)
    assert overdispersed_conditional_p(x1, x0) == pytest.approx(binomtest(x1, n).pvalue, rel=1e-12)
    # more variation between windows, weaker evidence of change
    assert overdispersed_conditional_p(x1, x0, kappa=kappa) > overdispersed_conditional_p(x1, x0)


def test_bh_equals_scipy_false_discovery_control():
    rng = np.random.default_rng(1)
    for size in (1, 2, 7, 50, 500):
        p = rng.uniform(size=size) ** 3
        p[: size // 3] = p[0]  # ties
        np.testing.assert_allclose(bh_adjust(p), false_discovery_control(p, method="bh"),
                                   atol=1e-9)
    assert np.isnan(bh_adjust([np.nan, 0.01])[0])
    assert bh_adjust([np.nan, 0.01])[1] == pytest.approx(0.01)  # NaN is not counted in m


def test_sqrt_z_is_unit_variance_under_h0():
    rng = np.random.default_rng(2)
    z = sqrt_z(rng.poisson(200, 200_000), rng.poisson(200, 200_000))
    assert abs(z.mean()) < 0.01 and z.std() == pytest.approx(1.0, abs=0.01)
    assert sqrt_z(25, 16) == pytest.approx(np.sqrt(2))  # Wheeler's 2(5-4)=2, over sqrt(2)


def test_windows_financial_and_calendar_year():
    w = windows("2024-12-15")
    assert w["rolling_12m"] == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-12-01"),
                                pd.Timestamp("2023-01-01"), pd.Timestamp("2023-12-01"))
    assert w["ytd"][0] == pd.Timestamp("2024-04-01") and w["ytd"][2] == pd.Timestamp("2023-04-01")
    assert windows("2024-02-01")["ytd"][0] == pd.Timestamp("2023-04-01")
    assert windows("2024-02-01", year_start_month=1)["ytd"][:2] == (
        pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-01"))


def _series(area, theme, lam, months, rng):
    return pd.DataFrame({"month": months, "area": area, "theme": theme,
                         "events": rng.poisson(np.broadcast_to(lam, len(months)))})


MONTHS = pd.date_range("2022-01-01", "2024-12-01", freq="MS")


def test_planted_step_is_flagged_and_counts_match_hand_sums():
    rng = np.random.default_rng(3)
    step = np.where(pd.Timestamp("2024-01-01") <= MONTHS, 45, 30)  # +50%
    frames = [_series("E22000001", "violence", step, MONTHS, rng)]
    frames += [_series(f"E2200000{i}", t, 30, MONTHS, rng) for i in range(2, 5)
               for t in ("asb", "violence")]
    counts = pd.concat(frames, ignore_index=True)
    # marts carry several rows per cell (categories): split one cell in two to check summing
    extra = counts.iloc[:5].assign(events=1)
    counts = pd.concat([counts, extra], ignore_index=True)
    out = compare_periods(counts, "2024-12-01", area_col="area", theme_col="theme")
    row = out[(out.comparison == "rolling_12m") & (out.area == "E22000001")].iloc[0]
    cell = counts[(counts.area == "E22000001") & (counts.theme == "violence")]
    assert row.current == cell[cell.month >= "2024-01-01"].events.sum()
    assert row.previous == cell[(cell.month >= "2023-01-01") & (cell.month < "2024-01-01")].events.sum()
    assert row.significant and row.direction == "increase"
    # per-day rates: 2024 has 366 days, 2023 365
    assert (row.current_days, row.previous_days) == (366, 365)
    assert row["pct_change"] == pytest.approx(100 * (row.current / 366 / (row.previous / 365) - 1))
    assert row.pct_change_low < row["pct_change"] < row.pct_change_high
    share = 366 / 731
    if row.dispersion == 0:
        n = int(row.current + row.previous)
        tails = binom.cdf(row.current, n, share), binom.sf(row.current - 1, n, share)
        assert row.p_value == pytest.approx(min(1, 2 * min(tails)))
    rolling = out[out.comparison == "rolling_12m"]
    np.testing.assert_allclose(rolling.q_value, false_discovery_control(rolling.p_value), atol=1e-9)


def test_stationary_series_flag_about_alpha():
    """Unadjusted p < 0.05 about 5% of the time under H0 (the exact test is conservative)."""
    rng = np.random.default_rng(4)
    hits, n = 0, 0
    for _ in range(40):
        counts = pd.concat([_series(f"A{k}", "t", 20, MONTHS, rng) for k in range(10)])
        out = compare_periods(counts, "2024-12-01")
        p = out[out.comparison == "rolling_12m"].p_value
        hits += int((p < 0.05).sum())
        n += len(p)
    rate = hits / n
    assert 0.02 < rate < 0.07


def test_small_base_has_no_percent_and_zero_counts_are_safe():
    counts = pd.DataFrame({"month": pd.to_datetime(["2023-01-01", "2024-03-01", "2023-05-01"]),
                           "area": ["a", "a", "b"], "theme": ["t", "t", "t"],
                           "events": [5, 12, 0]})
    out = compare_periods(counts, "2024-12-01").set_index(["comparison", "area"])
    assert np.isnan(out.loc[("rolling_12m", "a"), "pct_change"])  # base 5 < 20
    zero = out.loc[("rolling_12m", "b")]
    assert zero.current == 0 and zero.previous == 0 and np.isnan(zero.p_value)
    # too thin to test: significant is null and the reason says so
    assert zero.direction == "no change" and pd.isna(zero.significant) and "too few" in zero.reason


def test_empty_and_too_short_input():
    empty = pd.DataFrame(columns=["month", "area", "theme", "events"])
    assert compare_periods(empty, "2024-12-01").empty
    short = pd.DataFrame({"month": pd.to_datetime(["2024-06-01"]), "area": ["a"],
                          "theme": ["t"], "events": [3]})
    with pytest.raises(ValueError, match="cannot compare"):
        compare_periods(short, "2024-12-01")
    with pytest.raises(ValueError, match="lacks columns"):
        compare_periods(short.drop(columns="events"), "2024-12-01")


def test_mart_column_names_are_accepted():
    rng = np.random.default_rng(5)
    mart = pd.DataFrame({"month": MONTHS.date, "pfa_code": "E23000021", "csp_code": "E22000123",
                         "ward_code": "E05000001", "lsoa11_code": "E01000001",
                         "location_precision": "lsoa", "dataset": "police_crimes",
                         "theme": "violence", "category": "Violence and sexual offences",
                         "events": rng.poisson(20, len(MONTHS))})
    out = compare_periods(mart, "2024-12-01", area_col="csp_code")
    assert set(out.area) == {"E22000123"} and len(out) == 2
