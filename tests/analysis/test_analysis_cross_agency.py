"""csp.analysis.cross_agency and csp.analysis.nte: the pictures and the night-time-economy
cluster on a DuckDB warehouse built from a handful of hand-made rows (exact values)."""
from __future__ import annotations

from datetime import date, time

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy.stats import binomtest, fisher_exact

from csp.analysis import cross_agency, nte

REF = pd.Timestamp("2025-12-01")  # current: 2025, previous: 2024
CUR, PREV = date(2025, 6, 6), date(2024, 6, 7)  # a Friday; a Friday


def rows(n, dataset, day, csp="E1", category=None, code=None, nte_flag=False, lsoa=None, outward=None,
         start_line=0, return_id="r1"):
    return [{"dataset": dataset, "return_id": return_id, "source_line": start_line + i, "event_date": day,
             "event_time": time(22, 0) if nte_flag else time(12, 0),
             "night_time_economy": nte_flag if dataset != "hospital_admissions" else None,
             "category": category, "category_code": code, "csp_code": csp, "area_status": "in_area",
             "lsoa11_code": lsoa, "outward_postcode": outward} for i in range(n)]


VIOLENCE = "Violence and sexual offences"
FACTS = pd.DataFrame([
    # police violence, CSP E1: 10 at night in L1, 20 by day in L2 (current); 20 by day (previous)
    *rows(10, "police_crimes", CUR, category=VIOLENCE, nte_flag=True, lsoa="L1", start_line=0),
    *rows(20, "police_crimes", CUR, category=VIOLENCE, lsoa="L2", start_line=100),
    *rows(20, "police_crimes", PREV, category=VIOLENCE, lsoa="L2", start_line=200),
    # a crime outside the area never counts
    *[r | {"area_status": "outside_area"} for r in rows(5, "police_crimes", CUR, category=VIOLENCE, lsoa="L9",
                                                            start_line=300)],
    # admissions: E1 (LE1) assaults 5 now, 4 then; alcohol codes; E2 (LE2) 10 F10 now
    *rows(5, "hospital_admissions", CUR, category="assault_X85_Y09", code="Y040", outward="LE1", start_line=400),
    *rows(3, "hospital_admissions", CUR, category="mental_behavioural_psychoactive_F10_F19", code="F100",
          outward="LE1", start_line=410),
    *rows(2, "hospital_admissions", CUR, category="toxic_effect_alcohol_T51", code="T510", outward="LE1",
          start_line=420),
    *rows(4, "hospital_admissions", PREV, category="assault_X85_Y09", code="X991", outward="LE1", start_line=430),
    *rows(1, "hospital_admissions", PREV, category="alcohol_involvement_Y90", code="Y906", outward="LE1",
          start_line=440),
    *rows(10, "hospital_admissions", CUR, csp="E2", category="mental_behavioural_psychoactive_F10_F19",
          code="F102", outward="LE2", start_line=450),
    # exclusions: 3 now (one permanent, for assaulting a pupil), 2 then
    *rows(1, "school_exclusions", CUR, category="Physical assault against a pupil", code="PP", start_line=500),
    *rows(2, "school_exclusions", CUR, category="Persistent disruptive behaviour", code="PD", start_line=501),
    *rows(2, "school_exclusions", PREV, category="Persistent disruptive behaviour", code="PD", start_line=510),
    # collisions: two now, one then
    *rows(2, "road_collisions", CUR, category="Serious", start_line=600),
    *rows(1, "road_collisions", PREV, category="Serious", start_line=610),
])
EXCLUSIONS = pd.DataFrame({"return_id": "r1", "source_line": [500, 501, 502, 510, 511],
                           "exclusion_type": ["permanent", "fixed", "fixed", "fixed", "fixed"]})
