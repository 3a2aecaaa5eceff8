"""Monitoring: every DAG and task documented for the engineer on call; alerts for failures,
late returns and missed DAG deadlines through the configurable notifier; Asset events that
carry the return's figures, read back from Airflow's metadata database after real runs."""
from __future__ import annotations

import asyncio
import logging
import os
from datetime import date, datetime, timedelta, UTC
from types import SimpleNamespace

import pendulum
import pytest
import sqlalchemy as sa
from support.smtp import analysts, smtp_server  # noqa: F401  (fixtures)

from csp import notify
from csp.ingest import LateReturn, ReturnNotReceived, poll_return
from csp.quarters import Quarter
from csp.registry import AUTHORITIES, datasets_of
from csp.staging import LedgerEntry, Staging

Q = Quarter(2024, 1)
DEADLINE = date(2024, 6, 30)
FACTORY_DAGS = [f"ingest_{a}" for a in AUTHORITIES] + ["warehouse"]
EXTRA_KEYS = ["authority", "dataset", "quarter", "version", "status", "rows_in", "rows_loaded",
              "rows_quarantined", "received_at", "days_late"]


@pytest.fixture(scope="module")
def bag():
    """The DAG folder parsed as the deployment parses it (deadline alerts on)."""
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CSP_DEADLINE_ALERTS", "on")
        bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    assert bag.import_errors == {}
    return bag


# --- documentation -----------------------------------------------------------------------------


def test_every_dag_and_task_in_dags_has_doc_md(bag):
    assert set(bag.dags) == set(FACTORY_DAGS) | {"housekeeping"}
    for dag_id, dag in bag.dags.items():
        assert len((dag.doc_md or "").strip()) > 200, dag_id
        for task in dag.tasks:
            assert len((task.doc_md or "").strip()) > 40, f"{dag_id}.{task.task_id}"


@pytest.mark.parametrize("dag_id", FACTORY_DAGS)
def test_factory_docs_say_what_a_failure_means_and_what_to_do(bag, dag_id):
    dag = bag.dags[dag_id]
    assert "**What to do.**" in dag.doc_md and "**Monitoring.**" in dag.doc_md
    for task in dag.tasks:
        assert "**If it fails**" in task.doc_md, f"{dag_id}.{task.task_id}"
    if dag_id.startswith("ingest_"):
        docs = {t.task_id.split(".")[-1]: t.doc_md for t in dag.tasks}
        assert "csp resubmit" in docs["wait_for_return"] and "clear" in docs["wait_for_return"]
        assert "quarantine report" in docs["ingest_return"] and "csp history" in docs["ingest_return"]


# --- the notifier ------------------------------------------------------------------------------


def failed_context(error: BaseException) -> dict:
    ti = SimpleNamespace(dag_id="ingest_fire", task_id="fire_incidents.wait_for_return", run_id="r1")
    return {"task_instance": ti, "exception": error}


def test_notifier_choice(monkeypatch):
    monkeypatch.delenv(notify.NOTIFIER_ENV, raising=False)
    assert notify.notifier_choice() == "auto"
    for value, expected in (("log", "log"), (" SMTP ", "smtp"), ("", "auto"),
                            ("tests.Recorder", "tests.Recorder")):
        monkeypatch.setenv(notify.NOTIFIER_ENV, value)
        assert notify.notifier_choice() == expected
    monkeypatch.setenv(notify.NOTIFIER_ENV, "slack")
    with pytest.raises(notify.NotifierNotConfigured, match="expected auto, log, smtp or an import path"):
        notify.notifier_choice()


def test_log_choice_sends_no_mail_even_with_smtp(smtp_server, analysts, monkeypatch, caplog):  # noqa: F811
    monkeypatch.setenv(notify.NOTIFIER_ENV, "log")
    with caplog.at_level(logging.ERROR, logger="csp.alerts"):
        notify.AlertNotifier("Task failed").notify(failed_context(RuntimeError("boom")))
    assert smtp_server.messages == []
    assert "Task failed: dag=ingest_fire task=fire_incidents.wait_for_return run=r1 error=boom" in caplog.text


def test_smtp_choice_without_connection_is_an_error(analysts, monkeypatch, caplog):  # noqa: F811
    monkeypatch.setenv(notify.NOTIFIER_ENV, "smtp")
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    with pytest.raises(notify.NotifierNotConfigured, match="SMTP connection 'smtp_default' is not defined"):
        notify.AlertNotifier("Task failed").notify(failed_context(RuntimeError("boom")))
    assert "Task failed: dag=ingest_fire" in caplog.text  # logged before the mail was tried


class Recorder(notify.BaseNotifier):
    """A notifier named by import path in CSP_NOTIFIER."""

    sent: list = []

    def __init__(self, message: str):
        super().__init__()
        self.message = message

    def notify(self, context) -> None:
        Recorder.sent.append((self.message, notify.describe(context), notify.detail(context)))


