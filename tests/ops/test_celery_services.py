"""One quarter end to end on the deployment's executor (issue 20, item 1): the real Airflow 3
services (api-server, scheduler, dag-processor, triggerer) with the CeleryExecutor, TWO
``airflow celery worker`` processes on a Redis broker, PostgreSQL as metadata database (through
the deployment's drivers, psycopg2 and asyncpg) and as warehouse.

Worker A serves the ``default`` queue; worker B serves ``default`` and the warehouse queue
(csp.dag_factory.WAREHOUSE_QUEUE) with concurrency 1, as docker-compose.yaml's warehouse worker:
the authority DAGs spread over both, the warehouse DAG runs on B alone, by configuration.

Then a worker is lost: two of the police DAG's ingest tasks are cleared (the operator's re-run),
worker A is SIGKILLed (with every process under it) while it runs one of them, the scheduler
notices the missing heartbeats and the retry runs on worker B; the quarter completes again and
the ledger and the warehouse are exactly as before the kill."""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import unavailable_here
from support.airflow_services import USERNAME, AirflowApi, AirflowServices, Broker, airflow_environment, \
    celery_environment, free_port, write_password_file
from test_real_services import ALL_DAGS, AUTHORITY_DAGS, HELD, authority_runs_finished, \
    metadata_url, poll, quarter_just_ended, warehouse_settled  # noqa: F401 (metadata_url: a fixture)

from csp.config import PROJECT_DIR
from csp.dag_factory import WAREHOUSE_QUEUE
from csp.geography import partnerships
from csp.staging import Staging

pytestmark = pytest.mark.slow
WORKER_A, WORKER_B = "worker-a", "worker-b"
# Everything (start-up, cycle, kill and recovery) within 15 minutes or the test fails; it takes
# 8-10 on the shared 2-core machine (docs/benchmarks.md, "Celery run"): worker B, the warehouse
# queue's only worker, runs one task at a time and renders 28 reports and their PDFs.
OVERALL_TIMEOUT_S = 900
# A task whose supervisor has not heartbeated (every 5 s) for this long is taken as lost with its
# worker and retried (Airflow's default is 300 s).
HEARTBEAT_TIMEOUT_S = 30
KILL_DATASETS = ("police_incidents", "police_crimes")
REDIS_DB = 13  # a database of the machine's Redis no other test uses; keys carry a prefix too


class Deadline:
    """One deadline for the whole test: every wait takes what is left of it, at most."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self, at_most: float) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            pytest.fail("the Celery test's overall deadline has passed")
        return min(left, at_most)


def wait(condition, *, deadline: Deadline, at_most: float, **poll_args):
    """test_real_services.poll within what is left of the test's overall deadline."""
    return poll(condition, timeout=deadline.left(at_most), **poll_args)


