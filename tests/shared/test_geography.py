"""The area a deployment serves, checked against the ONS lookups, in today's districts."""
from __future__ import annotations

import pytest

from csp.geography import partnerships, served_area

LEICESTERSHIRE, CUMBRIA = "E23000021", "E23000002"


def test_area_file_names_partnerships_and_county(reference_dir):
    served = served_area(reference_dir, {"area": {"police_force_area": LEICESTERSHIRE,
                                                  "partnerships": ["E22000168", "E22000165"],
                                                  "county": "E10000018"}})
    assert [p.name for p in served.partnerships] == ["Leicester", "Charnwood"]
    assert served.counties == (("E10000018", "Leicestershire"),)


def test_area_file_defaults_to_every_partnership_of_the_force(reference_dir):
    served = served_area(reference_dir, {"area": {"police_force_area": LEICESTERSHIRE}})
    assert len(served.partnerships) == 9 and served.counties == (("E10000018", "Leicestershire"),)


@pytest.mark.parametrize("area, message", [
    ({"partnerships": ["E22000168", "E22000031"]}, "partnerships ['E22000031'] are not in police force area E23000021"),
    ({"county": "E10000006"}, "county 'E10000006' is not the county of any partnership served"),
])
def test_area_file_mistakes_are_named(reference_dir, area, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        served_area(reference_dir, {"area": {"police_force_area": LEICESTERSHIRE, **area}})


def test_reorganised_districts_are_todays_partnerships(reference_dir):
    # Six Cumbria districts of 2019 -> Cumberland and Westmorland and Furness (April 2023).
    cumbria = partnerships(reference_dir, CUMBRIA)
    assert [(p.code, p.name, p.county_code) for p in cumbria] == [
        ("E06000063", "Cumberland", None), ("E06000064", "Westmorland and Furness", None)]


def test_households_apportioned_to_2011_lsoas_keep_the_census_total(workspace):
    import pandas as pd

    from csp.warehouse.reference import HOUSEHOLDS, households

    published = pd.read_csv(workspace.reference_dir / "population" / HOUSEHOLDS)["total_households"].sum()
    assert households(workspace)["households"].sum() == pytest.approx(published, rel=1e-4)
