"""csp.warehouse.crime_severity: CSS weights per police.uk crime type, checked against the source join
file. The reference data is part of the project (../shared/data): a missing folder fails, never skips."""
from __future__ import annotations

import pandas as pd
import pytest

from csp.config import settings
from csp.warehouse.crime_severity import POLICE_UK_CRIME_TYPES, css_weights

REF = settings().reference_dir


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


def test_weights_are_per_type_with_anti_social_behaviour_unweighted_and_a_checked_statistic():
    weights = css_weights(REF).set_index("category")
    assert "Anti-social behaviour" not in weights.index  # not a crime: no weight, never a zero
    assert (weights["css_weight"] > 0).all() and (weights["n_offence_codes"] >= 1).all()
    with pytest.raises(ValueError):
        css_weights(REF, statistic="mode")


def test_reference_tables_carry_the_weights(workspace):
    from csp.warehouse import reference

    by_code, by_type = reference.css_weights(workspace)
    assert by_code["offence_code"].is_unique and by_code["css_weight"].notna().all()
    assert by_type.set_index("category")["css_weight"].to_dict() == css_weights(REF).set_index(
        "category")["css_weight"].to_dict()
