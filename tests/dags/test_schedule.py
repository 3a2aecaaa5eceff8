"""The warehouse DAG's asset-or-time schedule, decided by Airflow's own scheduler code: the
dataset assets of all four authorities updated together -> one asset-triggered run; three
authorities updated -> a run that does not wait for the fourth, and at the statutory
deadline a scheduled run whose compliance matrix names the missing authority."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.warehouse import stage_authority

from csp.registry import DATASETS

pytestmark = pytest.mark.slow
MARK = "test_schedule"  # tags this test's asset events (other tests' DAG runs emit events too)
ONE_PER_AUTHORITY = ["police_crimes", "fire_incidents", "school_exclusions", "hospital_admissions"]


@pytest.fixture
def scheduler(runner):
    """Airflow's scheduler loop body (create the runs that are due), on the test metadata DB
    with the project's DAGs serialized and the warehouse DAG unpaused."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.jobs.job import Job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.sqlalchemy import prohibit_commit

    from csp.config import PROJECT_DIR

    DagBundlesManager().sync_bundles_to_db()
    with create_session() as session:
        sync_bag_to_db(DagBag(dag_folder=str(PROJECT_DIR / "dags")), "dags-folder", None, session=session)
        session.execute(sa.update(DagModel).where(DagModel.dag_id == "warehouse").values(is_paused=False))
        session.execute(sa.delete(AssetDagRunQueue))  # events left by other tests' runs

    job_runner = SchedulerJobRunner(job=Job())

    def loop(*, finish_active: bool = False) -> None:
        """One scheduling pass; ``finish_active`` first marks the warehouse's runs succeeded,
        as the executor would have."""
        with create_session() as session:
            if finish_active:
                session.execute(sa.update(DagRun).where(DagRun.dag_id == "warehouse").values(state="success"))
                job_runner._set_exceeds_max_active_runs(
                    dag_model=session.get(DagModel, "warehouse"), session=session)
        with create_session() as session, prohibit_commit(session) as guard:
            job_runner._create_dagruns_for_dags(guard, session)

    yield loop
    with create_session() as session:
        session.execute(sa.update(DagModel).where(DagModel.dag_id == "warehouse").values(is_paused=True))


def update_assets(dataset_ids: list[str]) -> None:
    from airflow.assets.manager import AssetManager
    from airflow.serialization.definitions.assets import SerializedAssetUniqueKey
    from airflow.utils.session import create_session

    with create_session() as session:
        for dataset_id in dataset_ids:
            key = SerializedAssetUniqueKey(name=dataset_id, uri=DATASETS[dataset_id].asset_uri)
            AssetManager.register_asset_change(asset=key, extra={"quarter": "2024Q1", "test": MARK}, session=session)


def set_deadline(when) -> None:
    """Point the warehouse DAG's next cron tick (the statutory deadline) at ``when``."""
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.execute(sa.update(DagModel).where(DagModel.dag_id == "warehouse").values(
            next_dagrun=when, next_dagrun_data_interval_start=when, next_dagrun_data_interval_end=when,
            next_dagrun_create_after=when))


def new_runs(seen: set[str]) -> list:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        runs = session.scalars(sa.select(DagRun).where(DagRun.dag_id == "warehouse")).all()
        fresh = [(r.run_id, str(r.run_type), r.logical_date,
                  sum(1 for e in r.consumed_asset_events if (e.extra or {}).get("test") == MARK))
                 for r in runs if r.run_id not in seen]
    seen.update(r[0] for r in fresh)
    return fresh


def test_asset_or_time_schedule(scheduler, runner, workspace, tmp_path, monkeypatch):
    import pendulum

    now = pendulum.now("UTC")
    seen = {r[0] for r in new_runs(set())}
    set_deadline(now + timedelta(days=30))  # the next deadline is still ahead

    update_assets(ONE_PER_AUTHORITY)  # all four authorities' returns staged
    scheduler()
    runs = new_runs(seen)
    assert [(kind, logical, events) for _, kind, logical, events in runs] == [("asset_triggered", None, 4)]
    scheduler()
    assert new_runs(seen) == []  # the events are consumed: nothing more to run

    update_assets(ONE_PER_AUTHORITY[:3])  # health is late: the others do not wait for it
    scheduler()
    assert new_runs(seen) == []  # one run at a time (the single writer): the events queue ...
    scheduler(finish_active=True)
    assert [(kind, events) for _, kind, _, events in new_runs(seen)] == [("asset_triggered", 3)]

    deadline = now - timedelta(hours=1)  # the deadline cron has fired
    set_deadline(deadline)
    scheduler(finish_active=True)
    runs = new_runs(seen)
    assert [(kind, logical, events) for _, kind, logical, events in runs] == [("scheduled", deadline, 0)]

    # What that run does: the compliance matrix names the authority that missed the deadline.
    for authority in ("police", "fire", "local_authority"):
        stage_authority(workspace, tmp_path, authority)
    monkeypatch.setenv("CSP_TODAY", "2024-07-01")
    assert runner.run_warehouse().state == "success"
    from csp.warehouse.engine import make_engine

    with make_engine(workspace.warehouse_url).connect() as conn:
        missing = conn.execute(sa.text(
            "SELECT DISTINCT authority FROM marts.compliance_matrix "
            "WHERE quarter = '2024Q1' AND state = 'not_received'")).scalars().all()
        readiness = conn.execute(sa.text(
            "SELECT state FROM marts.quarter_readiness WHERE quarter = '2024Q1'")).scalar()
    assert missing == ["health"] and readiness == "provisional"
