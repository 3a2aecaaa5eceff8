"""One quarter end to end through the real Airflow 3 services (issue 7): api-server, scheduler
(LocalExecutor), dag-processor and triggerer as subprocesses on a PostgreSQL metadata database,
with the PostgreSQL warehouse. The operator logs in through SimpleAuthManager, unpauses the five
DAGs through REST API v2 and watches: the scheduler runs the four authority DAGs for the quarter
that has just ended, their Assets wake the warehouse DAG, and the reports appear."""
from __future__ import annotations

import json
import time
import httpx
import pendulum
import pytest
import sqlalchemy as sa

from support.airflow_services import USERNAME, AirflowApi, AirflowServices, airflow_environment, free_port, \
    screenshot_dag_list, write_password_file
from support.report_form_checks import screenshot_dir

from csp.config import PROJECT_DIR
from csp.geography import partnerships
from csp.quarters import Quarter
from csp.registry import AUTHORITIES, DATASETS

pytestmark = pytest.mark.slow
TIMEZONE = "Europe/London"
AUTHORITY_DAGS = sorted(f"ingest_{a}" for a in AUTHORITIES)
ALL_DAGS = {*AUTHORITY_DAGS, "warehouse"}
# The synthetic partnership's ambulance service holds no call-out records (config/area.toml),
# and no ED file is supplied for the extra source: every other dataset must arrive.
HELD = {d.id for d in DATASETS.values() if d.mandated} - {"ambulance_callouts"}
# The cycle's target is about 5 minutes on a 2-core CI runner; a run that has not finished
# after twice that is stuck (a sensor rescheduled, a service wedged) and fails.
CYCLE_TIMEOUT_S = 600
TERMINAL = {"success", "failed"}


@pytest.fixture
def metadata_url(postgres_url):
    """A second database on the same server, for Airflow's metadata, dropped after the test."""
    base, name = postgres_url.rsplit("/", 1)
    admin = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    metadata = f"{name}_airflow"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {metadata}")
    try:
        yield f"{base}/{metadata}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {metadata} WITH (FORCE)")
        admin.dispose()


def quarter_just_ended() -> Quarter:
    """The quarter the scheduler runs on unpausing a quarterly DAG without catchup: the latest
    complete data interval, in the DAGs' timezone."""
    return Quarter.of(pendulum.now(TIMEZONE).date()).previous()


@pytest.fixture
def cycle(tmp_path, postgres_url, metadata_url, reference_dir):
    """Synthetic returns for the quarter just ended in the landing folders, and the four
    services running on a fresh Airflow home; every process is stopped afterwards, pass or fail."""
    from csp.synth import generate

    quarter = quarter_just_ended()
    data_dir, out_dir, home = tmp_path / "data", tmp_path / "out", tmp_path / "airflow"
    home.mkdir()
    generate(data_dir, seed=7, first_quarter=quarter, quarters=1, scale=0.2, reference_dir=reference_dir)
    password_file = home / "simple_auth_manager_passwords.json"
    password = write_password_file(password_file)
    port = free_port()
    env = airflow_environment(home, metadata_url=metadata_url, dags_folder=PROJECT_DIR / "dags", port=port,
                              password_file=password_file, project_env={
        "CSP_DATA_DIR": str(data_dir),
        "CSP_OUT_DIR": str(out_dir),
        "CSP_REFERENCE_DIR": str(reference_dir),
        "CSP_WAREHOUSE_URL": postgres_url,
        "CSP_PSEUDONYM_KEY": "test-only-pseudonymisation-key",
        # "Today" is the quarter's statutory deadline, whatever the wall clock says: every return
        # is on time and none is past due, so the quarter is reported once it is complete (not
        # as a provisional report of whatever had arrived when the warehouse DAG first ran).
        "CSP_TODAY": quarter.deadline.isoformat(),
        # A defect fails its task at once instead of waiting out the production retry back-off.
        "CSP_TASK_RETRIES": "0",
    })
    services = AirflowServices(home=home, env=env, port=port)
    started = time.monotonic()
    try:
        services.migrate()
        services.start()
        services.wait_until_healthy()
        print(f"\nreal-services start-up (migrate + healthy): {time.monotonic() - started:.0f} s")
        yield {"quarter": quarter, "services": services, "password": password, "out_dir": out_dir,
               "warehouse_url": postgres_url, "reference_dir": reference_dir}
    finally:
        services.stop()