def test_import_path_choice_hands_the_alert_on(monkeypatch):
    Recorder.sent.clear()
    monkeypatch.setenv(notify.NOTIFIER_ENV, f"{__name__}.Recorder")
    notify.AlertNotifier("Task failed").notify(failed_context(RuntimeError("disk full")))
    assert Recorder.sent == [("Task failed", {"dag_id": "ingest_fire", "task_id": "fire_incidents.wait_for_return",
                                              "run_id": "r1"}, "disk full")]


# --- late returns -------------------------------------------------------------------------------


def test_not_received_names_authority_dataset_quarter_deadline_and_days_late(workspace):
    (workspace.landing_dir / "fire" / Q.label).mkdir(parents=True)
    with pytest.raises(ReturnNotReceived) as raised:
        poll_return(workspace, "fire_incidents", Q, DEADLINE + timedelta(days=3))
    assert raised.value.late == LateReturn("fire", "fire_incidents", "2024Q1", DEADLINE, 3)
    assert str(raised.value).endswith(
        "late return: fire_incidents 2024Q1, authority Fire and rescue (fire), not received, "
        "3 days after the statutory deadline 2024-06-30")


def test_not_received_alert_is_mailed_as_a_late_return(workspace, smtp_server, analysts, monkeypatch):  # noqa: F811
    from airflow.sdk.exceptions import AirflowFailException

    monkeypatch.delenv(notify.NOTIFIER_ENV, raising=False)
    late = LateReturn("fire", "fire_incidents", "2024Q1", DEADLINE, 1)
    try:  # raised on as the DAG task does, so the alert sees it as the failure's cause
        try:
            raise ReturnNotReceived("no return in landing/fire/2024Q1 by 2024-06-30", late)
        except ReturnNotReceived as missing:
            raise AirflowFailException(str(missing)) from missing
    except AirflowFailException as error:
        notify.AlertNotifier().notify(failed_context(error))
    [(rcpts, message)] = smtp_server.messages
    assert message["Subject"] == "late return: fire_incidents 2024Q1 (fire), 1 days after 2024-06-30"
    assert "no return in landing/fire/2024Q1 by 2024-06-30" in message.get_body(("html",)).get_content()


def test_late_arrival_alert_content(smtp_server, analysts, monkeypatch, caplog):  # noqa: F811
    monkeypatch.delenv(notify.NOTIFIER_ENV, raising=False)
    entry = LedgerEntry(authority="health", dataset="hospital_admissions", quarter="2024Q1", version=2,
                        status="accepted", due_date="2024-06-30", received_at="2024-07-12T09:30:00+00:00")
    from csp.ingest import late_arrival

    late = late_arrival(entry)
    assert late == LateReturn("health", "hospital_admissions", "2024Q1", DEADLINE, 12,
                              "2024-07-12T09:30:00+00:00")
    with caplog.at_level(logging.WARNING, logger="csp.alerts"):
        notify.alert_late_return(late)
    [record] = [r for r in caplog.records if r.name == "csp.alerts" and r.levelno == logging.WARNING]
    assert record.getMessage().startswith(
        "late return: hospital_admissions 2024Q1, authority Health (health), received "
        "2024-07-12T09:30:00+00:00, 12 days after the statutory deadline 2024-06-30")
    [(rcpts, message)] = smtp_server.messages
    assert rcpts == ("platform@example.org",)
    assert message["Subject"] == "late return: hospital_admissions 2024Q1 (health), 12 days after 2024-06-30"
    body = message.get_body(("html",)).get_content()
    for part in ("authority=health", "dataset=hospital_admissions", "quarter=2024Q1",
                 "deadline=2024-06-30", "days_late=12"):
        assert part in body


def test_on_time_is_not_late():
    from csp.ingest import late_arrival

    entry = LedgerEntry(authority="fire", dataset="fire_incidents", quarter="2024Q1", version=1,
                        status="accepted", due_date="2024-06-30", received_at="2024-06-30T23:00:00+00:00")
    assert entry.days_late == 0 and late_arrival(entry) is None
    assert list(entry.asset_extra()) == EXTRA_KEYS


# --- DAG deadline alerts -----------------------------------------------------------------------


def serialized_deadlines(dag) -> list[dict]:
    from airflow.serialization.serialized_objects import DagSerialization

    data = DagSerialization.to_dict(dag)["dag"]
    return data["deadline"]


@pytest.mark.parametrize("dag_id,days", [("ingest_police", 184 + 7), ("warehouse", 2)])
def test_dags_carry_a_deadline_alert_with_the_alert_notifier(bag, dag_id, days):
    [alert] = serialized_deadlines(bag.dags[dag_id])
    assert alert["reference"] == {"reference_type": "DagRunLogicalDateDeadline"}
    assert alert["interval"]["__data__"] == timedelta(days=days).total_seconds()
    assert alert["callback"]["__classname__"] == "airflow.sdk.definitions.callback.AsyncCallback"
    callback = alert["callback"]["__data__"]
    assert callback["path"] == "csp.notify.AlertNotifier"
    assert "days after the statutory deadline" in callback["kwargs"]["message"]


