"""Loading staged returns and building the models: partitions replaced exactly, resubmissions
superseding, re-runs changing nothing; the same marts on DuckDB and PostgreSQL."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, time

import pandas as pd
import pytest
import sqlalchemy as sa

from csp.warehouse import models
from support.warehouse import (
    stage_events, stage, stage_counts, marts, build, LEICESTER, BLABY, stage_authority,
)


@pytest.fixture(params=["duckdb", "postgresql"])
def backend_settings(request, workspace):
    if request.param == "duckdb":
        return workspace
    url = request.getfixturevalue("postgres_url")
    return dataclasses.replace(workspace, warehouse_url=url)


def test_resubmission_replaces_partition_and_rerun_changes_nothing(backend_settings, tmp_path):
    settings = backend_settings
    stage(settings, tmp_path, "v1.csv", [("Burglary", LEICESTER, date(2024, 1, 5))] * 3)
    engine, first = build(settings)
    assert first.loaded == ["police_crimes/2024Q1/v1"]
    assert marts(engine)["events"].tolist() == [3]

    stage(settings, tmp_path, "v2.csv",
          [("Burglary", LEICESTER, date(2024, 1, 5)), ("Robbery", BLABY, date(2024, 2, 9))])
    engine, second = build(settings)
    assert second.loaded == ["police_crimes/2024Q1/v2"]
    result = marts(engine)
    assert result[["csp_code", "category", "events"]].values.tolist() == [
        ["E22000164", "Robbery", 1], ["E22000168", "Burglary", 1]]
    assert set(result["theme"]) == {"acquisitive"}
    with engine.connect() as conn:  # harm: police.uk types carry their mean CSS weight
        harm = dict(conn.execute(sa.text(
            "SELECT category, SUM(harm) FROM marts.monthly_counts GROUP BY category")).all())
    assert harm["Burglary"] == pytest.approx(780.718988, abs=1e-5)

    engine, third = build(settings)
    assert third.loaded == [] and third.unchanged == 1
    pd.testing.assert_frame_equal(marts(engine), result)
    with engine.connect() as conn:
        ledger = pd.read_sql(sa.text(
            "SELECT version, status FROM staging.returns ORDER BY version"), conn)
        state = conn.execute(sa.text(
            "SELECT state FROM marts.compliance_matrix WHERE dataset = 'police_crimes'")).scalar()
    assert ledger.values.tolist() == [[1, "superseded"], [2, "accepted"]]
    assert state == "late"  # the test files landed today, long after 2024Q1's deadline


def test_same_marts_on_duckdb_and_postgresql(workspace, postgres_url, tmp_path):
    rows = [("Burglary", LEICESTER, date(2024, 1, 5)), ("Robbery", BLABY, date(2024, 3, 9)),
            ("Violence and sexual offences", "E01033613", date(2024, 2, 1)),
            ("Drugs", None, date(2024, 2, 2))]
    stage(workspace, tmp_path, "v1.csv", rows)
    stage_counts(workspace, tmp_path)
    stage_events(workspace, tmp_path, "hospital_admissions", [
        {"category": "assault_X85_Y09", "code": "Y040", "outward": "LE1", "date": date(2024, 3, 2),
         "time": time(23, 15)},
        {"category": "toxic_effect_alcohol_T51", "code": "T510", "outward": "LE2", "date": date(2024, 1, 9)},
    ])
    duck, _ = build(workspace)
    pg, _ = build(dataclasses.replace(workspace, warehouse_url=postgres_url))
    assert marts(duck)["events"].sum() == 6  # four crimes, two admissions
    # Every model, not just the marts: the same rows on both engines.
    for model in models.discover():
        tables = []
        for engine in (duck, pg):
            with engine.connect() as conn:
                table = pd.read_sql(sa.text(f"SELECT * FROM {model.name}"), conn)
            table = table.drop(columns=["loaded_at"], errors="ignore")  # each engine loaded at its own time
            tables.append(table.astype("string").sort_values(list(table.columns)).reset_index(drop=True))
        assert len(tables[0]) > 0, model.name
        pd.testing.assert_frame_equal(tables[0], tables[1], obj=model.name)


def test_models_are_ordered_by_their_references():
    order = [m.name for m in models.discover()]
    for model in models.discover():
        for dependency in model.depends_on & set(order):
            assert order.index(dependency) < order.index(model.name), (model.name, dependency)
    assert order[-1].startswith("marts.") and "staging.events" in order


def test_ledger_mirror_has_every_ledger_field():
    from csp.staging import LedgerEntry
    from csp.warehouse.load import LEDGER_COLUMNS

    assert list(LEDGER_COLUMNS) == list(LedgerEntry.__dataclass_fields__)



def readiness(engine) -> tuple[dict, dict]:
    with engine.connect() as conn:
        states = dict(conn.execute(sa.text(
            "SELECT dataset, state FROM marts.compliance_matrix WHERE quarter = '2024Q1'")).all())
        ready = conn.execute(sa.text(
            "SELECT state, missing FROM marts.quarter_readiness WHERE quarter = '2024Q1'")).one()
    return states, ready._asdict()


def test_a_missing_authority_is_named_once_the_deadline_passes(workspace, tmp_path, monkeypatch):
    for authority in ("police", "fire", "local_authority"):
        stage_authority(workspace, tmp_path, authority)
    monkeypatch.setenv("CSP_TODAY", "2024-06-30")  # 2024Q1's deadline day: health still in time
    states, ready = readiness(build(workspace)[0])
    assert states["hospital_admissions"] == "awaited" and states["ambulance_callouts"] == "not_held"
    assert ready == {"state": "pending", "missing": "domestic_abuse_admissions, health_counts, hospital_admissions"}

    monkeypatch.setenv("CSP_TODAY", "2024-07-01")
    states, ready = readiness(build(workspace)[0])
    assert {d for d, s in states.items() if s == "not_received"} == {
        "hospital_admissions", "domestic_abuse_admissions", "health_counts"}
    assert states["police_crimes"] == states["council_asb"] == "on_time"
    assert ready == {"state": "provisional", "missing": "domestic_abuse_admissions, health_counts, hospital_admissions"}

    stage_authority(workspace, tmp_path, "health", received=datetime(2024, 7, 3, 9, 0))  # late
    states, ready = readiness(build(workspace)[0])
    assert states["hospital_admissions"] == "late" and ready == {"state": "complete", "missing": None}


MART_TABLES = ["marts.monthly_counts", "marts.rolling_12_months", "marts.area_rates",
               "marts.burglary_rates", "marts.outward_code_counts"]


def snapshot(engine) -> dict[str, pd.DataFrame]:
    with engine.connect() as conn:
        return {t: pd.read_sql(sa.text(f"SELECT * FROM {t}"), conn).pipe(
            lambda f: f.sort_values(list(f.columns)).reset_index(drop=True)) for t in MART_TABLES}


def test_reloads_and_resubmissions_give_the_marts_of_one_clean_load(workspace, tmp_path):
    final = [("Burglary", LEICESTER, date(2024, 1, 5)), ("Robbery", BLABY, date(2024, 2, 9))]
    stage(workspace, tmp_path, "v1.csv", [("Burglary", LEICESTER, date(2024, 1, 5))] * 5)
    stage_authority(workspace, tmp_path, "health")
    build(workspace)
    stage(workspace, tmp_path, "v2.csv", final)  # the resubmission
    build(workspace)
    engine, again = build(workspace)  # and a re-run with nothing new
    assert again.loaded == []
    reloaded = snapshot(engine)

    clean = dataclasses.replace(workspace, data_dir=tmp_path / "clean",
                                warehouse_url=f"duckdb:///{tmp_path / 'clean.duckdb'}")
    stage(clean, tmp_path / "clean", "v2.csv", final) if (tmp_path / "clean").mkdir() is None else None
    stage_authority(clean, tmp_path / "clean", "health")
    fresh = snapshot(build(clean)[0])
    for table in MART_TABLES:
        assert len(fresh[table]) > 0, table
        pd.testing.assert_frame_equal(reloaded[table], fresh[table], obj=table)
    rates = fresh["marts.area_rates"]
    blaby = rates[(rates["area_type"] == "csp") & (rates["area_code"] == "E22000164")
                  & (rates["theme"] == "acquisitive")]
    county = rates[(rates["area_type"] == "county") & (rates["theme"] == "acquisitive")]
    assert blaby["events"].tolist() == [1] and county["area_code"].tolist() == ["E10000018"]
    assert county["events"].tolist() == [1]  # Blaby's robbery; Leicester is a unitary, not in the county


def test_a_warehouse_with_no_returns_yet_builds_empty_marts(workspace, monkeypatch):
    monkeypatch.setenv("CSP_TODAY", "2023-07-01")  # the reference tables are typed even when empty
    engine, summary = build(workspace)
    assert summary.loaded == []
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM marts.compliance_matrix")).scalar() == 0
        assert conn.execute(sa.text("SELECT COUNT(*) FROM marts.quarter_readiness")).scalar() == 0