def poll(condition, *, timeout: float, every: float, services: AirflowServices, what: str):
    """Call ``condition`` until it returns a truthy value; a dead service or the timeout fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.check_alive()
        result = condition()
        if result:
            return result
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def test_one_quarter_through_the_real_services(cycle):
    services, quarter = cycle["services"], cycle["quarter"]

    # The real login: a wrong password is refused, the configured one gets a JWT.
    refused = httpx.post(f"{services.base_url}/auth/token", json={"username": USERNAME, "password": "wrong"})
    assert refused.status_code == 401
    assert httpx.get(f"{services.base_url}/api/v2/dags").status_code == 401
    api = AirflowApi(services.base_url, USERNAME, cycle["password"])
    try:
        poll(lambda: api.dag_ids() >= ALL_DAGS, timeout=120, every=2, services=services,
             what="the dag-processor to serialise the five DAGs")
        assert api.import_errors() == []

        started = time.monotonic()
        for dag_id in sorted(ALL_DAGS):
            assert api.unpause(dag_id)["is_paused"] is False
        runs = poll(lambda: authority_runs_finished(api), timeout=CYCLE_TIMEOUT_S, every=3,
                    services=services, what="the four authority DAG runs")
        for dag_id, run in runs.items():
            assert run["state"] == "success", api.failure_report(dag_id, run)
            # The scheduler's own run for the quarter just ended: nothing was triggered by hand.
            assert run["run_type"] == "scheduled"
            interval_start = pendulum.parse(run["data_interval_start"]).in_timezone(TIMEZONE)
            assert interval_start.date() == quarter.start

        print(f"\nreal-services authority DAG runs done after {time.monotonic() - started:.0f} s")
        remaining = CYCLE_TIMEOUT_S - (time.monotonic() - started)
        warehouse_runs = poll(lambda: warehouse_settled(api), timeout=max(remaining, 30), every=3,
                              services=services, what="the asset-triggered warehouse DAG runs")
        for run in warehouse_runs:
            assert run["state"] == "success", api.failure_report("warehouse", run)
        by_type = {}
        for run in warehouse_runs:
            by_type.setdefault(run["run_type"], []).append(run)
        # Unpausing a cron schedule without catchup runs its latest past point at once: the
        # deadline run of the latest quarter boundary, on the warehouse as it was then. Every
        # other run was woken by the returns' Assets.
        assert set(by_type) <= {"scheduled", "asset_triggered"}, by_type
        for run in by_type.get("scheduled", []):
            boundary = pendulum.parse(run["logical_date"]).in_timezone(TIMEZONE)
            assert (boundary.date(), boundary.hour) == (quarter.next().start, 6), run
        assert len(by_type.get("scheduled", [])) <= 1
        asset_triggered = by_type.get("asset_triggered", [])
        assert asset_triggered, warehouse_runs
        seconds = time.monotonic() - started
        print(f"real-services cycle: {seconds:.0f} s (unpause to reports; "
              f"{len(asset_triggered)} asset-triggered warehouse run(s))")

        # Every held dataset's return was staged once, announced with its figures, and its
        # event consumed by one of those warehouse runs.
        events = api.get("/assets/events", limit=100)["asset_events"]
        assert sorted(e["name"] for e in events) == sorted(HELD)
        assert {e["source_dag_id"] for e in events} == set(AUTHORITY_DAGS)
        warehouse_run_ids = {r["dag_run_id"] for r in asset_triggered}
        for event in events:
            assert event["extra"]["quarter"] == quarter.label and event["extra"]["version"] == 1
            assert event["extra"]["rows_loaded"] > 0
            consumers = {(r["dag_id"], r["run_id"]) for r in event["created_dagruns"]}
            assert len(consumers) == 1 and consumers <= {("warehouse", i) for i in warehouse_run_ids}, event

        # What the engineer sees: the UI's DAG list, every DAG on it, in headless Chromium.
        every_dag = api.dag_ids()
        shot = screenshot_dir(cycle["out_dir"].parent / "screenshots") / "airflow-dag-list.png"
        text = screenshot_dag_list(services.base_url, api.token, every_dag, shot)
        assert every_dag >= ALL_DAGS and all(dag_id in text for dag_id in every_dag)
        assert shot.stat().st_size > 10_000
        print(f"Airflow UI screenshot ({len(every_dag)} DAGs): {shot}")
    finally:
        api.close()

    # The reports: one strategic assessment per CSP served, built on every held return.
    reports = sorted((cycle["out_dir"] / "strategic").rglob("*.html"))
    served = {p.code for p in partnerships(cycle["reference_dir"], "E23000021")}  # config/area.toml
    assert {p.stem for p in reports} == served, reports
    for report in reports:
        used = json.loads(report.with_suffix(".json").read_text())["returns_used"]
        assert {(u["dataset"], u["quarter"], u["version"]) for u in used} == \
            {(d, quarter.label, 1) for d in HELD}
    with sa.create_engine(cycle["warehouse_url"]).connect() as conn:
        loaded = set(conn.execute(sa.text("SELECT dataset FROM staging.loaded_returns")).scalars())
    assert loaded == HELD


def authority_runs_finished(api: AirflowApi) -> dict[str, dict] | None:
    """Each authority DAG's single run once all four are finished (or as soon as one fails)."""
    runs = {}
    for dag_id in AUTHORITY_DAGS:
        found = api.dag_runs(dag_id)
        assert len(found) <= 1, f"{dag_id} has {len(found)} runs: {found}"
        if found and found[0]["state"] == "failed":
            pytest.fail(api.failure_report(dag_id, found[0]))
        if not found or found[0]["state"] not in TERMINAL:
            return None
        runs[dag_id] = found[0]
    return runs


def warehouse_settled(api: AirflowApi) -> list[dict] | None:
    """The warehouse DAG's runs once none is pending and no asset event waits to start one."""
    runs = api.dag_runs("warehouse")
    failed = [r for r in runs if r["state"] == "failed"]
    if failed:
        pytest.fail(api.failure_report("warehouse", failed[0]))
    queued = api.get("/dags/warehouse/assets/queuedEvents")["queued_events"]
    if not runs or queued or any(r["state"] not in TERMINAL for r in runs):
        return None
    return runs
