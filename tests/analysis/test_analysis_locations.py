"""Repeat locations and near repeats over the warehouse: location keys built by the real models
(sql/staging/events.sql -> core.fact_event) from small staged returns, exact counts, the same
tables on DuckDB and PostgreSQL, and no point ever shown."""
from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from csp.analysis.locations import knox_table, repeat_location_table
from csp.analysis.repeats import knox_test
from csp.geometry import to_british_grid
from csp.warehouse.engine import replace_table
from support.locations import (
    LEICESTER_LSOA, BLABY_LSOA, LEICESTER, BLABY, REFERENCE_MONTH, P1, P2, P3, P4, SNAP, event,
    stage_rows, build, plant_repeats, point_key,
)

@pytest.fixture(params=["duckdb", "postgresql"])
def backend_settings(request, workspace):
    if request.param == "duckdb":
        return workspace
    return dataclasses.replace(workspace, warehouse_url=request.getfixturevalue("postgres_url"))


def test_location_keys_reach_fact_event_as_documented(workspace, tmp_path):
    plant_repeats(workspace, tmp_path)
    engine = build(workspace)
    with engine.connect() as conn:
        facts = pd.read_sql(sa.text(
            "SELECT dataset, time_precision, latitude, longitude, location_precision, location_key "
            "FROM core.fact_event"), conn)
    keyed = facts[facts["location_key"].notna()]
    assert len(facts) == 16 and len(keyed) == 14  # the two LSOA-only burglaries have no key
    assert facts.loc[facts["location_precision"] == "lsoa", "location_key"].isna().all()
    asb = keyed[keyed["dataset"] == "police_incidents"]
    assert set(asb["location_key"]) == {point_key("snap", SNAP)}
    # The same coordinates with a precise date are a precise point, not the police.uk map point.
    precise = keyed[(keyed["latitude"] == SNAP[0]) & (keyed["dataset"] == "police_crimes")]
    assert set(precise["location_key"]) == {point_key("point", SNAP)}
    assert keyed[keyed["latitude"] == P1[0]]["location_key"].unique().tolist() == [point_key("point", P1)]


def test_repeat_locations_exact_counts_on_both_backends(backend_settings, tmp_path):
    settings = backend_settings
    plant_repeats(settings, tmp_path)
    engine = build(settings)
    with engine.connect() as conn:
        table = repeat_location_table(conn, REFERENCE_MONTH)
        names = pd.read_sql(sa.text("SELECT lsoa11_code, lsoa11_name, ward_code, ward_name FROM core.dim_geography "
                                    "WHERE lsoa11_code = :code"), conn, params={"code": LEICESTER_LSOA})
        strict = repeat_location_table(conn, REFERENCE_MONTH, min_events=3)
    assert table["window_start"].unique().tolist() == [date(2023, 4, 1)]
    assert table["window_end"].unique().tolist() == [date(2024, 3, 31)]

    burglary = table[(table["csp_code"] == LEICESTER) & (table["theme"] == "acquisitive")]
    first = burglary.iloc[0]
    # 4 at P1 + 2 at P2 + 1 at P3 + 1 at the precise SNAP point + 2 at LSOA precision
    assert (first["events"], first["keyed_events"], first["locations"]) == (10, 8, 4)
    assert (first["repeat_locations"], first["events_at_repeat_locations"]) == (2, 6)
    assert first["repeat_share"] == pytest.approx(6 / 8)
    assert burglary["rank"].tolist() == [1, 2]
    assert burglary["location_key"].tolist() == [point_key("point", P1), point_key("point", P2)]
    assert burglary["location_events"].tolist() == [4, 2]
    assert burglary["first_date"].tolist() == [date(2023, 5, 10), date(2023, 11, 1)]
    assert burglary["last_date"].tolist() == [date(2024, 3, 30), date(2024, 2, 2)]
    assert set(burglary["lsoa11_code"]) == {LEICESTER_LSOA}
    assert burglary["lsoa11_name"].iloc[0] == names["lsoa11_name"].iloc[0]
    assert burglary["ward_name"].iloc[0] == names["ward_name"].iloc[0]

    violence = table[(table["csp_code"] == LEICESTER) & (table["theme"] == "violence")]
    assert len(violence) == 1 and pd.isna(violence["rank"].iloc[0])
    assert (violence["keyed_events"].iloc[0], violence["repeat_locations"].iloc[0]) == (1, 0)
    assert violence["repeat_share"].iloc[0] == 0

    asb = table[(table["csp_code"] == LEICESTER) & (table["theme"] == "asb")]
    assert asb[["location_key", "location_events"]].values.tolist() == [[point_key("snap", SNAP), 2]]
    assert asb["repeat_share"].iloc[0] == 1.0

    blaby = table[table["csp_code"] == BLABY]
    assert blaby[["theme", "location_events", "repeat_share"]].values.tolist() == [["criminal_damage_arson", 2, 1.0]]
    assert len(table) == 5

    # A stricter rule: only P1 is a repeat.
    burglary = strict[(strict["csp_code"] == LEICESTER) & (strict["theme"] == "acquisitive")]
    assert burglary[["location_events", "events_at_repeat_locations"]].values.tolist() == [[4, 4]]
    assert burglary["repeat_share"].iloc[0] == pytest.approx(4 / 8)
    assert strict[strict["theme"] == "asb"]["rank"].isna().all()

    # Opaque keys only: no coordinate of any planted point appears anywhere in the table.
    text = table.astype(str).to_csv()
    for lat, lon in (P1, P2, P3, P4, SNAP):
        assert f"{lat}" not in text and f"{lon}"[:6] not in text

    # As the analysis run stores it (csp.analysis.run: replace_table, reference_month added).
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS analysis")
        replace_table(conn, "analysis.repeat_locations", table.assign(reference_month=REFERENCE_MONTH.date()))
        stored = pd.read_sql(sa.text("SELECT * FROM analysis.repeat_locations"), conn)
    assert len(stored) == 5 and stored["first_date"].isna().sum() == 1
    assert stored["location_events"].sum() == 10


