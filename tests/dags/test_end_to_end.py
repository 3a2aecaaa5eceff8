"""The whole quarterly cycle through the real DAGs, in this process via dag.test():
synthetic returns -> four ingest DAGs -> warehouse DAG -> strategic assessments; and the real
police.uk Leicestershire file through the police DAG into the marts."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import sqlalchemy as sa

from csp.geography import partnerships
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.warehouse.engine import make_engine

pytestmark = pytest.mark.slow
FORCE = "E23000021"


def query(settings, sql: str) -> pd.DataFrame:
    with make_engine(settings.warehouse_url).connect() as conn:
        return pd.read_sql(sa.text(sql), conn)


def test_synthetic_partnership_end_to_end(workspace, runner, reference_dir, monkeypatch):
    from csp.synth import generate

    manifest = generate(workspace.data_dir, seed=7, first_quarter=Quarter(2024, 1), quarters=4, scale=0.2)
    quarters = [Quarter.parse(q) for q in manifest["quarters"]]
    monkeypatch.setenv("CSP_TODAY", "2025-04-01")  # the day after 2024Q4's deadline
    results = runner.run_cycle(quarters, progress=lambda _: None)
    assert {r.state for r in results} == {"success"}, results

    loaded = query(workspace, "SELECT dataset, COUNT(*) AS n FROM core.fact_event GROUP BY dataset")
    held_records = {d.id for d in DATASETS.values() if d.kind == "record" and d.mandated} - {"ambulance_callouts"}
    assert set(loaded["dataset"]) == held_records
    assert query(workspace, "SELECT COUNT(*) AS n FROM core.fact_count")["n"][0] > 0

    csps = {p.code for p in partnerships(reference_dir, FORCE)}
    per_csp = query(workspace, "SELECT DISTINCT csp_code FROM core.fact_event WHERE csp_code IS NOT NULL")
    assert set(per_csp["csp_code"]) == csps
    assert query(workspace, "SELECT COUNT(*) AS n FROM core.dim_category WHERE theme = 'unclassified'")["n"][0] == 0

    compliance = query(workspace, "SELECT dataset, state FROM marts.compliance_matrix")
    assert set(compliance.loc[compliance["dataset"] == "ambulance_callouts", "state"]) == {"not_held"}
    ledger = query(workspace, "SELECT rows_in, rows_loaded, rows_quarantined, rows_rejected FROM staging.returns")
    assert (ledger["rows_in"] == ledger["rows_loaded"] + ledger["rows_quarantined"] + ledger["rows_rejected"]).all()

    # The analysis of the reportable year (2024) is in the warehouse for the reports.
    hotspots = query(workspace, "SELECT theme, COUNT(*) AS n, MIN(reference_month) AS month "
                                "FROM analysis.hotspots GROUP BY theme")
    assert str(hotspots["month"].iloc[0])[:10] == "2024-12-01"
    assert set(hotspots["n"]) == {int(query(workspace, "SELECT COUNT(*) AS n FROM core.dim_geography "
                                                       "WHERE in_area AND population > 0")["n"][0])}
    assert query(workspace, "SELECT COUNT(*) AS n FROM analysis.harm WHERE theme = 'acquisitive'")["n"][0] == 9

    reports = sorted((workspace.out_dir / "strategic").rglob("*.html"))
    assert {p.stem for p in reports} == csps
    charnwood = next(p for p in reports if p.stem == "E22000165").read_text()
    assert "Strategic assessment: Charnwood Community Safety Partnership" in charnwood
    assert "Provisional" not in charnwood and "January 2024 to December 2024" in charnwood
    rendered = {p: p.stat().st_mtime_ns for p in reports}

    # Re-running a quarter with the same files changes nothing.
    before = query(workspace, "SELECT dataset, COUNT(*) AS n FROM core.fact_event GROUP BY dataset ORDER BY dataset")
    assert runner.run_authority("police", quarters[-1]).state == "success"
    assert runner.run_warehouse().state == "success"
    after = query(workspace, "SELECT dataset, COUNT(*) AS n FROM core.fact_event GROUP BY dataset ORDER BY dataset")
    pd.testing.assert_frame_equal(before, after)
    assert {p: p.stat().st_mtime_ns for p in reports} == rendered  # same inputs: reports left alone

    # A corrected return (the force drops its last 100 crimes) becomes version 2, and the
    # warehouse then holds version 2 only.
    quarter = quarters[1]
    crimes = workspace.landing_dir / "police" / quarter.label / f"force_crimes_{quarter}.csv"
    lines = crimes.read_text().splitlines(keepends=True)
    crimes.write_text("".join(lines[:-100]))
    assert runner.run_authority("police", quarter).state == "success"
    assert runner.run_warehouse().state == "success"
    versions = query(workspace, f"SELECT return_id, COUNT(*) AS n FROM core.fact_event "
                                f"WHERE dataset = 'police_crimes' AND return_id LIKE 'police_crimes/{quarter}/%' "
                                "GROUP BY return_id")
    assert versions.values.tolist() == [[f"police_crimes/{quarter}/v2", len(lines) - 1 - 100]]
    statuses = query(workspace, f"SELECT version, status FROM staging.returns WHERE dataset = 'police_crimes' "
                                f"AND quarter = '{quarter}' ORDER BY version")
    assert statuses.values.tolist() == [[1, "superseded"], [2, "accepted"]]
    # ... and every report is rendered again from it, its manifest naming version 2.
    assert all(p.stat().st_mtime_ns != rendered[p] for p in reports)
    used = json.loads(reports[0].with_suffix(".json").read_text())["returns_used"]
    assert {"dataset": "police_crimes", "quarter": quarter.label, "version": 2} in used


def test_real_police_uk_file_through_the_police_dag(workspace, runner, reference_dir):
    source = reference_dir / "police_uk" / "2020-01-leicestershire-street.csv"
    landing = workspace.landing_dir / "police" / "2020Q1"
    landing.mkdir(parents=True)
    shutil.copy(source, landing / source.name)
    assert runner.run_authority("police", Quarter(2020, 1)).state == "success"
    assert runner.run_warehouse().state == "success"

    raw = pd.read_csv(source, dtype=str)
    expected = raw["Crime type"].value_counts().sort_index()
    loaded = query(workspace, "SELECT category, COUNT(*) AS n FROM core.fact_event "
                              "WHERE dataset IN ('police_crimes', 'police_incidents') GROUP BY category")
    assert loaded.set_index("category")["n"].sort_index().to_dict() == expected.to_dict()
    assert int(expected.sum()) == 8852

    no_location = raw["LSOA code"].isna() & raw["Longitude"].isna()
    unlocated = query(workspace, "SELECT COUNT(*) AS n FROM core.fact_event WHERE location_precision = 'none'")
    assert unlocated["n"][0] == no_location.sum() > 0
