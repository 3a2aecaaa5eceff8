"""Loading staged returns and building the models: partitions replaced exactly, resubmissions
superseding, re-runs changing nothing; the same marts on DuckDB and PostgreSQL."""
from __future__ import annotations

import dataclasses
from datetime import date, time

import pandas as pd
import pytest
import sqlalchemy as sa

from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.staging import Staging
from csp.warehouse import models
from csp.warehouse.engine import make_engine
from csp.warehouse.load import load_returns

Q = Quarter(2024, 1)
CRIMES = DATASETS["police_crimes"]


def crimes_frame(rows: list[tuple[str, str, date]]) -> pd.DataFrame:
    """Canonical police_crimes rows: (crime type, LSOA code, date)."""
    n = len(rows)
    return pd.DataFrame({
        "source_file": ["force_crimes_2024Q1.csv"] * n,
        "source_line": pd.array(range(2, n + 2), dtype="Int64"),
        "record_key": [f"k{i}" for i in range(n)],
        "event_date": [r[2] for r in rows],
        "event_time": [time(22, 30)] * n,
        "time_precision": ["minute"] * n,
        "category": [r[0] for r in rows],
        "category_code": [None] * n,
        "lsoa_code": [r[1] for r in rows],
        "outward_postcode": [None] * n,
        "latitude": [None] * n,
        "longitude": [None] * n,
        "location_precision": ["lsoa"] * n,
        "offence_group": [None] * n,
    })


def stage(settings, tmp_path, name: str, rows) -> None:
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    path = landing / name
    path.write_text(f"{name}\n{rows}\n")  # distinct bytes -> distinct checksum -> new version
    frame = crimes_frame(rows)
    quarantine = pd.DataFrame(columns=["source_file", "source_line", "rule", "reason"])
    Staging(settings.staging_dir).stage(CRIMES, Q, [path], frame, quarantine,
                                        rows_in=len(frame), rows_loaded=len(frame))


def stage_counts(settings, tmp_path) -> None:
    """A health_counts return: one district count and one outward-code count."""
    path = tmp_path / "drug_treatment_counts_2024Q1.csv"
    path.write_text("counts\n")
    frame = pd.DataFrame({
        "source_file": [path.name] * 2, "source_line": pd.array([2, 3], dtype="Int64"),
        "measure": ["persons_in_drug_treatment", "mental_illness_op_first_attendances"],
        "period_start": [date(2024, 1, 1)] * 2, "period_end": [date(2024, 1, 31)] * 2,
        "area_code": ["E06000016", "LE1"], "area_type": ["district", "outward_postcode"],
        "value": pd.array([120, 7], dtype="Int64"),
    })
    quarantine = pd.DataFrame(columns=["source_file", "source_line", "rule", "reason"])
    Staging(settings.staging_dir).stage(DATASETS["health_counts"], Q, [path], frame, quarantine,
                                        rows_in=2, rows_loaded=2)


def marts(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(
            "SELECT csp_code, theme, category, SUM(events) AS events FROM marts.monthly_counts "
            "GROUP BY csp_code, theme, category ORDER BY csp_code, category"), conn)


def build(settings):
    engine = make_engine(settings.warehouse_url)
    summary = load_returns(engine, settings)
    with engine.begin() as conn:
        models.build(conn)
    return engine, summary


LEICESTER, BLABY = "E01013636", "E01025631"  # LSOAs of the Leicester and Blaby CSPs
LEICESTER_2021 = "E01013636"


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
    duck, _ = build(workspace)
    pg, _ = build(dataclasses.replace(workspace, warehouse_url=postgres_url))
    assert marts(duck)["events"].sum() == 4
    # Every model, not just the marts: the same rows on both engines.
    for model in models.discover():
        tables = []
        for engine in (duck, pg):
            with engine.connect() as conn:
                table = pd.read_sql(sa.text(f"SELECT * FROM {model.name}"), conn)
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