def test_the_deadline_callback_runs_as_the_triggerer_runs_it(caplog):
    """Airflow's CallbackTrigger (what the triggerer runs for an AsyncCallback) with the
    context Deadline.handle_miss gives it."""
    from airflow.triggers.callback import CallbackTrigger

    context = {"dag_run": {"dag_id": "ingest_fire", "run_id": "scheduled__2024-01-01T00:00:00+00:00",
                           "data_interval_start": "2024-01-01T00:00:00Z", "data_interval_end": "2024-04-01T00:00:00Z",
                           "state": "failed"},
               "deadline": {"id": "d1", "deadline_time": "2024-07-10T00:00:00Z"}}
    trigger = CallbackTrigger("csp.notify.AlertNotifier", {"message": "cycle overdue", "context": context})

    async def events():
        return [event.payload async for event in trigger.run()]

    with caplog.at_level(logging.ERROR, logger="csp.alerts"):
        payloads = asyncio.run(events())
    assert [p["state"] for p in payloads] == ["running", "success"], payloads
    assert ("cycle overdue: dag=ingest_fire task=- run=scheduled__2024-01-01T00:00:00+00:00 error=run "
            "scheduled__2024-01-01T00:00:00+00:00 of ingest_fire (data interval 2024-01-01T00:00:00Z to "
            "2024-04-01T00:00:00Z, state failed) had not completed by its deadline 2024-07-10T00:00:00Z") in caplog.text


# --- through the real DAG: asset events, late alerts, deadlines ---------------------------------


def run_id_of(dag_id: str, logical_date) -> str:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        return session.scalar(sa.select(DagRun.run_id).where(DagRun.dag_id == dag_id,
                                                             DagRun.logical_date == logical_date))


def fire_asset_events(since: datetime) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    names = [d.id for d in datasets_of("fire")]
    with create_session() as session:
        events = session.scalars(
            sa.select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name.in_(names), AssetEvent.timestamp >= since)).all()
        return [dict(e.extra) for e in events]


@pytest.mark.slow
def test_a_late_fire_return_through_the_dag(workspace, runner, monkeypatch, caplog):
    from csp.synth import generate

    generate(workspace.data_dir, seed=3, first_quarter=Q, quarters=1, scale=0.05)
    arrived = datetime(2024, 7, 10, 12, 0, tzinfo=UTC)  # 10 days after the deadline
    folder = workspace.landing_dir / "fire" / Q.label
    for path in folder.iterdir():
        os.utime(path, (arrived.timestamp(), arrived.timestamp()))
    monkeypatch.setenv("CSP_TODAY", "2024-07-20")
    monkeypatch.setenv(notify.NOTIFIER_ENV, "log")
    started = datetime.now(UTC) - timedelta(seconds=1)
    with caplog.at_level(logging.WARNING, logger="csp.alerts"):
        assert runner.run_authority("fire", Q).state == "success"

    logical = pendulum.datetime(2024, 4, 1, tz="Europe/London")  # how DagRunner dates 2024Q1
    ledger = Staging(workspace.staging_dir).ledger().set_index("dataset")
    events = {e["dataset"]: e for e in fire_asset_events(started)}
    assert set(events) == {d.id for d in datasets_of("fire")} == set(ledger.index)
    for dataset, event in events.items():
        row = ledger.loc[dataset]
        assert list(event) == EXTRA_KEYS
        assert event == {"authority": "fire", "dataset": dataset, "quarter": "2024Q1", "version": 1,
                         "status": "accepted", "rows_in": int(row.rows_in), "rows_loaded": int(row.rows_loaded),
                         "rows_quarantined": int(row.rows_quarantined),
                         "received_at": "2024-07-10T12:00:00+00:00", "days_late": 10}
        assert event["rows_in"] > 0
        # Provenance from the task context.
        assert (row.dag_id, row.run_id, row.task_id, row.try_number) == (
            "ingest_fire", run_id_of("ingest_fire", logical), f"{dataset}.ingest_return", 1)

    late = sorted(r.getMessage() for r in caplog.records if r.name == "csp.alerts" and r.levelno == logging.WARNING)
    assert late == sorted(
        f"late return: {d.id} 2024Q1, authority Fire and rescue (fire), received 2024-07-10T12:00:00+00:00, "
        "10 days after the statutory deadline 2024-06-30: dag=ingest_fire "
        f"task={d.id}.ingest_return run={ledger.loc[d.id].run_id} error=authority=fire; dataset={d.id}; "
        "quarter=2024Q1; deadline=2024-06-30; days_late=10; received_at=2024-07-10T12:00:00+00:00"
        for d in datasets_of("fire"))

    # Re-running changes nothing and alerts nothing again (the ledger entry is another run's).
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="csp.alerts"):
        assert runner.run_authority("fire", Q).state == "success"
    assert [r for r in caplog.records if r.name == "csp.alerts"] == []


def test_deadline_alerts_are_off_unless_the_deployment_turns_them_on(monkeypatch):
    from csp import dag_factory

    monkeypatch.delenv("CSP_DEADLINE_ALERTS", raising=False)
    assert dag_factory.authority_dag("fire").deadline is None
    monkeypatch.setenv("CSP_DEADLINE_ALERTS", "on")
    [alert] = dag_factory.authority_dag("fire").deadline
    assert alert.interval == timedelta(days=191)
