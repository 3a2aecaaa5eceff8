"""The operator's CLI: `csp status` over a warehouse built from tiny staged returns (and the
latest runs in a real Airflow metadata database), `csp resubmit` into temporary landing
folders with only Airflow's trigger API replaced, and `csp report`'s call."""
from __future__ import annotations

import csv
import io
import os
import time
from datetime import datetime
from types import SimpleNamespace

import pendulum
import pytest
import sqlalchemy as sa

import csp.reports
from csp.cli import main, run_with_progress
from csp.ingest import return_files
from csp.quarters import Quarter
from csp.registry import DATASETS
from support.warehouse import build, stage_authority

Q = Quarter(2024, 1)
HEALTH_MANDATED = {"hospital_admissions", "domestic_abuse_admissions", "health_counts"}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- csp status ------------------------------------------------------------------------------

@pytest.fixture
def three_authorities_in(workspace, tmp_path, monkeypatch):
    """2024Q1 returns from police, fire and the council (received 15 April); health sends
    nothing. Returns a function rebuilding the warehouse as of a given day."""
    for authority in ("police", "fire", "local_authority"):
        stage_authority(workspace, tmp_path, authority)

    def as_of(day: str):
        monkeypatch.setenv("CSP_TODAY", day)
        build(workspace)[0].dispose()
    return as_of


def status_rows(capsys) -> tuple[int, list[dict]]:
    code, out, _ = run_cli(capsys, "status", "--format", "csv")
    return code, list(csv.DictReader(io.StringIO(out)))


def test_status_names_each_missing_return_once_the_deadline_passes(three_authorities_in, capsys):
    three_authorities_in("2024-07-01")  # the day after 2024Q1's deadline
    code, rows = status_rows(capsys)
    assert code == 1
    # Every mandated dataset for 2024Q1 and, just ended, 2024Q2 (not due until 30 September).
    assert len(rows) == 24 and {row["quarter"] for row in rows} == {"2024Q1", "2024Q2"}
    awaited = {r["state"] for r in rows if r["quarter"] == "2024Q2" and r["dataset"] != "ambulance_callouts"}
    assert awaited == {"awaited"}
    states = {row["dataset"]: row["state"] for row in rows if row["quarter"] == "2024Q1"}
    assert {d for d, s in states.items() if s == "not_received"} == HEALTH_MANDATED
    assert states["ambulance_callouts"] == "not_held"
    assert {d for d, s in states.items() if s == "on_time"} == {
        d.id for d in DATASETS.values() if d.mandated and d.authority != "health"}

    code, out, _ = run_cli(capsys, "status", "--no-runs")
    assert code == 1
    assert "Compliance matrix as of 2024-07-01: 24 returns owed over 2 quarters (2024Q1..2024Q2)" in out
    grid = {tuple(line.split()[:2]): line.split()[2:] for line in out.splitlines()
            if len(line.split()) == 4 and line.split()[1] in DATASETS}
    assert len(grid) == 12
    assert grid[("police", "police_crimes")] == ["on_time", "awaited"]
    assert grid[("health", "hospital_admissions")] == ["not_received", "awaited"]
    assert grid[("health", "ambulance_callouts")] == ["not_held", "not_held"]
    assert "awaited 11, not_held 2, not_received 3, on_time 8" in out
    action = out.split("Needs action (3):\n")[1].splitlines()[:3]
    assert sorted(line.split()[2] for line in action) == sorted(HEALTH_MANDATED)

    # --last 1 shows 2024Q2 alone, where nothing is due yet.
    code, out, _ = run_cli(capsys, "status", "--no-runs", "--last", "1")
    assert code == 0 and "12 returns owed over 1 quarters (2024Q2..2024Q2)" in out