COLLISIONS = pd.DataFrame({
    "return_id": "r1", "source_line": [600, 601, 610],
    "killed_adults": [1, 0, 0], "killed_children": [0, 0, 0], "serious_adults": [0, 2, 0],
    "serious_children": [1, 0, 1], "slight_adults": [0, 0, 0], "slight_children": [0, 0, 0],
    "casualties_age_unknown": [0, 0, 0], "adjusted_serious": [0.8, np.nan, 0.9], "adjusted_slight": [0.2, np.nan, 0.1],
})
COMPLIANCE = pd.DataFrame({"dataset": "ambulance_callouts", "quarter": ["2024Q1", "2025Q4"],
                           "state": "not_held"})
GEOGRAPHY = pd.DataFrame({"lsoa11_code": ["L1", "L2", "L3"], "csp_code": ["E1", "E1", "E2"], "in_area": True})


@pytest.fixture(params=["duckdb", "postgresql"])
def warehouse(request, tmp_path):
    """The same rows on both engines: the module's SQL must run unchanged on each."""
    url = (f"duckdb:///{tmp_path / 'w.duckdb'}" if request.param == "duckdb"
           else request.getfixturevalue("postgres_url"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for schema in ("core", "staging", "marts"):
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        for name, frame in (("core.fact_event", FACTS), ("staging.school_exclusions", EXCLUSIONS),
                            ("staging.road_collisions", COLLISIONS), ("marts.compliance_matrix", COMPLIANCE),
                            ("core.dim_geography", GEOGRAPHY)):
            schema, table = name.split(".")
            frame.to_sql(table, conn, schema=schema, index=False)
    yield engine
    engine.dispose()


def exact_p(current, previous):
    return binomtest(current, current + previous, 0.5).pvalue if current + previous else 1.0


def test_raised_share_is_fishers_one_sided_test_with_bh():
    places = pd.DataFrame({"csp_code": ["A", "A", "B"], "place": ["p", "q", "r"],
                           "events": [12, 3, 5], "base_events": [20, 30, 25]})
    out = nte.raised_share(places)
    for row in out.itertuples():
        table = [[row.events, row.base_events - row.events],
                 [20 - row.events, 75 - row.base_events - (20 - row.events)]]
        assert row.p_value == pytest.approx(fisher_exact(table, alternative="greater").pvalue, abs=1e-12)
    assert out["q_value"].tolist() == pytest.approx(
        list(__import__("scipy.stats", fromlist=["x"]).false_discovery_control(out["p_value"], method="bh")))
    assert out["in_cluster"].tolist() == [True, False, False]
    assert out["share"].tolist() == pytest.approx([0.6, 0.1, 0.2])
    assert out.loc[0, "rest_share"] == pytest.approx(8 / 55)
    with pytest.raises(ValueError, match="between 0 and base_events"):
        nte.raised_share(places.assign(events=[21, 0, 0]))


def test_compare_shows_percent_only_on_a_base_of_twenty():
    pct, p = cross_agency.compare(30, 20)
    assert pct == 50.0 and p == pytest.approx(exact_p(30, 20), abs=1e-12)
    pct, p = cross_agency.compare(10, 19)
    assert np.isnan(pct) and p == pytest.approx(exact_p(10, 19), abs=1e-12)
    assert cross_agency.compare(0, 0)[1] == 1.0


def test_nte_places_flags_the_night_lsoa_and_the_assault_outward_code(warehouse):
    with warehouse.connect() as conn:
        places = nte.nte_places(conn, REF).set_index(["source_dataset", "place"])
    l1 = places.loc[("police_crimes", "L1")]
    assert (l1.events, l1.base_events, l1.in_cluster) == (10, 10, True)
    assert l1.p_value == pytest.approx(fisher_exact([[10, 0], [0, 20]], alternative="greater").pvalue)
    assert not places.loc[("police_crimes", "L2"), "in_cluster"]
    assert "L9" not in places.index.get_level_values("place")  # outside the area
    le1 = places.loc[("hospital_admissions", "LE1")]
    assert (le1.events, le1.base_events) == (5, 10)
    assert le1.p_value == pytest.approx(fisher_exact([[5, 5], [0, 10]], alternative="greater").pvalue)
    assert le1.q_value == pytest.approx(min(1.0, 2 * le1.p_value)) and le1.in_cluster


def test_cross_agency_table_exact(warehouse):
    with warehouse.connect() as conn:
        table = cross_agency.cross_agency_table(conn, REF)
    assert list(table.columns) == cross_agency.COLUMNS
    e1 = table[table["csp_code"] == "E1"].set_index("measure")

    def counts(measure):
        return e1.loc[measure, "current_12m"], e1.loc[measure, "previous_12m"]

    assert counts("police recorded violence and sexual offences") == (30, 20)
    assert e1.loc["police recorded violence and sexual offences", "change_pct"] == 50.0
    assert e1.loc["police recorded violence and sexual offences", "p_value"] == pytest.approx(exact_p(30, 20))
    assert counts("police recorded violence in night-time-economy hours") == (10, 0)
    assert np.isnan(e1.loc["police recorded violence in night-time-economy hours", "change_pct"])
    assert counts("assault admissions (X85-Y09)") == (5, 4)
    assert counts("admissions F10, T51, Y90, Y91") == (5, 1)
    assert [counts(f"admissions {b}") for b in ("F10", "T51", "Y90", "Y91")] == [(3, 0), (2, 0), (0, 1), (0, 0)]
    assert e1.loc["admissions Y91", "p_value"] == 1.0
    assert counts("school exclusions (fixed-term and permanent)") == (3, 2)
    assert counts("permanent exclusions") == (1, 0)
    assert counts("exclusions for physical assault") == (1, 0)
    # no police incidents at all in the warehouse: a row that says so, not a zero
    truancy = e1.loc["truancy incidents reported to police"]
    assert np.isnan(truancy.current_12m) and truancy.note == "no records in these 24 months"
    # road danger: reported KSI by age, all KSI on the adjusted severity where supplied
    assert counts("KSI casualties, adults (reported severity)") == (3, 0)
    assert counts("KSI casualties, children 0-15 (reported severity)") == (1, 1)
    assert counts("KSI casualties (adjusted severity)") == pytest.approx((3.8, 0.9))
    assert e1.loc["KSI casualties (adjusted severity)", "note"].startswith(
        "adjusted severity on 2 of 3 collisions, reported severity on the rest")
    # sources without rows say why; youth ASB is not guessed
    ambulance = e1.loc["ambulance call-outs to assaults"]
    assert np.isnan(ambulance.current_12m) and ambulance.note == "not held by the authority"
    assert e1.loc["emergency department assault attendances", "note"] == "no records in these 24 months"
    assert np.isnan(e1.loc["ASB involving young people", "current_12m"])
    assert e1.loc["ASB involving young people", "note"].startswith("not identifiable")
    # the cluster, named by both agencies
    police = e1.loc["night-time-economy cluster: police violence in night-time-economy hours"]
    assert (police.current_12m, police.previous_12m, police.picture) == (10, 0, "violence")
    assert police.note == "LSOA L1: night-time share of violence 100 % against 33 % area-wide"
    health = e1.loc["night-time-economy cluster: assault admissions (X85-Y09)"]
    assert (health.current_12m, health.previous_12m) == (5, 4)
    assert health.note.startswith("outward code LE1: assault share of CSP-coded admissions 50 %")
    # a CSP with no events has every measure, at zero, and no cluster row
    e2 = table[table["csp_code"] == "E2"].set_index("measure")
    assert e2.loc["police recorded violence and sexual offences", "current_12m"] == 0
    assert e2.loc["admissions F10", "current_12m"] == 10
    assert not e2.index.str.startswith("night-time-economy cluster").any()
    assert len(e2) == len(e1) - 2
