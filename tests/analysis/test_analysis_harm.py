"""csp.analysis.harm: CSS weights per police.uk crime type, checked against the source join file."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from csp.analysis.harm import POLICE_UK_CRIME_TYPES, apply_weights, css_weights, harm_totals
from csp.config import settings

REF = settings().reference_dir
pytestmark = pytest.mark.skipif(not (REF / "crime_severity").is_dir(),
                                reason=f"reference data not found at {REF}")


def test_weights_equal_the_mean_over_offence_codes_of_the_mopd_join_file():
    """Independent route: the mopd join file, one row per ONS counts (HO offence) code."""
    join = pd.read_csv(REF / "crime_severity" / "mopd_policeuk-ons-code-join.csv")
    assert not join["ONS_COUNTS_code"].duplicated().any()
    ref = join.groupby(join["POLICE_UK_CAT_MAP_category"].str.lower())["ONS_SEVERITY_weight"].mean()
    ours = css_weights(REF)
    assert len(ours) == 13  # every crime type except anti-social behaviour
    for row in ours.itertuples():
        assert row.css_weight == pytest.approx(ref[row.category.lower()], abs=1e-9)
    assert set(ours.category) == set(POLICE_UK_CRIME_TYPES) - {"Anti-social behaviour"}
    med = css_weights(REF, statistic="median").set_index("category")["css_weight"]
    assert med["Violence and sexual offences"] < ours.set_index("category").loc[
        "Violence and sexual offences", "css_weight"]


def test_apply_weights_and_totals():
    w = css_weights(REF)
    burglary = w.set_index("category").loc["Burglary", "css_weight"]
    counts = pd.DataFrame({"theme": ["acquisitive", "acquisitive", "asb"],
                           "category": ["Burglary", "BURGLARY", "Anti-social behaviour"],
                           "events": [10, 0, 50]})
    out = apply_weights(counts, w)
    assert out["harm"].iloc[0] == pytest.approx(10 * burglary)
    assert out["harm"].iloc[1] == 0
    assert math.isnan(out["harm"].iloc[2])  # ASB has no CSS weight: missing, not zero
    tot = harm_totals(counts, w).set_index("theme")
    assert tot.loc["acquisitive", "harm"] == pytest.approx(10 * burglary)
    assert tot.loc["asb", "unweighted_events"] == 50 and tot.loc["asb", "harm"] == 0
    with pytest.raises(ValueError):
        css_weights(REF, statistic="mode")