def test_status_exits_0_when_late_returns_arrive_and_before_the_deadline(three_authorities_in, workspace,
                                                                         tmp_path, capsys):
    three_authorities_in("2024-06-30")  # deadline day: health is still awaited, not missing
    code, rows = status_rows(capsys)
    assert code == 0 and {r["state"] for r in rows if r["dataset"] in HEALTH_MANDATED} == {"awaited"}
    assert {r["quarter"] for r in rows} == {"2024Q1"}

    stage_authority(workspace, tmp_path, "health", received=datetime(2024, 7, 3, 9, 0))
    three_authorities_in("2024-07-10")
    code, out, _ = run_cli(capsys, "status", "--no-runs")
    assert code == 0 and "Every return due is in." in out
    code, rows = status_rows(capsys)
    late = {r["dataset"]: r["days_late"] for r in rows if r["state"] == "late" and r["quarter"] == "2024Q1"}
    assert set(late) == HEALTH_MANDATED
    # received 3 July against a 30 June deadline (the counts file is stamped when written)
    assert float(late["hospital_admissions"]) == float(late["domestic_abuse_admissions"]) == 3.0


def test_status_reads_a_postgresql_warehouse(workspace, postgres_url, tmp_path, monkeypatch, capsys):
    from csp.config import settings

    monkeypatch.setenv("CSP_WAREHOUSE_URL", postgres_url)
    monkeypatch.setenv("CSP_TODAY", "2024-07-01")
    for authority in ("police", "fire", "local_authority"):
        stage_authority(workspace, tmp_path, authority)
    build(settings())[0].dispose()
    code, rows = status_rows(capsys)
    assert code == 1
    assert {r["dataset"] for r in rows if r["state"] == "not_received"} == HEALTH_MANDATED


def test_status_without_a_warehouse_exits_3_and_creates_nothing(workspace, capsys):
    code, _, err = run_cli(capsys, "status")
    assert code == 3 and "no warehouse at" in err
    assert not (workspace.data_dir / "warehouse.duckdb").exists()


