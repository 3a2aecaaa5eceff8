"""The retention policy: landing files go only once the ledger shows them staged, and only after
the configured period; quarantine reports go after theirs; dry runs delete nothing; the
housekeeping DAG loads and applies it through Airflow."""
from __future__ import annotations

import os
from datetime import datetime, timedelta, UTC
from pathlib import Path

import pandas as pd
import pytest

from csp import housekeeping
from csp.housekeeping import RetentionPolicy, apply_retention, load_policy
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.staging import REJECTED, Staging
from support.warehouse import events_frame

PROJECT_DIR = Path(__file__).resolve().parents[2]
POLICY = RetentionPolicy(landing_days=90, quarantine_days=365)
Q1, Q2 = Quarter(2024, 1), Quarter(2024, 2)
NO_QUARANTINE = pd.DataFrame(columns=["source_file", "source_line", "rule", "reason"])


def land(settings, authority: str, quarter: Quarter, name: str, text: str) -> Path:
    path = settings.landing_dir / authority / quarter.label / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def stage(settings, dataset_id: str, quarter: Quarter, files: list[Path], status: str = "accepted"):
    """Stage the files through the real ledger code (one row of canonical data)."""
    frame = events_frame(dataset_id, [{"category": "Burglary", "lsoa": "E01013636",
                                       "date": quarter.start}])
    quarantine = NO_QUARANTINE if status == "accepted" else pd.DataFrame(
        {"source_file": [files[0].name], "source_line": [2], "rule": ["r"], "reason": ["bad"]})
    return Staging(settings.staging_dir).stage(
        DATASETS[dataset_id], quarter, files, frame, quarantine,
        rows_in=1 + (status != "accepted"), rows_loaded=1, status=status,
        failures=[] if status == "accepted" else ["suite failed"])


@pytest.fixture
def landing_state(workspace):
    """Landing folders the ledger accounts for in every way it can (or cannot)."""
    s = workspace
    files = {
        "accepted": land(s, "police", Q1, "2024-03-street.csv", "accepted\n"),
        "superseded": land(s, "police", Q2, "old-street.csv", "first\n"),
        "resubmission": land(s, "police", Q2, "new-street.csv", "second\n"),
        "two_files_a": land(s, "health", Q1, "apc_1.csv", "a\n"),
        "two_files_b": land(s, "health", Q1, "apc_2.csv", "b\n"),
        "rejected": land(s, "fire", Q1, "fire.csv", "rejected\n"),
        "changed": land(s, "local_authority", Q1, "rtc.csv", "as staged\n"),
        "not_ingested": land(s, "local_authority", Q2, "rtc.csv", "waiting\n"),
        "history_input": land(s, "police", Quarter(2023, 4), "year.csv", "history\n"),
    }
    # csp history keeps a multi-quarter input in landing/<authority>/history/, never staged itself.
    history = s.landing_dir / "police" / "history"
    history.mkdir()
    files["history_input"] = files["history_input"].rename(history / "year.csv")
    stage(s, "police_crimes", Q1, [files["accepted"]])
    stage(s, "police_crimes", Q2, [files["superseded"]])
    stage(s, "police_crimes", Q2, [files["resubmission"]])
    stage(s, "hospital_admissions", Q1, [files["two_files_a"], files["two_files_b"]])
    stage(s, "fire_incidents", Q1, [files["rejected"]], status=REJECTED)
    stage(s, "road_collisions", Q1, [files["changed"]])
    files["changed"].write_text("a different file of the same name\n")
    return {name: path.resolve() for name, path in files.items()}