@pytest.fixture
def broker(tmp_path):
    """The machine's Redis on 127.0.0.1:6379 (a database and key prefix of this run's own), or a
    ``redis-server`` of the test's own on a free port when none answers; this run's keys are
    deleted afterwards."""
    import redis

    server = None
    url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError:
        executable = shutil.which("redis-server")
        if executable is None:
            unavailable_here("no Redis on 127.0.0.1:6379 and no redis-server to start")
        port = free_port()
        server = subprocess.Popen([executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--appendonly", "no", "--dir", str(tmp_path)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        end = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(url, socket_timeout=2).ping()
                break
            except redis.RedisError:
                if time.monotonic() > end:
                    server.kill()
                    raise
                time.sleep(0.2)
    prefix = f"csp-test-{uuid.uuid4().hex[:10]}:"
    try:
        yield Broker(url=url, key_prefix=prefix)
    finally:
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis.from_url(url, socket_timeout=5)
            for key in client.scan_iter(match=f"{prefix}*", count=500):
                client.delete(key)
        if server is not None:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture
def celery_cycle(tmp_path, postgres_url, metadata_url, reference_dir, broker):  # noqa: F811
    """Synthetic returns for the quarter just ended, the four services and the two workers on a
    fresh Airflow home; every process is stopped afterwards, pass or fail."""
    from csp.synth import generate

    deadline = Deadline(OVERALL_TIMEOUT_S)
    quarter = quarter_just_ended()
    data_dir, out_dir, home = tmp_path / "data", tmp_path / "out", tmp_path / "airflow"
    home.mkdir()
    generate(data_dir, seed=7, first_quarter=quarter, quarters=1, scale=0.2, reference_dir=reference_dir)
    password_file = home / "simple_auth_manager_passwords.json"
    password = write_password_file(password_file)
    port = free_port()
    # The metadata database through the deployment's drivers (docker-compose.yaml): psycopg2 for
    # the sync engine and Celery's result backend, asyncpg for the async engine.
    sync_url = metadata_url.replace("postgresql+psycopg://", "postgresql+psycopg2://", 1)
    executor_env = {
        **celery_environment(broker, sync_url),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sync_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC":
            metadata_url.replace("postgresql+psycopg://", "postgresql+asyncpg://", 1),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    }
    env = airflow_environment(home, metadata_url=sync_url, dags_folder=PROJECT_DIR / "dags", port=port,
                              password_file=password_file, executor_env=executor_env, project_env={
        "CSP_DATA_DIR": str(data_dir),
        "CSP_OUT_DIR": str(out_dir),
        "CSP_REFERENCE_DIR": str(reference_dir),
        "CSP_WAREHOUSE_URL": postgres_url,
        "CSP_PSEUDONYM_KEY": "test-only-pseudonymisation-key",
        # As in test_real_services: "today" is the quarter's deadline, every return on time.
        "CSP_TODAY": quarter.deadline.isoformat(),
        # One retry, a second or two after the failure: the lost worker's task is retried.
        "CSP_TASK_RETRIES": "1",
        "CSP_TASK_RETRY_DELAY_SECONDS": "1",
    })
    services = AirflowServices(home=home, env=env, port=port)
    started = time.monotonic()
    try:
        services.migrate()
        services.start()
        # Parallelism 4 (airflow_services): three slots on A, the one on B (compose's warehouse
        # worker runs one task at a time).
        services.start_worker(WORKER_A, ["default"], concurrency=3)
        services.start_worker(WORKER_B, ["default", WAREHOUSE_QUEUE], concurrency=1)
        services.wait_until_healthy(timeout=deadline.left(150))
        services.wait_for_workers([WORKER_A, WORKER_B], timeout=deadline.left(150))
        startup = time.monotonic() - started
        print(f"\nCelery start-up (migrate, four services healthy, two workers ready): {startup:.0f} s")
        yield {"quarter": quarter, "services": services, "password": password, "out_dir": out_dir,
               "data_dir": data_dir, "warehouse_url": postgres_url, "reference_dir": reference_dir,
               "deadline": deadline}
    finally:
        services.stop()


def executed(api: AirflowApi, dag_id: str) -> list[dict]:
    """Every task instance of every run of the DAG that ran on a worker (skipped ones did not)."""
    return [ti for run in api.dag_runs(dag_id) for ti in api.task_instances(dag_id, run["dag_run_id"])
            if ti["hostname"] and ti["state"] not in ("skipped", "removed")]


def warehouse_counts(url: str) -> dict[str, int]:
    """Rows of every table of the warehouse's schemas."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.execute(sa.text(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') "
                "ORDER BY 1")).scalars().all()
            return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()


def check_ledger(data_dir: Path, quarter) -> None:
    """Every held return staged exactly once, its rows reconciled."""
    staging = Staging(data_dir / "staging")
    ledger = staging.ledger()
    staged = ledger[ledger["version"].notna()]
    assert sorted(staged["dataset"]) == sorted(HELD), staged[["dataset", "version", "status"]]
    for entry in staged.itertuples():
        assert entry.version == 1 and entry.status == "accepted", entry
        assert entry.rows_rejected == 0 and entry.rows_in == entry.rows_loaded + entry.rows_quarantined, entry
    for dataset in HELD:
        assert [e.version for e in staging.versions(dataset, quarter)] == [1], dataset


def test_one_quarter_on_celery_workers_and_a_lost_worker(celery_cycle):
    services, quarter, deadline = celery_cycle["services"], celery_cycle["quarter"], celery_cycle["deadline"]
    api = AirflowApi(services.base_url, USERNAME, celery_cycle["password"])
    try:
        wait(lambda: api.dag_ids() >= ALL_DAGS, deadline=deadline, at_most=120, every=2, services=services,
             what="the dag-processor to serialise the five DAGs")
        assert api.import_errors() == []

        # --- one quarter end to end ---------------------------------------------------------
        started = time.monotonic()
        for dag_id in sorted(ALL_DAGS):
            assert api.unpause(dag_id)["is_paused"] is False
        runs = wait(lambda: authority_runs_finished(api), deadline=deadline, at_most=480, every=3,
                    services=services, what="the four authority DAG runs")
        for dag_id, run in runs.items():
            assert run["state"] == "success", api.failure_report(dag_id, run)
        authority_s = time.monotonic() - started
        warehouse_runs = wait(lambda: warehouse_settled(api), deadline=deadline, at_most=480, every=3,
                              services=services, what="the warehouse DAG runs")
        for run in warehouse_runs:
            assert run["state"] == "success", api.failure_report("warehouse", run)
        cycle_s = time.monotonic() - started
        print(f"Celery cycle: authority runs done after {authority_s:.0f} s, last warehouse run after "
              f"{cycle_s:.0f} s ({len(warehouse_runs)} warehouse runs)")

        # Which worker ran which task: the authority DAGs on both, the warehouse DAG on B only.
        by_worker = Counter()
        for dag_id in AUTHORITY_DAGS:
            tis = executed(api, dag_id)
            counts = Counter(ti["hostname"] for ti in tis)
            by_worker.update({(host, "authority"): n for host, n in counts.items()})
            print(f"  {dag_id}: " + ", ".join(f"{h} {n}" for h, n in sorted(counts.items())))
        assert {host for host, _ in by_worker} == {WORKER_A, WORKER_B}, by_worker
        warehouse_tis = executed(api, "warehouse")
        assert warehouse_tis
        assert {ti["hostname"] for ti in warehouse_tis} == {WORKER_B}, \
            [(ti["task_id"], ti["hostname"]) for ti in warehouse_tis if ti["hostname"] != WORKER_B]
        print(f"  warehouse: {WORKER_B} {len(warehouse_tis)}")
        print("Celery tasks per worker: " + ", ".join(
            f"{host} {kind} {n}" for (host, kind), n in sorted(by_worker.items()))
            + f", {WORKER_B} warehouse {len(warehouse_tis)}")

        # The reports: one strategic assessment per CSP served.
        reports = sorted((celery_cycle["out_dir"] / "strategic").rglob("*.html"))
        served = {p.code for p in partnerships(celery_cycle["reference_dir"], "E23000021")}  # config/area.toml
        assert {p.stem for p in reports} == served, reports
        check_ledger(celery_cycle["data_dir"], quarter)
        before = warehouse_counts(celery_cycle["warehouse_url"])
        assert before.get("staging.loaded_returns") == len(HELD), before

        # --- a worker lost while it runs an ingest task ---------------------------------------
        police_run = runs["ingest_police"]["dag_run_id"]
        task_ids = [f"{d}.ingest_return" for d in KILL_DATASETS]
        victim = None
        for _attempt in range(4):
            cleared = api._json(api.client.post("/dags/ingest_police/clearTaskInstances", json={
                "dry_run": False, "dag_run_id": police_run, "task_ids": task_ids, "only_failed": False,
                "reset_dag_runs": True, "include_upstream": False, "include_downstream": False}))
            assert {ti["task_id"] for ti in cleared["task_instances"]} == set(task_ids), cleared
            # B runs one task at a time: of the two, at least one goes to A.
            victim = wait(lambda: running_on_a_or_done(api, police_run, task_ids), deadline=deadline,
                          at_most=120, every=0.25, services=services, what="the cleared ingest tasks")
            if victim is not True:
                break
            victim = None  # both ran on B before A was seen running one: clear them again
        assert victim, "worker A never ran one of the cleared ingest tasks"
        killed_at = time.monotonic()
        pids = services.kill_worker(WORKER_A)
        print(f"SIGKILLed {WORKER_A} ({len(pids)} processes) running {victim['task_id']} "
              f"try {victim['try_number']}")

        def recovered():
            ti = api.get(f"/dags/ingest_police/dagRuns/{police_run}/taskInstances/{victim['task_id']}")
            if ti["state"] == "failed":
                pytest.fail(api.failure_report("ingest_police", api.get(f"/dags/ingest_police/dagRuns/{police_run}")))
            return ti if ti["state"] == "success" and ti["try_number"] > victim["try_number"] else None

        retried = wait(recovered, deadline=deadline, at_most=240, every=1, services=services,
                       what=f"{victim['task_id']} to be retried after the kill")
        recovery_s = time.monotonic() - killed_at
        assert retried["hostname"] == WORKER_B, retried
        tries = api.get(f"/dags/ingest_police/dagRuns/{police_run}/taskInstances/{victim['task_id']}/tries")
        by_try = {t["try_number"]: (t["hostname"], t["state"]) for t in tries["task_instances"]}
        assert by_try[victim["try_number"]][0] == WORKER_A, by_try
        print(f"kill to the retry succeeded on {WORKER_B}: {recovery_s:.0f} s "
              f"(heartbeat timeout {HEARTBEAT_TIMEOUT_S} s; tries {by_try})")

        runs = wait(lambda: authority_runs_finished(api), deadline=deadline, at_most=240, every=2,
                    services=services, what="the police run after the recovery")
        assert runs["ingest_police"]["state"] == "success", api.failure_report("ingest_police", runs["ingest_police"])
        for run in wait(lambda: warehouse_settled(api), deadline=deadline, at_most=300, every=3,
                        services=services, what="the warehouse runs the re-run's Assets woke"):
            assert run["state"] == "success", api.failure_report("warehouse", run)
        print(f"kill to the quarter complete again: {time.monotonic() - killed_at:.0f} s")
        assert {ti["hostname"] for ti in executed(api, "warehouse")} == {WORKER_B}
    finally:
        api.close()

    # Nothing duplicated: one staged version per return, reconciled, the warehouse unchanged.
    check_ledger(celery_cycle["data_dir"], quarter)
    after = warehouse_counts(celery_cycle["warehouse_url"])
    assert after == before, {t: (before.get(t), after.get(t)) for t in before.keys() | after.keys()
                             if before.get(t) != after.get(t)}


def running_on_a_or_done(api: AirflowApi, run_id: str, task_ids: list[str]) -> dict | bool | None:
    """A cleared task running on worker A (the one to kill); True once both have finished
    without one being seen there; None while waiting."""
    tis = {ti["task_id"]: ti for ti in api.task_instances("ingest_police", run_id) if ti["task_id"] in task_ids}
    for ti in tis.values():
        if ti["state"] == "running" and ti["hostname"] == WORKER_A:
            return ti
        if ti["state"] == "failed":
            pytest.fail(f"{ti['task_id']} failed before the kill: {ti}")
    return True if all(tis[t]["state"] == "success" for t in task_ids) else None