def test_status_usage_errors_exit_2(capsys):
    for argv in (["status", "--format", "xml"], ["status", "--last", "0"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
    capsys.readouterr()


@pytest.mark.slow  # migrates a fresh Airflow metadata database (about 20 s)
def test_status_shows_the_latest_run_of_each_dag_from_airflow(three_authorities_in, capsys):
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunType
    from conftest import AIRFLOW_HOME

    from csp.runner import configure_airflow
    from csp.status import DAG_IDS, latest_runs

    configure_airflow(AIRFLOW_HOME)  # the tests' Airflow home, migrated once per session
    london = pendulum.timezone("Europe/London")

    def dag_run(dag_id, run_id, start, end, state):
        return DagRun(dag_id=dag_id, run_id=run_id, logical_date=start, run_after=end,
                      data_interval=(start, end), state=state, run_type=DagRunType.SCHEDULED)

    q1 = (pendulum.datetime(2024, 1, 1, tz=london), pendulum.datetime(2024, 4, 1, tz=london))
    q2 = (pendulum.datetime(2024, 4, 1, tz=london), pendulum.datetime(2024, 7, 1, tz=london))
    with create_session() as session:
        # The session's Airflow home is shared: earlier DAG-run tests leave newer runs behind.
        session.execute(sa.delete(DagRun).where(DagRun.dag_id.in_(DAG_IDS)))
        session.add_all([
            dag_run("ingest_police", "cli_test_q1", *q1, DagRunState.SUCCESS),
            dag_run("ingest_police", "cli_test_q2", *q2, DagRunState.FAILED),
            dag_run("warehouse", "cli_test_wh", *q2, DagRunState.SUCCESS),
        ])
    runs = {run.dag_id: run for run in latest_runs()}
    assert (runs["ingest_police"].run_id, runs["ingest_police"].state, runs["ingest_police"].quarter) == (
        "cli_test_q2", "failed", "2024Q2")
    assert runs["warehouse"].quarter is None and runs["warehouse"].state == "success"
    assert runs["ingest_fire"].run_id is None

    three_authorities_in("2024-07-01")
    code, out, _ = run_cli(capsys, "status")
    assert code == 1
    lines = out.split("Latest runs (Airflow metadata database sqlite:///")[1].splitlines()
    assert any(line.split()[:4] == ["ingest_police", "failed", "2024Q2", "cli_test_q2"] for line in lines)
    assert any(line.split() == ["ingest_fire", "no", "runs", "yet"] for line in lines)


# --- csp resubmit ----------------------------------------------------------------------------

STREET = "2024-01-leicestershire-street.csv"  # a police.uk street file: police_crimes and police_incidents


class FakeTrigger:
    """Stands in for airflow.api.common.trigger_dag.trigger_dag, recording its calls."""

    def __init__(self, error: Exception | None = None):
        self.calls, self.error = [], error

    def __call__(self, dag_id, **kwargs):
        self.calls.append({"dag_id": dag_id, **kwargs})
        if self.error:
            raise self.error
        return SimpleNamespace(run_id=kwargs["run_id"])


@pytest.fixture
def trigger(monkeypatch):
    fake = FakeTrigger()
    monkeypatch.setattr("airflow.api.common.trigger_dag.trigger_dag", fake)
    return fake


@pytest.fixture
def landed(workspace, tmp_path, monkeypatch):
    """The police's 2024Q1 landing folder with its original street file; a corrected one."""
    monkeypatch.setenv("CSP_TODAY", "2024-05-20")
    folder = workspace.landing_dir / "police" / "2024Q1"
    folder.mkdir(parents=True)
    (folder / STREET).write_text("original\n")
    os.utime(folder / STREET, (1_700_000_000, 1_700_000_000))
    corrected = tmp_path / "corrections" / STREET
    corrected.parent.mkdir()
    corrected.write_text("corrected\n")
    os.utime(corrected, (1_700_000_000, 1_700_000_000))
    return SimpleNamespace(folder=folder, corrected=corrected, settings=workspace)


def test_resubmit_sets_the_old_file_aside_and_triggers_the_quarter(landed, trigger, capsys):
    before = time.time()
    code, out, _ = run_cli(capsys, "resubmit", "police", "police_crimes", "2024Q1", str(landed.corrected))
    assert code == 0

    # What the ingest reads now is exactly the corrected file, landed now (the received time).
    files = return_files(landed.settings, DATASETS["police_crimes"], Q)
    assert files == {"police_uk_street": [landed.folder / STREET]}
    assert (landed.folder / STREET).read_text() == "corrected\n"
    assert (landed.folder / STREET).stat().st_mtime >= before - 1
    (kept,) = (landed.folder / "superseded").glob(f"*/{STREET}")
    assert kept.read_text() == "original\n"
    assert "also feed police_incidents" in out

    (call,) = trigger.calls
    assert call["dag_id"] == "ingest_police" and call["run_id"].startswith("resubmit__2024Q1__")
    assert f"Triggered ingest_police for 2024Q1: run {call['run_id']}" in out
    assert call["logical_date"].tzinfo is not None
    # The real DAG's timetable, as the scheduler holds it (serialized), makes the run 2024Q1's.
    from airflow.serialization.serialized_objects import DagSerialization

    from csp.dag_factory import authority_dag

    scheduled = DagSerialization.from_dict(DagSerialization.to_dict(authority_dag("police")))
    interval = scheduled.timetable.infer_manual_data_interval(run_after=call["run_after"])
    london = "Europe/London"
    assert interval.start == pendulum.datetime(2024, 1, 1, tz=london)
    assert interval.end == pendulum.datetime(2024, 4, 1, tz=london)


def test_resubmit_no_trigger_only_places_files(landed, trigger, capsys):
    code, out, _ = run_cli(capsys, "resubmit", "--no-trigger", "police", "police_crimes", "2024Q1",
                           str(landed.corrected))
    assert code == 0 and trigger.calls == []
    assert (landed.folder / STREET).read_text() == "corrected\n"
    assert "Not triggered" in out


def test_resubmit_when_airflow_cannot_trigger_exits_1_with_files_placed(landed, monkeypatch, capsys):
    from airflow.exceptions import DagNotFound

    monkeypatch.setattr("airflow.api.common.trigger_dag.trigger_dag",
                        FakeTrigger(DagNotFound("Dag id ingest_police not found in DagModel")))
    code, _, err = run_cli(capsys, "resubmit", "police", "police_crimes", "2024Q1", str(landed.corrected))
    assert code == 1
    assert "could not be triggered: Dag id ingest_police not found" in err
    assert (landed.folder / STREET).read_text() == "corrected\n"


@pytest.mark.parametrize("argv, message", [
    (["ambulance", "police_crimes", "2024Q1"], "unknown authority 'ambulance'"),
    (["police", "hospital_admissions", "2024Q1"], "police has no dataset 'hospital_admissions'"),
    (["police", "police_crimes", "2024Q5"], "not a quarter label"),
    (["police", "police_crimes", "2024Q2"], "2024Q2 has not ended yet"),
])
def test_resubmit_refuses_unknown_names_and_unfinished_quarters(landed, trigger, capsys, argv, message):
    code, _, err = run_cli(capsys, "resubmit", *argv, str(landed.corrected))
    assert code == 2 and message in err
    assert (landed.folder / STREET).read_text() == "original\n" and trigger.calls == []


def test_resubmit_refuses_files_that_are_not_the_datasets(landed, trigger, tmp_path, capsys):
    wrong = tmp_path / "crimes-corrected.csv"
    wrong.write_text("x\n")
    code, _, err = run_cli(capsys, "resubmit", "police", "police_crimes", "2024Q1", str(wrong))
    assert code == 2
    assert "crimes-corrected.csv is not a police_crimes file" in err and "force_crimes*.csv" in err
    code, _, err = run_cli(capsys, "resubmit", "police", "police_crimes", "2024Q1", str(tmp_path / STREET))
    assert code == 2 and "no such file" in err
    assert (landed.folder / STREET).read_text() == "original\n" and trigger.calls == []
    assert not (landed.folder / "superseded").exists()


def test_resubmit_of_a_return_never_sent_just_places_it(workspace, tmp_path, trigger, monkeypatch, capsys):
    monkeypatch.setenv("CSP_TODAY", "2024-05-20")
    corrected = tmp_path / "force_crimes_2024Q1.csv"
    corrected.write_text("crime_ref\n")
    code, out, _ = run_cli(capsys, "resubmit", "police", "police_crimes", "2024Q1", str(corrected))
    assert code == 0 and "set aside" not in out and "also feed" not in out
    assert return_files(workspace, DATASETS["police_crimes"], Q) == {
        "force_crimes": [workspace.landing_dir / "police" / "2024Q1" / corrected.name]}


# --- csp report ------------------------------------------------------------------------------

def test_report_problem_profile_needs_theme_and_area(capsys):
    for argv in (["report", "--kind", "problem_profile", "--theme", "violence"],
                 ["report", "--kind", "weekly"], ["report"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
    capsys.readouterr()


def test_report_calls_render_report_and_prints_what_it_wrote(workspace, monkeypatch, capsys):
    calls = []

    def render_report(settings, **kwargs):
        calls.append((settings, kwargs))
        if kwargs["partnership"] == "E22000999":
            raise LookupError("no tactical report for 'E22000999' in the served area")
        return [workspace.out_dir / "tactical" / "E22000168.html"]

    monkeypatch.setattr(csp.reports, "render_report", render_report)
    code, out, _ = run_cli(capsys, "report", "--kind", "problem_profile", "--theme", "violence", "--area", "E05000001")
    assert code == 0 and out.strip() == str(workspace.out_dir / "tactical" / "E22000168.html")
    assert calls[0][0] == workspace
    assert calls[0][1] == {"kind": "problem_profile", "partnership": None, "theme": "violence", "area": "E05000001"}

    code, _, err = run_cli(capsys, "report", "--kind", "tactical", "--partnership", "E22000999")
    assert code == 1 and "no tactical report for 'E22000999'" in err


# --- progress ----------------------------------------------------------------------------------

def test_demo_progress_prints_every_run_line_without_a_terminal(capsys):
    class Runner:
        def run_cycle(self, quarters, progress):
            for quarter in quarters:
                progress(f"  ingest_police {quarter} success")
            progress("  warehouse success")
            return ["ok"]

    assert run_with_progress(Runner(), [Q, Q.next()]) == ["ok"]
    out = capsys.readouterr().out
    assert out.splitlines() == ["  ingest_police 2024Q1 success", "  ingest_police 2024Q2 success",
                                "  warehouse success"]