def after(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def test_landing_files_go_only_when_staged_and_past_the_period(workspace, landing_state):
    early = apply_retention(workspace, POLICY, now=after(89))
    assert early.landing_deleted == []
    assert all(p.exists() for p in landing_state.values())

    summary = apply_retention(workspace, POLICY, now=after(91))
    staged = {"accepted", "superseded", "resubmission", "two_files_a", "two_files_b"}
    assert {p.resolve() for p in summary.landing_deleted} == {landing_state[n] for n in staged}
    assert {p.resolve() for p in summary.landing_unaccounted} == {
        landing_state[n] for n in ("rejected", "changed", "not_ingested", "history_input")}
    for name, path in landing_state.items():
        assert path.exists() == (name not in staged), name
    # The ledger is untouched: every version still there, with its counts.
    ledger = Staging(workspace.staging_dir).ledger()
    assert len(ledger) == 6 and set(ledger["status"]) == {"accepted", "superseded", "rejected"}


def test_a_dry_run_counts_the_same_and_deletes_nothing(workspace, landing_state):
    dry = apply_retention(workspace, POLICY, now=after(91), dry_run=True)
    assert len(dry.landing_deleted) == 5 and dry.dry_run
    assert all(p.exists() for p in landing_state.values())
    real = apply_retention(workspace, POLICY, now=after(91))
    assert real.counts() == {**dry.counts(), "dry_run": False}
    assert apply_retention(workspace, POLICY, now=after(91)).landing_deleted == []  # idempotent


def test_a_multi_file_return_with_a_file_missing_is_kept(workspace, landing_state):
    landing_state["two_files_b"].unlink()  # e.g. removed by hand: the checksum cannot be verified
    summary = apply_retention(workspace, POLICY, now=after(91))
    assert landing_state["two_files_a"].exists()
    assert landing_state["two_files_a"] in {p.resolve() for p in summary.landing_unaccounted}


def test_quarantine_reports_are_kept_for_their_period(workspace, landing_state):
    reports = sorted(workspace.staging_dir.glob("*/*/v*.quarantine.csv"))
    assert len(reports) == 6
    old, young = reports[0], reports[1]
    for path, days in ((old, 366), (young, 364)):
        moment = (datetime.now(UTC) - timedelta(days=days)).timestamp()
        os.utime(path, (moment, moment))
    summary = apply_retention(workspace, POLICY)
    assert summary.quarantine_deleted == [old] and summary.quarantine_retained == 5
    assert not old.exists() and young.exists()
    assert summary.landing_deleted == []  # staged moments ago


def test_the_committed_policy_and_its_limits(tmp_path):
    assert load_policy() == RetentionPolicy(landing_days=90, quarantine_days=365)
    bad = tmp_path / "retention.toml"
    bad.write_text("[landing]\ndays_after_staged = 0\n[quarantine]\ndays = 365\n")
    with pytest.raises(ValueError, match="at least one day"):
        load_policy(bad)


def test_every_deletion_is_logged_with_its_reason(workspace, landing_state, caplog):
    caplog.set_level("INFO", logger=housekeeping.__name__)
    apply_retention(workspace, POLICY, now=after(91))
    deleted = [r.getMessage() for r in caplog.records if "housekeeping: deleted" in r.getMessage()]
    assert len(deleted) == 5 and all("over 90 days ago" in m for m in deleted)
    assert any("'landing_deleted': 5" in r.getMessage() for r in caplog.records)
    assert any("no staged version matches them" in r.getMessage() for r in caplog.records)


def test_the_housekeeping_dag_loads():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_DIR / "dags" / "csp_housekeeping.py"))
    assert bag.import_errors == {}
    dag = bag.dags["housekeeping"]
    assert [t.task_id for t in dag.tasks] == ["apply_retention"]
    assert dag.params["dry_run"] is False


@pytest.mark.slow
def test_the_dag_applies_the_policy(workspace, runner, monkeypatch):
    """Through Airflow: a landing file staged 91 days ago and a year-old quarantine report go;
    a dry run first leaves both."""
    import csp.staging

    staged_at = (datetime.now(UTC) - timedelta(days=91)).isoformat(timespec="seconds")
    monkeypatch.setattr(csp.staging, "_now", lambda: staged_at)  # the ledger's clock, 91 days back
    path = land(workspace, "police", Q1, "2024-03-street.csv", "accepted\n")
    entry = stage(workspace, "police_crimes", Q1, [path])
    report = workspace.staging_dir / "police_crimes" / Q1.label / f"v{entry.version}.quarantine.csv"
    year_ago = (datetime.now(UTC) - timedelta(days=366)).timestamp()
    os.utime(report, (year_ago, year_ago))

    dag = runner.dags["housekeeping"]
    assert str(dag.test(run_conf={"dry_run": True}).state) == "success"
    assert path.exists() and report.exists()
    # Explicit: dag.test() in one process keeps the previous run's conf in the DAG's params.
    assert str(dag.test(run_conf={"dry_run": False}).state) == "success"
    assert not path.exists() and not report.exists()
