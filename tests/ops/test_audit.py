"""Audit provenance: the ledger records which run, task, try, host, OS user and code version
staged each return; staging.loaded_returns records when, by which run, on which host and
with which code version each partition was loaded; marts.return_quality shows both. Also:
a retired pseudonymisation key is refused, and a quarter staged before retention deleted
its landing files is not recorded as missing."""
from __future__ import annotations

import getpass
import importlib.metadata
import json
import socket
import subprocess
from datetime import date, datetime, timedelta, UTC

import pandas as pd
import pytest
import sqlalchemy as sa
from support.staging import frame, quarantine

from csp import provenance
from csp.config import PROJECT_DIR
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.staging import NOT_RECEIVED, Staging
from csp.warehouse import models
from csp.warehouse.engine import make_engine
from csp.warehouse.load import load_returns

Q = Quarter(2024, 2)
DATASET = DATASETS["council_asb"]
TASK = {"dag_id": "ingest_local_authority", "run_id": "scheduled__2024-04-01T00:00:00+00:00",
        "task_id": "council_asb.ingest_return", "try_number": 2}
BUILD = "csp-platform 1.4.0 (image 2024-07-02)"


def stage_one(settings, name: str = "council_asb_2024Q2.csv", **kwargs):
    folder = settings.landing_dir / "local_authority" / Q.label
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"{name}\n")
    return Staging(settings.staging_dir).stage(DATASET, Q, [path], frame(3), quarantine(1),
                                               rows_in=4, rows_loaded=3, **kwargs)


def test_staged_entry_records_run_host_user_and_code_version(workspace, monkeypatch):
    monkeypatch.setenv("CSP_CODE_VERSION", BUILD)
    entry = stage_one(workspace, provenance=TASK)
    expected = {**TASK, "hostname": socket.gethostname(), "os_user": getpass.getuser(), "code_version": BUILD}
    assert {k: getattr(entry, k) for k in provenance.FIELDS} == expected
    on_disk = json.loads((Staging(workspace.staging_dir).folder(DATASET.id, Q) / "v1.json").read_text())
    assert {k: on_disk[k] for k in provenance.FIELDS} == expected
    ledger = Staging(workspace.staging_dir).ledger()
    assert ledger[list(provenance.FIELDS)].to_dict("records") == [expected]


def test_status_records_carry_provenance_too(workspace, monkeypatch):
    monkeypatch.setenv("CSP_CODE_VERSION", BUILD)
    entry = Staging(workspace.staging_dir).record_status(DATASET, Q, NOT_RECEIVED, "no return",
                                                         provenance={**TASK, "task_id": "council_asb.wait_for_return"})
    assert (entry.task_id, entry.try_number, entry.code_version) == ("council_asb.wait_for_return", 2, BUILD)


def test_outside_airflow_the_task_fields_are_empty_and_unknown_fields_refused(workspace):
    entry = stage_one(workspace)
    assert (entry.dag_id, entry.run_id, entry.task_id, entry.try_number) == (None, None, None, None)
    assert entry.hostname == socket.gethostname()
    with pytest.raises(ValueError, match=r"unknown provenance fields: \['user'\]"):
        provenance.complete({"user": "someone"})