def test_repeat_locations_of_an_empty_warehouse(workspace):
    engine = build(workspace)
    with engine.connect() as conn:
        tables = {"repeat_locations": repeat_location_table(conn, REFERENCE_MONTH),
                  "near_repeats": knox_table(conn, REFERENCE_MONTH)}
    assert all(table.empty for table in tables.values())
    with engine.begin() as conn:  # an empty result is still stored, with its columns
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS analysis")
        for name, table in tables.items():
            replace_table(conn, f"analysis.{name}", table.assign(reference_month=REFERENCE_MONTH.date()))
            stored = pd.read_sql(sa.text(f"SELECT * FROM analysis.{name}"), conn)
            assert stored.empty and "csp_code" in stored.columns


def grid_point(k: int) -> tuple[float, float]:
    """Points of a grid 0.01 degrees apart (at least ~680 m: farther than the last Knox band)."""
    return round(52.60 + 0.01 * (k // 6), 6), round(-1.16 + 0.01 * (k % 6), 6)


def plant_near_repeats(settings, tmp_path) -> list[dict]:
    """Leicester deliberate fires, precise: ten pairs at one point three days apart and ten
    lone fires, dates spread over the year; plus rows Knox must not see: police.uk criminal
    damage (month dates, map points), a fire before the window, and Blaby's five fires."""
    rng = np.random.default_rng(5)
    fires = []
    for k in range(10):
        start = date(2023, 4, 10) + pd.Timedelta(days=int(k * 33))
        fires += [event("Deliberate secondary fire", start, grid_point(k), precision="minute"),
                  event("Deliberate secondary fire", start + pd.Timedelta(days=3), grid_point(k))]
    for k in range(10, 20):
        day = date(2023, 4, 5) + pd.Timedelta(days=int(rng.integers(0, 360)))
        fires.append(event("Deliberate secondary fire", day, grid_point(k)))
    counted = list(fires)
    fires.append(event("Deliberate secondary fire", date(2023, 2, 1), grid_point(0)))  # before the window
    fires += [event("Deliberate primary fire", date(2023, 7, d), P4, lsoa=BLABY_LSOA) for d in range(1, 6)]
    stage_rows(settings, tmp_path, "fire_incidents", fires)
    stage_rows(settings, tmp_path, "police_crimes",
               [event("Criminal damage and arson", date(2023, 8, 1), grid_point(k), precision="month")
                for k in range(10)])
    return counted


def test_knox_over_the_warehouse_uses_precise_events_only(workspace, tmp_path):
    counted = plant_near_repeats(workspace, tmp_path)
    engine = build(workspace)
    with engine.connect() as conn:
        table = knox_table(conn, REFERENCE_MONTH, permutations=99, seed=3)
        assert knox_table(conn, REFERENCE_MONTH, min_events=31).empty
        # The same seed gives the same table: a re-run of the analysis changes nothing.
        pd.testing.assert_frame_equal(knox_table(conn, REFERENCE_MONTH, permutations=99, seed=3), table)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS analysis")
        replace_table(conn, "analysis.near_repeats", table.assign(reference_month=REFERENCE_MONTH.date()))
        assert conn.execute(sa.text("SELECT SUM(observed) FROM analysis.near_repeats")).scalar() == 10
    assert set(zip(table["csp_code"], table["theme"], strict=True)) == {(LEICESTER, "criminal_damage_arson")}
    assert table["events"].unique().tolist() == [30]
    assert table["datasets"].unique().tolist() == ["fire_incidents"]
    assert len(table) == 9  # 3 space bands x 3 time bands
    cell = table[(table["space_band"] == "0-100 m") & (table["time_band"] == "0-7 days")].iloc[0]
    assert cell["observed"] == 10  # the ten planted pairs, nothing else within 400 m
    assert table["observed"].sum() == 10
    assert cell["knox_ratio"] > 5 and cell["p_value"] <= 0.02
    assert np.isnan(table["knox_ratio"]).sum() + (table["knox_ratio"] == 0).sum() == 8

    # The same numbers as the Knox test run directly on the planted events.
    x, y = to_british_grid(longitude=[r["point"][1] for r in counted], latitude=[r["point"][0] for r in counted])
    direct = knox_test(pd.DataFrame({"x": x, "y": y, "date": pd.to_datetime([r["date"] for r in counted])}),
                       permutations=99, seed=3)
    np.testing.assert_array_equal(table["observed"].to_numpy(), direct["observed"].to_numpy())
