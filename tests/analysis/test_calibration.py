"""The calibration harness (csp.calibration) asserts the issue's bounds: under the
null models a-c every published flag's family-wise false-flag rate is at most 5 % with the
upper end of its 95 % interval at most 7 %; under d the hotspots' false discovery proportion
is at most 10 %; the planted signals are found at least as often as the power tests require.
Slow: a declared subset of the documented run (500 series replicates per null model, 500 maps
per null model and theme, 200 Knox families, 100 replicates per power scenario), on two worker
processes; budget 4 min (2.7 min in the clean-clone CI run of 2026-12-04, on 2 cores)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from csp import calibration
from csp.analysis import change, trend

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    result = calibration.run(replicates=500, map_replicates=500, knox_replicates=200, power_replicates=100,
                             workers=2)
    print("\n" + calibration.format_table(result))
    return result


# Measured above the target in the documented run (1,000 / 500 replicates; docs/analysis.md,
# "Calibration"): still asserted, at the ceiling measured, until fixed (issue 15's note).
KNOWN_GAPS = {("exceedance above", "c"): (0.08, 0.10), ("night-time-economy cluster", "b"): (0.09, 0.11)}


# The documented run (1,000 replicates) holds each rate at most 5 % with its interval's upper
# end at most 7 %. At this test's 200-500 replicates a flag at exactly 5 % has an upper end of
# 7-9 %, so that rule would fail calibrated flags by chance; here a flag fails when its rate is
# clearly above 5 % (one-sided binomial p < 0.005: at most a 0.5 % chance for a flag at exactly
# 5 %, and most sit well below), which a 10 % rate at 200 replicates or 7.8 % at 500 does.
TARGET, EVIDENCE = 0.05, 0.005


def clearly_above(rate: float, replicates: int, target: float) -> bool:
    flagged = round(rate * replicates)
    return binomtest(flagged, replicates, target, alternative="greater").pvalue < EVIDENCE


def test_every_flag_keeps_its_family_wise_rate_under_the_null_models(table):
    false = table[(table["kind"] == "false flag") & table["model"].isin(["a", "b", "c"])]
    assert len(false) > 40 and (false["replicates"] >= 200).all()
    bad = []
    for r in false.itertuples():
        gap = KNOWN_GAPS.get((r.flag, r.model))
        if gap is not None:
            if r.rate > gap[0] or r.high > gap[1]:
                bad.append(r)
        elif clearly_above(r.rate, int(r.replicates), TARGET):
            bad.append(r)
    assert not bad, pd.DataFrame(bad).to_string()


def test_the_rule_fails_a_miscalibrated_flag():
    assert clearly_above(0.10, 200, TARGET) and clearly_above(0.078, 500, TARGET)
    assert not clearly_above(0.048, 500, TARGET) and not clearly_above(0.07, 200, TARGET)


def test_hotspots_on_smooth_risk_are_mostly_true(table):
    fdp = table[table["kind"] == "FDP"]
    assert len(fdp) == 2 and (fdp["rate"] <= 0.10).all(), fdp.to_string()


def power(table, startswith: str, model: str = "a") -> float:
    rows = table[(table["kind"] == "power") & table["flag"].str.startswith(startswith) & (table["model"] == model)]
    assert len(rows) == 1, startswith
    return float(rows["rate"].iloc[0])


def test_planted_signals_are_found_as_often_as_the_power_tests_require(table):
    assert power(table, "trend: planted vehicle crime") >= 0.95  # 98.5 % of 200 documented
    assert power(table, "hotspot: 4 of the 5 planted", "b") >= 0.85  # 18 of 20 by rank today
    assert power(table, "seasonality: ASB (amplitude 0.3) in every CSP") >= 0.98  # 20 of 20
    assert power(table, "seasonality: ASB force-wide") >= 0.98
    assert power(table, "displacement labelled, no wrong net-effect claim") >= 0.80  # 16 of 20
    assert power(table, "near-repeat") >= 0.9
    assert power(table, "night-time-economy cluster") >= 0.9


def test_the_harness_calls_the_functions_the_tables_come_from():
    """One replicate through the frame functions the pipeline calls gives the same flags as
    the array cores the harness uses."""
    w = calibration.world()
    rng = np.random.default_rng(1)
    mu = calibration.series_means(w, "c", rng, 1)[0]
    counts = rng.poisson(mu).astype(float)
    flags = calibration.series_flags(counts, w)
    k = len(w.categories)
    frame = pd.DataFrame({
        "month": np.tile(calibration.MONTHS, len(counts)),
        "area": np.repeat(np.repeat(w.csps, k), len(calibration.MONTHS)),
        "theme": np.repeat(np.tile(w.categories["category"].to_numpy(), len(w.csps)), len(calibration.MONTHS)),
        "events": counts.ravel(),
    })
    published = change.compare_periods(frame, calibration.REFERENCE_MONTH)
    rolling = published[published["comparison"] == "rolling_12m"]
    order = pd.MultiIndex.from_arrays([np.repeat(w.csps, k), np.tile(w.categories["category"].to_numpy(), len(w.csps))])
    rolling = rolling.set_index(["area", "theme"]).reindex(order)
    assert (rolling["significant"].fillna(False).to_numpy(dtype=bool) == flags["change category rolling_12m"]).all()
    trends = trend.trend_test(frame, calibration.REFERENCE_MONTH).set_index(["area", "theme"]).reindex(order)
    assert (trends["significant"].fillna(False).to_numpy(dtype=bool) == flags["trend category"]).all()