def test_code_version_without_the_build_variable(monkeypatch):
    monkeypatch.delenv("CSP_CODE_VERSION", raising=False)
    version = importlib.metadata.version("csp-platform")
    if (PROJECT_DIR / ".git").is_dir():
        commit = subprocess.run(["git", "-C", str(PROJECT_DIR), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        assert provenance.git_commit() == commit
        assert provenance.code_version() == f"{version}+g{commit[:12]}"
    else:
        assert provenance.code_version() == version


def test_git_commit_from_packed_refs_and_detached_head(tmp_path):
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "packed-refs").write_text("# pack-refs with: peeled\n" + "a" * 40 + " refs/heads/main\n")
    assert provenance.git_commit(tmp_path) == "a" * 40
    (git / "HEAD").write_text("b" * 40 + "\n")
    assert provenance.git_commit(tmp_path) == "b" * 40
    assert provenance.git_commit(tmp_path / "elsewhere") is None


def test_old_ledger_entries_without_the_fields_still_load(workspace):
    entry = stage_one(workspace)
    path = Staging(workspace.staging_dir).folder(DATASET.id, Q) / "v1.json"
    old = {k: v for k, v in json.loads(path.read_text()).items() if k not in provenance.FIELDS}
    path.write_text(json.dumps(old))
    [reloaded] = Staging(workspace.staging_dir).versions(DATASET.id, Q)
    assert reloaded.return_id == entry.return_id and reloaded.rows_in == 4
    assert {k: getattr(reloaded, k) for k in provenance.FIELDS} == dict.fromkeys(provenance.FIELDS)
    # ... and the warehouse mirrors it with NULLs.
    load_returns(make_engine(workspace.warehouse_url), workspace)
    with make_engine(workspace.warehouse_url).connect() as conn:
        row = conn.execute(sa.text("SELECT dag_id, try_number, hostname FROM staging.returns")).one()
    assert tuple(row) == (None, None, None)


def test_load_records_when_by_which_run_where_and_which_code(workspace, monkeypatch):
    monkeypatch.setenv("CSP_CODE_VERSION", BUILD)
    stage_one(workspace, provenance=TASK)
    engine = make_engine(workspace.warehouse_url)
    before = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    summary = load_returns(engine, workspace, provenance={
        "dag_id": "warehouse", "run_id": "asset_triggered__2024-07-02", "task_id": "load_returns", "try_number": 1})
    after = datetime.now(UTC).replace(tzinfo=None)
    assert summary.loaded == ["council_asb/2024Q2/v1"]
    with engine.begin() as conn:
        loaded = pd.read_sql(sa.text("SELECT * FROM staging.loaded_returns"), conn)
        models.build(conn)
        quality = pd.read_sql(sa.text("SELECT * FROM marts.return_quality"), conn)
    [row] = loaded.to_dict("records")
    assert {k: row[k] for k in ("dataset", "quarter", "version", "return_id", "loaded_by_run",
                                "loaded_on_host", "code_version")} == {
        "dataset": "council_asb", "quarter": "2024Q2", "version": 1, "return_id": "council_asb/2024Q2/v1",
        "loaded_by_run": "warehouse/asset_triggered__2024-07-02", "loaded_on_host": socket.gethostname(),
        "code_version": BUILD}
    assert before <= row["loaded_at"].to_pydatetime() <= after
    [q] = quality.to_dict("records")
    assert {k: q[k] for k in ("staged_by_run", "staged_by_task", "staged_try", "staged_on_host",
                              "staged_code_version", "loaded_by_run", "loaded_on_host", "loaded_code_version")} == {
        "staged_by_run": "ingest_local_authority/scheduled__2024-04-01T00:00:00+00:00",
        "staged_by_task": "council_asb.ingest_return", "staged_try": 2, "staged_on_host": socket.gethostname(),
        "staged_code_version": BUILD,
        "loaded_by_run": "warehouse/asset_triggered__2024-07-02", "loaded_on_host": socket.gethostname(),
        "loaded_code_version": BUILD}
    assert q["loaded_at"] == row["loaded_at"]
    assert "staged_by_user" not in q  # the login stays in the ledger, out of the analysts' mart


def test_a_warehouse_from_before_the_audit_columns_gains_them(workspace):
    engine = make_engine(workspace.warehouse_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS staging")
        conn.exec_driver_sql("CREATE TABLE staging.loaded_returns (dataset VARCHAR, quarter VARCHAR, "
                             "version BIGINT, return_id VARCHAR)")
        conn.exec_driver_sql("INSERT INTO staging.loaded_returns VALUES "
                             "('police_crimes', '2019Q4', 1, 'police_crimes/2019Q4/v1')")
    stage_one(workspace)
    load_returns(engine, workspace)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT return_id, loaded_by_run, loaded_on_host IS NOT NULL "
                                    "FROM staging.loaded_returns ORDER BY return_id")).all()
    # The old row keeps NULL audit values; outside an Airflow run there is no run to name.
    assert [tuple(r) for r in rows] == [("council_asb/2024Q2/v1", None, True),
                                       ("police_crimes/2019Q4/v1", None, False)]


def test_on_postgresql_the_load_records_the_same(workspace, postgres_url, monkeypatch):
    import dataclasses

    monkeypatch.setenv("CSP_CODE_VERSION", BUILD)
    stage_one(workspace, provenance=TASK)
    settings = dataclasses.replace(workspace, warehouse_url=postgres_url)
    engine = make_engine(postgres_url)
    load_returns(engine, settings, provenance={"dag_id": "warehouse", "run_id": "r9"})
    load_returns(engine, settings)  # already loaded: the audit row is left as it was
    with engine.begin() as conn:
        models.build(conn)
        rows = conn.execute(sa.text("SELECT l.loaded_by_run, l.code_version, q.staged_by_run, q.staged_try "
                                    "FROM staging.loaded_returns l JOIN marts.return_quality q "
                                    "USING (dataset, quarter, version)")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("warehouse/r9", BUILD, "ingest_local_authority/scheduled__2024-04-01T00:00:00+00:00", 2)]


# --- the key generation and retention fixes in ingest -------------------------------------------


def test_a_retired_pseudonymisation_key_is_refused(workspace):
    from csp.depersonalise import pseudonym_key
    from csp.ingest import ingest_return
    from csp.key_rotation import KEY_LEDGER, KeyRotationError, key_fingerprint

    workspace.staging_dir.mkdir(parents=True)
    ledger = workspace.staging_dir / KEY_LEDGER
    current = key_fingerprint(b"the key after the rotation")
    ledger.write_text(json.dumps([{"generation": 1, "fingerprint": current, "began_at": "2024-07-01T00:00:00+00:00"}]))
    with pytest.raises(KeyRotationError, match=f"is not the current generation's \\(fingerprint {current}"):
        ingest_return(workspace, "council_asb", Q)
    # With the current key configured the check passes (and the empty landing folder is next).
    ledger.write_text(json.dumps([{"generation": 1, "fingerprint": key_fingerprint(pseudonym_key()),
                                   "began_at": "2024-07-01T00:00:00+00:00"}]))
    with pytest.raises(FileNotFoundError, match="no council_asb return in"):
        ingest_return(workspace, "council_asb", Q)


def test_a_staged_quarter_whose_landing_files_retention_deleted_is_not_missing(workspace):
    from csp.ingest import ingest_return, poll_return

    entry = stage_one(workspace)
    for path in (workspace.landing_dir / "local_authority" / Q.label).iterdir():
        path.unlink()  # as the housekeeping DAG does after the retention period
    after_deadline = Q.deadline + timedelta(days=400)
    assert poll_return(workspace, "council_asb", Q, after_deadline) == ["council_asb_2024Q2.csv"]
    assert ingest_return(workspace, "council_asb", Q) == entry
    statuses = Staging(workspace.staging_dir).ledger()[["version", "status"]].values.tolist()
    assert statuses == [[1, "accepted"]]  # no "not received" record beside it
    assert after_deadline > date(2025, 3, 31)
