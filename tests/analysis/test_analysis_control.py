"""csp.analysis.control: limits, each run rule on planted series, seasonal baseline, refusals."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csp.analysis.control import control_chart


def _series(values, start="2020-01-01"):
    months = pd.date_range(start, periods=len(values), freq="MS")
    return pd.DataFrame({"month": months, "events": np.asarray(values, dtype=float)})


def test_limits_are_c_chart_and_moving_range():
    vals = [20, 22, 18, 25, 19, 21, 23, 17, 20, 24, 16, 22]
    chart = control_chart(_series(vals))
    mean = np.mean(vals)
    assert chart.refused is None and chart.centre == pytest.approx(mean)
    f = chart.frame
    assert f["ucl3"].iloc[0] == pytest.approx(mean + 3 * np.sqrt(mean))
    assert f["lcl2"].iloc[0] == pytest.approx(mean - 2 * np.sqrt(mean))
    mr = control_chart(_series(vals), sigma="moving_range")
    sigma = np.mean(np.abs(np.diff(vals))) / 1.128
    assert mr.frame["sigma"].iloc[0] == pytest.approx(sigma)
    assert not f["signal"].any()


def test_rule_beyond_3_sigma():
    vals = [20, 22, 18, 21, 19, 20, 60, 21, 19, 20, 22, 18]
    f = control_chart(_series(vals), baseline_months=6).frame
    assert f.loc[f.beyond_3sigma, "month"].tolist() == [pd.Timestamp("2020-07-01")]


def test_rule_nine_on_one_side_flags_the_whole_run():
    vals = [20, 18] * 6 + [22] * 9 + [18]
    f = control_chart(_series(vals), baseline_months=12).frame
    assert f.run_9.sum() == 9 and f.run_9.iloc[12:21].all()
    assert not f.beyond_3sigma.any()


def test_rule_six_rising():
    vals = [20, 19, 21, 20, 19, 21, 20, 19, 21, 20, 19, 21, 14, 16, 18, 20, 22, 24, 20]
    f = control_chart(_series(vals), baseline_months=12).frame
    assert f.trend_6.sum() == 6 and f.trend_6.iloc[12:18].all()


def test_rule_two_of_three_beyond_2_sigma():
    base = [20] * 6 + [21] * 6
    # sigma = sqrt(20.5) ~ 4.53: 30 is beyond 2 sigma, 22 is not
    vals = base + [30, 22, 30, 20]
    f = control_chart(_series(vals), baseline_months=12).frame
    assert f.loc[f.two_of_three_2sigma, "month"].dt.month.tolist() == [1, 3]
    one_only = control_chart(_series(base + [30, 22, 21, 20]), baseline_months=12).frame
    assert not one_only.two_of_three_2sigma.any()


def test_planted_step_signals_and_stationary_false_alarm_rate():
    rng = np.random.default_rng(0)
    step = np.r_[rng.poisson(30, 24), rng.poisson(45, 12)]
    chart = control_chart(_series(step), baseline_months=24)
    assert chart.frame["signal"].iloc[24:].mean() > 0.5
    # rule 1 alone on in-control Poisson data: about 0.3% of points (c-chart, 3 sigma)
    beyond = [control_chart(_series(rng.poisson(50, 60)), baseline_months=None,
                            seasonal_min_months=999).frame.beyond_3sigma.mean()
              for _ in range(150)]
    assert np.mean(beyond) < 0.01


def test_seasonal_baseline_absorbs_seasonality():
    rng = np.random.default_rng(1)
    months = pd.date_range("2019-01-01", periods=48, freq="MS")
    profile = 1 + 0.4 * np.sin(2 * np.pi * (months.month - 1) / 12)
    counts = rng.poisson(40 * profile)
    chart = control_chart(_series(counts, "2019-01-01"))
    assert chart.seasonal
    # expected follows the profile: July above January, ratio near the planted one
    exp = chart.frame.set_index("month")["expected"]
    assert exp["2019-04-01"] > exp["2019-10-01"]
    flat = control_chart(_series(counts, "2019-01-01"), seasonal_min_months=999)
    assert not flat.seasonal
    assert chart.frame.signal.sum() < flat.frame.signal.sum()
    # the seasonal expected is the level times the month's mean over the overall mean
    jan = counts[months.month == 1].mean() / counts.mean()
    assert exp["2019-01-01"] == pytest.approx(counts.mean() * jan)


def test_refusals_and_bad_input():
    assert "at least 12" in control_chart(_series([20] * 11)).refused
    small = control_chart(_series([1, 2, 3, 4, 2, 1, 3, 2, 4, 1, 2, 3]))
    assert small.refused.startswith("mean 2.3") and small.frame.empty
    assert control_chart(pd.DataFrame(columns=["month", "events"])).refused == "no data"
    with pytest.raises(ValueError):
        control_chart(_series([20] * 12), sigma="ewma")
    with pytest.raises(ValueError):
        control_chart(_series([-1] + [20] * 11))


def test_missing_months_are_zero_and_series_input():
    s = pd.Series([20.0, 30.0], index=pd.to_datetime(["2020-01-01", "2020-12-01"]))
    chart = control_chart(s, min_mean=0)
    assert len(chart.frame) == 12 and chart.frame.events.iloc[1:11].eq(0).all()


def test_exceedances_are_judged_against_a_baseline_without_them():
    from csp.analysis.control import exceedance_family

    rng = np.random.default_rng(8)
    months = pd.date_range("2023-01-01", periods=36, freq="MS")
    x = rng.poisson(np.repeat(rng.uniform(30, 300, 40)[:, None], 36, axis=1)).astype(float)
    x[0, 30:] = x[0, :30].mean() * 1.8  # a step in the judged months of one series
    r = exceedance_family(x, months)
    assert r["baseline_months"] == 30 and r["signal"][0].all()
    assert (r["direction"][0] == "above expected").all() and not r["signal"][1:].any()
    # the expected value of a judged month does not move with the judged counts
    y = x.copy()
    y[0, 30:] = 0
    assert np.allclose(exceedance_family(y, months)["expected"][0], r["expected"][0])
    # no estimated variation: the variance is Poisson plus the level's estimation error
    p = exceedance_family(x[1:2], months, kappa=0.0, seasonal_min_months=999)
    e = x[1, :30].mean()
    v = e + e / 30
    assert p["variance"][0, 31] == pytest.approx(v)
    assert r["refused"][0] is None


def test_exceedance_table_refuses_thin_series_and_names_directions():
    from csp.analysis.control import exceedance_table

    rng = np.random.default_rng(9)
    months = pd.date_range("2023-01-01", periods=36, freq="MS")
    frames = [pd.DataFrame({"month": months, "csp_code": f"c{i}", "theme": "t", "events": rng.poisson(80, 36)})
              for i in range(8)]
    frames.append(pd.DataFrame({"month": months, "csp_code": "thin", "theme": "t", "events": rng.poisson(1, 36)}))
    table = exceedance_table(pd.concat(frames), months[-1])
    thin = table[table["csp_code"] == "thin"]
    assert len(thin) == 1 and thin["refused"].iloc[0].startswith("mean")
    judged = table[table["refused"].isna()]
    assert len(judged) == 8 * 6 and judged["month"].min() == months[30]
    assert set(judged.loc[judged["signal"], "direction"]) <= {"above expected", "below expected"}


def test_a_history_shorter_than_the_judged_window_is_refused_not_an_error():
    # A partnership's first quarter: three months, fewer than the six judged (a crash before).
    from csp.analysis.control import exceedance_table

    counts = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=3, freq="MS").repeat(2),
                           "csp_code": "E1", "theme": ["asb", "violence"] * 3, "events": [4, 9, 0, 7, 3, 8]})
    table = exceedance_table(counts, "2024-03-01")
    assert len(table) == 2
    assert table["refused"].str.contains("baseline months").all()
