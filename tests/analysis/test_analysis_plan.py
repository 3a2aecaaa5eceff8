"""csp.analysis.plan_progress: rolling four quarters against the baseline year, the pro-rata
path and the quarterly, 6-monthly and annual statuses, by hand."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from csp.analysis import plan_progress
from csp.quarters import Quarter

PLAN = pd.DataFrame({
    "csp_code": ["E1", "E1", "E1"], "priority_theme": ["violence", "domestic_abuse", "hate"],
    "measure": ["violence with injury", "domestic abuse reported", "hate incidents"],
    "baseline_period": ["2023Q1-2023Q4"] * 3, "target_change_pct": ["-8", "5", "-5"],
})


def quarterly(theme, values, first="2023Q1"):
    start = Quarter.parse(first)
    return pd.DataFrame({"csp_code": "E1", "theme": theme,
                         "quarter": [start.shift(i).label for i in range(len(values))],
                         "events": values})


COUNTS = pd.concat([
    quarterly("violence", [25, 25, 25, 25, 23, 20, 26, 25]),
    quarterly("domestic_abuse", [10, 10, 10, 10, 12, 9, 10, 10]),
    # hate: nothing in the baseline year, so no change can be measured
    quarterly("hate", [0, 0, 0, 0, 3, 1, 0, 2]),
])


def test_progress_by_hand():
    out = plan_progress.progress(PLAN, COUNTS, Quarter(2024, 4))
    assert list(out.columns) == plan_progress.COLUMNS
    v = out[out["theme"] == "violence"]
    assert v["quarter"].tolist() == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert v["baseline_events"].unique().tolist() == [100]
    assert v["events_4q"].tolist() == [98, 93, 94, 94]
    assert v["change_pct"].tolist() == [-2.0, -7.0, -6.0, -6.0]
    # path -2, -4, -6, -8: at or below it is on track
    assert v["status"].tolist() == ["on_track", "on_track", "on_track", "off_track"]
    assert v["status_6m"].tolist() == ["too_early", "on_track", "on_track", "off_track"]
    assert v["status_annual"].tolist() == ["too_early", "too_early", "too_early", "off_track"]
    assert v["target_change_pct"].unique().tolist() == [-8.0]
    d = out[out["theme"] == "domestic_abuse"]
    # an increase sought: path +1.25, +2.5, +3.75, +5; at or above it is on track
    assert d["events_4q"].tolist() == [42, 41, 41, 41]
    assert d["change_pct"].tolist() == pytest.approx([5.0, 2.5, 2.5, 2.5])
    assert d["status"].tolist() == ["on_track", "on_track", "off_track", "off_track"]
    assert d["status_annual"].tolist()[-1] == "off_track"
    h = out[out["theme"] == "hate"]
    assert h["baseline_events"].unique().tolist() == [0]
    assert h["change_pct"].isna().all() and h["status"].isna().all() and h["status_6m"].isna().all()


def test_statuses_carry_between_reviews_and_a_later_year_keeps_the_whole_target():
    counts = quarterly("violence", [25] * 4 + [20] * 6)  # 2024Q1 .. 2025Q2
    out = plan_progress.progress(PLAN.iloc[:1], counts, Quarter(2025, 2))
    assert out["change_pct"].tolist() == [-5.0, -10.0, -15.0, -20.0, -20.0, -20.0]
    assert out["status"].tolist() == ["on_track"] * 6
    assert out["status_annual"].tolist() == ["too_early"] * 3 + ["on_track"] * 3
    # a quarter with no row counts zero events: 2025Q3 missing
    out = plan_progress.progress(PLAN.iloc[:1], counts, Quarter(2025, 3))
    assert out["events_4q"].tolist()[-1] == 60


def test_no_quarter_after_the_baseline_and_a_baseline_before_the_data():
    assert plan_progress.progress(PLAN, COUNTS, Quarter(2023, 4)).empty
    out = plan_progress.progress(PLAN.iloc[:1], COUNTS, Quarter(2024, 1), first_quarter=Quarter(2023, 2))
    assert np.isnan(out["baseline_events"].iloc[0]) and out["status"].isna().all()


def test_baseline_period_is_parsed_strictly():
    assert [q.label for q in plan_progress.parse_period("2023Q3-2024Q2")] == ["2023Q3", "2023Q4", "2024Q1", "2024Q2"]
    for bad in ("2023-2024", "2024Q1-2023Q4"):
        with pytest.raises(ValueError, match="baseline_period"):
            plan_progress.parse_period(bad)


@pytest.mark.parametrize("engine_name", ["duckdb", "postgresql"])
def test_measure_events_from_the_warehouse(request, tmp_path, engine_name):
    """Each plan theme counts its own sources: ASB from police and councils (not fire false
    alarms), violence from the police crime type, road danger as adjusted KSI casualties."""
    def month(d, csp, dataset, theme, category, events):
        return {"month": pd.Timestamp(d), "csp_code": csp, "dataset": dataset, "theme": theme,
                "category": category, "events": events}

    monthly = pd.DataFrame([
        month("2023-01-01", "E1", "police_incidents", "asb", "Noise", 4),
        month("2023-02-01", "E1", "council_asb", "asb", "Noise", 3),
        month("2023-02-01", "E1", "fire_false_alarms", "asb", "False alarm - Malicious", 9),
        month("2023-04-01", "E1", "police_crimes", "violence", "Violence and sexual offences", 7),
        month("2023-04-01", "E1", "police_crimes", "violence", "Possession of weapons", 2),
        month("2023-04-01", "E1", "hospital_admissions", "violence", "assault_X85_Y09", 5),
    ])
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'w.duckdb'}" if engine_name == "duckdb"
                              else request.getfixturevalue("postgres_url"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA core")
        conn.exec_driver_sql("CREATE SCHEMA staging")
        pd.DataFrame({"dataset": "road_collisions", "return_id": "r", "source_line": [1, 2, 3],
                      "event_date": [date(2023, 1, 5), date(2023, 3, 9), date(2023, 7, 1)],
                      "csp_code": "E1", "area_status": ["in_area", "in_area", "outside_area"]}
                     ).to_sql("fact_event", conn, schema="core", index=False)
        pd.DataFrame({"return_id": "r", "source_line": [1, 2, 3], "killed_adults": [1, 0, 1],
                      "killed_children": [0, 0, 0], "serious_adults": [1, 1, 1], "serious_children": [0, 1, 0],
                      "adjusted_serious": [0.7, np.nan, 1.0]}).to_sql("road_collisions", conn, schema="staging",
                                                                         index=False)
    with engine.connect() as conn:
        out = plan_progress.quarterly_events(conn, monthly, ["asb", "violence", "road_danger"])
    engine.dispose()
    got = {(r.theme, r.quarter): r.events for r in out.itertuples()}
    assert got == {("asb", "2023Q1"): 7, ("violence", "2023Q2"): 7, ("road_danger", "2023Q1"): pytest.approx(3.7)}
