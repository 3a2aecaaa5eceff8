"""History: multi-quarter files split into quarterly returns through the ingest task
callable; the quarterly path refuses them and names the command."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import staged_rows

from csp import history, ingest
from csp.quarters import Quarter
from csp.sources.hes_apc import NO_POSTCODE_NOTE

WEST_YORKSHIRE = "E23000010"


@pytest.fixture
def west_yorkshire(serve_area):
    return serve_area(WEST_YORKSHIRE)


def test_council_year_of_collisions_loads_quarter_by_quarter(west_yorkshire, reference_dir):
    source = reference_dir / "road_collisions" / "leeds-rtc-casualties-2015.csv"
    entries = history.load_history(west_yorkshire, [source])
    assert [(e.quarter, e.status) for e in entries] == [(f"2015Q{q}", "accepted") for q in range(1, 5)]
    raw = pd.read_csv(source, dtype=str)
    assert sum(e.rows_in for e in entries) == len(raw) == sum(e.rows_loaded for e in entries)

    # Independent count: casualties per month and severity in the raw file = staged counts.
    raw["month"] = pd.to_datetime(raw["Accident Date"], format="%d/%m/%Y").dt.month
    expected = raw.groupby(["month", raw["Casualty Severity"].str.strip()]).size()
    frame = staged_rows(west_yorkshire, "road_collisions")
    frame["month"] = pd.to_datetime(frame["event_date"]).dt.month
    for severity, column in (("Fatal", "killed"), ("Serious", "serious"), ("Slight", "slight")):
        got = frame.groupby("month")[[f"{column}_adults", f"{column}_children"]].sum().sum(axis=1)
        want = expected.xs(severity, level=1).reindex(got.index, fill_value=0)
        assert got.tolist() == want.tolist(), severity


def test_history_is_idempotent(west_yorkshire, reference_dir):
    source = reference_dir / "road_collisions" / "leeds-rtc-casualties-2015.csv"
    first = history.load_history(west_yorkshire, [source])
    again = history.load_history(west_yorkshire, [source])
    assert [e.version for e in again] == [e.version for e in first] == [1, 1, 1, 1]


def test_quarterly_run_refuses_a_multi_quarter_file_and_names_the_command(west_yorkshire, reference_dir):
    source = reference_dir / "road_collisions" / "leeds-rtc-casualties-2015.csv"
    landing = west_yorkshire.landing_dir / "local_authority" / "2015Q1"
    landing.mkdir(parents=True)
    shutil.copy(source, landing)
    with pytest.raises(ingest.MultiQuarterFile,
                       match=r"dated outside 2015Q1: .*`csp history .*leeds-rtc-casualties-2015.csv`"):
        ingest.ingest_return(west_yorkshire, "road_collisions", Quarter(2015, 1))
    assert not (west_yorkshire.staging_dir / "road_collisions").exists()


def test_financial_year_of_hes_without_postcodes_is_a_named_rejection(workspace, reference_dir):
    source = reference_dir / "health" / "artificial_hes_apc_0102.csv"
    entries = history.load_history(workspace, [source])
    quarters = {e.quarter for e in entries}
    # Admissions are placed by admission date: the financial year's quarters, plus earlier
    # ones for long stays; HES's 1801-01-01 "invalid date" placeholder makes no quarter.
    assert {"2001Q2", "2001Q3", "2001Q4", "2002Q1"} <= quarters
    assert max(quarters) == "2002Q1" and not any(q.startswith("18") for q in quarters)
    admissions = [e for e in entries if e.dataset == "hospital_admissions" and e.rows_in]
    assert admissions and all(e.status == "rejected" for e in admissions)
    assert all(any("outward postcode" in f for f in e.failures) for e in admissions)
    assert all(NO_POSTCODE_NOTE in e.notes for e in admissions)


def test_stats19_casualties_follow_their_collisions(tmp_path):
    collisions = tmp_path / "dft-road-casualty-statistics-collision-2021.csv"
    casualties = tmp_path / "dft-road-casualty-statistics-casualty-2021.csv"
    collisions.write_text("collision_index,date,time\nA1,07/01/2021,12:30\nA2,26/05/2021,09:00\n")
    casualties.write_text("collision_index,casualty_reference,age_of_casualty\nA2,1,30\nA1,1,12\nA1,2,40\n")
    written = history.split([collisions, casualties], tmp_path / "landing")
    by_file = {(f.path.name, f.quarter.label): f.rows for f in written}
    assert by_file == {
        ("dft-road-casualty-statistics-collision-2021_2021Q1.csv", "2021Q1"): 1,
        ("dft-road-casualty-statistics-collision-2021_2021Q2.csv", "2021Q2"): 1,
        ("dft-road-casualty-statistics-casualty-2021_2021Q1.csv", "2021Q1"): 2,
        ("dft-road-casualty-statistics-casualty-2021_2021Q2.csv", "2021Q2"): 1,
    }


def test_unreadable_dates_go_to_the_earliest_quarter_not_nowhere(tmp_path):
    path = tmp_path / "council_asb_2024.csv"
    path.write_text("incident_ref,incident_date\nA,2024-02-01\nB,not a date\nC,2024-08-09\n")
    written = history.split([path], tmp_path / "landing")
    assert sorted((f.quarter.label, f.rows) for f in written) == [("2024Q1", 2), ("2024Q3", 1)]


def test_the_refused_file_loads_with_the_command_the_refusal_names(west_yorkshire, reference_dir):
    landing = west_yorkshire.landing_dir / "local_authority" / "2015Q1"
    landing.mkdir(parents=True)
    refused = landing / "leeds-rtc-casualties-2015.csv"
    shutil.copy(reference_dir / "road_collisions" / refused.name, refused)
    with pytest.raises(ingest.MultiQuarterFile):
        ingest.ingest_return(west_yorkshire, "road_collisions", Quarter(2015, 1))
    entries = history.load_history(west_yorkshire, [refused])
    assert [e.status for e in entries] == ["accepted"] * 4
    assert not refused.exists()
    assert (west_yorkshire.landing_dir / "local_authority" / "history" / refused.name).exists()
