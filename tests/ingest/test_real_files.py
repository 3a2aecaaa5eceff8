"""Every real public file of a mandated dataset through the full ingest (parse, depersonalise,
validate, stage), with its own force area: staged counts by category and month equal an
independent pandas count of the raw file, or the outcome is a named rejection."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from conftest import staged_rows

from csp import history, ingest
from csp.quarters import Quarter

CUMBRIA, CITY_OF_LONDON, METROPOLITAN, LEICESTERSHIRE = "E23000002", "E23000034", "E23000001", "E23000021"


def land(current, source, authority: str, quarter: str) -> None:
    folder = current.landing_dir / authority / quarter
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, folder)


def by_category_month(frame: pd.DataFrame) -> dict:
    months = pd.to_datetime(frame["event_date"]).dt.strftime("%Y-%m")
    return frame.groupby([frame["category"], months]).size().to_dict()


@pytest.mark.parametrize("name, force, quarter", [
    ("2016-03-cumbria-street.csv", CUMBRIA, "2016Q1"),
    ("2025-05-city-of-london-street.csv", CITY_OF_LONDON, "2025Q2"),
    ("2020-01-leicestershire-street.csv", LEICESTERSHIRE, "2020Q1"),
])
def test_police_uk_street_files(serve_area, reference_dir, name, force, quarter):
    current = serve_area(force)
    source = reference_dir / "police_uk" / name
    land(current, source, "police", quarter)
    entries = [ingest.ingest_return(current, d, Quarter.parse(quarter)) for d in ("police_crimes", "police_incidents")]
    assert [e.status for e in entries] == ["accepted", "accepted"]
    raw = pd.read_csv(source, dtype=str)
    expected = raw.groupby(["Crime type", "Month"]).size().to_dict()
    got = {**by_category_month(staged_rows(current, "police_crimes")),
           **by_category_month(staged_rows(current, "police_incidents"))}
    assert got == expected
    assert sum(e.rows_in for e in entries) == len(raw)


def test_city_of_london_2016_asb_is_a_named_rejection(serve_area, reference_dir):
    # Most City ASB rows are snapped to points in neighbouring boroughs: the area rule says so.
    current = serve_area(CITY_OF_LONDON)
    land(current, reference_dir / "police_uk" / "2016-01-city-of-london-street.csv", "police", "2016Q1")
    crimes = ingest.ingest_return(current, "police_crimes", Quarter(2016, 1))
    asb = ingest.ingest_return(current, "police_incidents", Quarter(2016, 1))
    assert crimes.status == "accepted" and crimes.rows_loaded == 381
    assert asb.status == "rejected" and asb.rows_in == 65
    assert asb.failures == ["too few rows located inside the partnership area [lsoa_code] (7 of 65 rows fail)"]


def test_lfb_sample_fires_and_false_alarms(serve_area, reference_dir):
    current = serve_area(METROPOLITAN)
    source = reference_dir / "fire" / "lfb_incident_records_sample.csv"
    entries = history.load_history(current, [source])
    fires = next(e for e in entries if e.dataset == "fire_incidents")
    assert fires.status == "accepted" and fires.rows_loaded == 8
    raw = pd.read_csv(source, dtype=str)
    fire_rows = raw[raw["StopCodeDescription"].isin(["Primary Fire", "Secondary Fire"])]
    assert len(fire_rows) == 8 and fires.rows_in + fires.rows_out_of_scope == len(raw)
    assert all("motive not recorded" in c for c in staged_rows(current, "fire_incidents")["category"])
    alarms = next(e for e in entries if e.dataset == "fire_false_alarms")
    assert alarms.rows_in == 0 and "nil return" in " ".join(alarms.notes)


def test_stats19_head_files_are_outside_any_one_force(serve_area, reference_dir):
    # The head rows sample collisions from many forces: each quarter is a named rejection.
    current = serve_area("E23000013")
    folder = reference_dir / "road_collisions"
    entries = history.load_history(current, [folder / "dft-road-casualty-statistics-collision-2021.head.csv",
                                             folder / "dft-road-casualty-statistics-casualty-2021.head.csv"])
    assert sum(e.rows_in for e in entries) == 43
    assert {e.status for e in entries} == {"rejected"}
    assert all(e.failures[0].startswith("too few rows located inside the partnership area") for e in entries)


def test_hes_outpatient_first_attendances_counted_by_month(serve_area, reference_dir):
    current = serve_area(LEICESTERSHIRE)
    source = reference_dir / "health" / "artificial_hes_op_0304_truncated.csv"
    entries = history.load_history(current, [source])
    assert {e.status for e in entries} == {"accepted"}
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    specialty = raw["TRETSPEF"].str.strip()
    wanted = raw[raw["FIRSTATT"].isin(["1", "3"]) & (specialty.isin([str(s) for s in range(710, 716)])
                                                     | specialty.str.fullmatch(r"72\d"))]
    expected = wanted.groupby(wanted["APPTDATE"].str[:7]).size().to_dict()
    counts = staged_rows(current, "health_counts")
    got = counts.groupby(pd.to_datetime(counts["period_start"]).dt.strftime("%Y-%m"))["value"].sum().to_dict()
    assert got == expected and sum(got.values()) == 7


def test_hes_ae_assault_attendances_counted_then_a_named_rejection(serve_area, reference_dir):
    # The Cardiff-model extra source: AEPATGROUP 20 (assault). The artificial extract has no
    # outward postcode, so each quarter is rejected by name rather than loaded unlocated.
    current = serve_area(LEICESTERSHIRE)
    source = reference_dir / "health" / "artificial_hes_ae_0708_truncated.csv"
    entries = history.load_history(current, [source])
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    assault = raw[raw["AEPATGROUP"] == "20"]
    assert len(assault) == 8 == sum(e.rows_in for e in entries)
    assert sum(e.rows_in + e.rows_out_of_scope for e in entries) == len(raw)
    assert {e.status for e in entries if e.rows_in} == {"rejected"}
    assert all("too few rows with an outward postcode [outward_postcode]" in " ".join(e.failures)
               for e in entries if e.rows_in)


def independent_csp_counts(reference_dir, raw: pd.DataFrame, force: str) -> pd.Series:
    """Counts per (area status, CSP, crime type) from the raw file and the published lookups
    alone: LSOA -> district (Dec 2019) -> today's district (the LA code list's active code)
    -> CSP (Dec 2019, or the successor unitary itself)."""
    geo = reference_dir / "geography"
    lsoas = pd.read_csv(geo / "ons_LSOA11_to_WD19_to_LAD19_lookup_EW_Dec2019.csv", dtype=str)
    csps = pd.read_csv(geo / "ons_LAD19_to_CSP19_to_PFA19_lookup_EW_Dec2019.csv", dtype=str)
    active = pd.read_csv(geo / "drkane_la_all_codes.csv", dtype=str).set_index("LADCD")["LADCD_ACTIVE"]
    rows = raw.merge(lsoas[["LSOA11CD", "LAD19CD"]], left_on="LSOA code", right_on="LSOA11CD", how="left")
    rows = rows.merge(csps[["LAD19CD", "CSP19CD", "PFA19CD"]].drop_duplicates("LAD19CD"), on="LAD19CD", how="left")
    today = rows["LAD19CD"].map(active)
    rows["csp"] = rows["CSP19CD"].where(today.eq(rows["LAD19CD"]) | today.isna(), today)
    rows["status"] = "outside_area"
    rows.loc[rows["PFA19CD"].eq(force), "status"] = "in_area"
    rows.loc[rows["LAD19CD"].isna(), "status"] = "unlocated"
    rows.loc[rows["status"].ne("in_area"), "csp"] = "-"
    return rows.groupby(["status", "csp", "Crime type"]).size().sort_index()


@pytest.mark.parametrize("name, force, quarter, csps", [
    ("2020-01-leicestershire-street.csv", LEICESTERSHIRE, "2020Q1", 9),
    # Cumbria's six 2019 districts now form two unitaries: old data lands in today's partnerships.
    ("2016-03-cumbria-street.csv", CUMBRIA, "2016Q1", 2),
])
def test_street_file_counts_per_csp_in_the_marts(serve_area, reference_dir, name, force, quarter, csps):
    import sqlalchemy as sa

    from csp.warehouse import models
    from csp.warehouse.engine import make_engine
    from csp.warehouse.load import load_returns

    current = serve_area(force)
    source = reference_dir / "police_uk" / name
    land(current, source, "police", quarter)
    for dataset in ("police_crimes", "police_incidents"):
        assert ingest.ingest_return(current, dataset, Quarter.parse(quarter)).status == "accepted"
    engine = make_engine(current.warehouse_url)
    load_returns(engine, current)
    with engine.begin() as conn:
        models.build(conn)
        marts = pd.read_sql(sa.text(
            "SELECT area_status AS status, CASE WHEN area_status = 'in_area' THEN csp_code ELSE '-' END AS csp, "
            "category AS \"Crime type\", SUM(events) AS n FROM marts.monthly_counts GROUP BY 1, 2, 3"), conn)
    got = marts.set_index(["status", "csp", "Crime type"])["n"].astype(int).sort_index()
    raw = pd.read_csv(source, dtype=str)
    expected = independent_csp_counts(reference_dir, raw, force)
    pd.testing.assert_series_equal(got, expected, check_names=False)
    assert got.sum() == len(raw)  # every row accounted for: in the area, outside it, or unlocated
    assert got["in_area"].index.get_level_values(0).nunique() == csps
    if force == CUMBRIA:
        assert set(got["in_area"].index.get_level_values(0)) == {"E06000063", "E06000064"}
