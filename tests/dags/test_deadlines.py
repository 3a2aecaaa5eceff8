"""The statutory deadline without the wall clock: a quarter's return is due by the end of the
following quarter. Before it the wait keeps polling; once a file lands it stops; past it the
return is recorded as not received, the task fails and the alert fires. The DAG test only
runs with "today" past the deadline: with a missing return before it, dag.test() would poke
the rescheduled sensor for ever."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pendulum
import pytest

from csp.ingest import ReturnNotReceived, poll_return
from csp.quarters import Quarter
from csp.registry import datasets_of
from csp.staging import NOT_RECEIVED, Staging

Q = Quarter(2024, 1)
DEADLINE = date(2024, 6, 30)
DAY = timedelta(days=1)
FIRE_DATASETS = {d.id for d in datasets_of("fire")}


def landing(settings, authority: str = "fire"):
    folder = settings.landing_dir / authority / Q.label
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def statuses(settings) -> dict[tuple[str, str], str]:
    ledger = Staging(settings.staging_dir).ledger()
    return {(row.dataset, row.quarter): row.status for row in ledger.itertuples()}


def test_deadline_is_the_end_of_the_following_quarter():
    assert Q.deadline == DEADLINE
    assert Quarter(2024, 4).deadline == date(2025, 3, 31)


@pytest.mark.parametrize("today", [Q.end, Q.end + DAY, DEADLINE - DAY, DEADLINE], ids=str)
def test_poll_waits_until_the_deadline(workspace, today):
    landing(workspace)
    assert poll_return(workspace, "fire_incidents", Q, today) is None
    assert statuses(workspace) == {}


def test_poll_returns_the_file_names_once_they_land(workspace):
    folder = landing(workspace)
    (folder / "notes.txt").write_text("covering letter: not part of the return")
    assert poll_return(workspace, "fire_incidents", Q, DEADLINE) is None
    for name in ("lfb_incident_records_2024Q1.csv", "fire_other_incidents_2024Q1.csv"):
        (folder / name).write_text("any content: the wait looks at names only\n")
    expected = ["fire_other_incidents_2024Q1.csv", "lfb_incident_records_2024Q1.csv"]
    assert poll_return(workspace, "fire_incidents", Q, DEADLINE) == expected
    # A file that lands late is a late return, not a missing one.
    assert poll_return(workspace, "fire_incidents", Q, DEADLINE + 30 * DAY) == expected
    assert poll_return(workspace, "fire_false_alarms", Q, DEADLINE + DAY) == ["lfb_incident_records_2024Q1.csv"]
    assert statuses(workspace) == {}


def test_poll_past_the_deadline_records_not_received_and_raises(workspace):
    folder = landing(workspace)
    with pytest.raises(ReturnNotReceived, match=rf"no return in {folder} by 2024-06-30"):
        poll_return(workspace, "fire_incidents", Q, DEADLINE + DAY)
    ledger = Staging(workspace.staging_dir).ledger()
    assert ledger[["dataset", "quarter", "status", "due_date"]].values.tolist() == [
        ["fire_incidents", "2024Q1", NOT_RECEIVED, "2024-06-30"]]
    # Polling again (a retried task) keeps one record.
    with pytest.raises(ReturnNotReceived):
        poll_return(workspace, "fire_incidents", Q, DEADLINE + 2 * DAY)
    assert len(Staging(workspace.staging_dir).ledger()) == 1


# --- through the real DAG ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def runner():
    from conftest import AIRFLOW_HOME

    from csp.runner import DagRunner, configure_airflow

    configure_airflow(AIRFLOW_HOME)
    return DagRunner()


@pytest.mark.slow
def test_the_dag_timetable_gives_the_quarter_and_its_deadline(runner):
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    # The scheduler reads the serialized DAG: its timetable is the core one, which infers
    # the data interval of a run (the DAG file holds the task SDK's, which does not).
    timetable = decode_timetable(encode_timetable(runner.dags["ingest_fire"].timetable))
    run_after = pendulum.datetime(2024, 4, 1, tz="Europe/London")  # how DagRunner dates 2024Q1
    interval = timetable.infer_manual_data_interval(run_after=run_after)
    start = interval.start.in_timezone("Europe/London").date()
    assert Quarter.of(start) == Q
    assert Quarter.of(start).deadline == DEADLINE


@pytest.mark.slow
def test_missing_fire_return_fails_the_run_and_alerts(workspace, runner, monkeypatch, caplog):
    from csp.notify import LogNotifier

    monkeypatch.setenv("CSP_TODAY", (DEADLINE + DAY).isoformat())
    landing(workspace)  # the folder exists, empty: nothing was sent
    alerts = []
    notify = LogNotifier.notify

    def recording_notify(self, context):
        alerts.append(context)
        notify(self, context)

    monkeypatch.setattr(LogNotifier, "notify", recording_notify)
    with caplog.at_level(logging.ERROR, logger="csp.alerts"):
        result = runner.run_authority("fire", Q)

    assert result.state == "failed"
    assert statuses(workspace) == {(dataset, Q.label): NOT_RECEIVED for dataset in FIRE_DATASETS}
    failed = {context["task_instance"].task_id for context in alerts}
    assert failed == {f"{dataset}.wait_for_return" for dataset in FIRE_DATASETS}
    lines = [r.getMessage() for r in caplog.records if r.name == "csp.alerts" and r.levelno == logging.ERROR]
    assert len(lines) == len(FIRE_DATASETS), lines
    assert all("no return in" in line and "by 2024-06-30" in line for line in lines), lines
