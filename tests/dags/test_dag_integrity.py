"""DAG integrity and policy: every DAG parses, is documented, owned, tagged and retried, and
parsing the DAG folder imports no heavy library (the scheduler parses it continuously)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from csp.registry import AUTHORITIES, DATASETS

HEAVY_MODULES = ("pandas", "great_expectations", "duckdb", "pyarrow", "scipy")

PARSE_SCRIPT = """
import json, sys, time

def seconds(value):  # task timeouts are timedelta or plain seconds
    return value.total_seconds() if hasattr(value, "total_seconds") else value

started = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "heavy": [m for m in sys.argv[2].split(",") if m in sys.modules],
    "seconds": elapsed,
    "dags": {
        dag_id: {
            "owner": dag.owner, "tags": sorted(dag.tags), "doc_md": dag.doc_md or "",
            "tasks": {t.task_id: {"retries": t.retries, "doc_md": t.doc_md or "",
                                  "outlets": [o.uri for o in t.outlets],
                                  "timeout": seconds(getattr(t, "timeout", None)),
                                  "execution_timeout": seconds(t.execution_timeout),
                                  "queue": t.queue}
                      for t in dag.tasks},
        }
        for dag_id, dag in bag.dags.items()
    },
}))
"""


@pytest.fixture(scope="module")
def parsed():
    """Parse the DAG folder in a fresh interpreter, so this process's imports don't count."""
    result = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, os.environ["AIRFLOW__CORE__DAGS_FOLDER"], ",".join(HEAVY_MODULES)],
        capture_output=True, text=True, check=True,
        env={k: v for k, v in os.environ.items() if k != "CSP_TASK_RETRIES"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_dag_folder_imports_without_errors(parsed):
    assert parsed["errors"] == {}
    assert set(parsed["dags"]) == {f"ingest_{a}" for a in AUTHORITIES} | {"warehouse", "housekeeping"}


def test_parsing_imports_no_heavy_library(parsed):
    assert parsed["heavy"] == []


@pytest.mark.parametrize("dag_id", [f"ingest_{a}" for a in AUTHORITIES] + ["warehouse", "housekeeping"])
def test_dag_policy(parsed, dag_id):
    dag = parsed["dags"][dag_id]
    assert dag["owner"] == "community-safety-data"
    assert "csp" in dag["tags"] and len(dag["tags"]) >= 2
    assert len(dag["doc_md"]) > 200
    for task_id, task in dag["tasks"].items():
        assert task["retries"] >= 1, task_id  # production default (CSP_TASK_RETRIES unset)
        assert task["doc_md"].strip(), f"{dag_id}.{task_id} has no doc_md"


@pytest.mark.parametrize("authority", AUTHORITIES)
def test_each_dataset_has_its_own_wait_ingest_and_asset(parsed, authority):
    tasks = parsed["dags"][f"ingest_{authority}"]["tasks"]
    for dataset in (d for d in DATASETS.values() if d.authority == authority):
        assert tasks[f"{dataset.id}.ingest_return"]["outlets"] == [dataset.asset_uri]
        if not dataset.mandated:  # an extra source is ingested when supplied, never waited for
            assert f"{dataset.id}.is_supplied" in tasks and f"{dataset.id}.wait_for_return" not in tasks
            continue
        for step in ("is_held", "wait_for_return"):
            assert f"{dataset.id}.{step}" in tasks
        # The wait must outlast the statutory window (end of the following quarter: up to 92
        # days), so that a late-but-legal return is waited for and a missing one is recorded.
        assert tasks[f"{dataset.id}.wait_for_return"]["timeout"] > 92 * 86400


@pytest.mark.parametrize("dag_id", [f"ingest_{a}" for a in AUTHORITIES] + ["warehouse", "housekeeping"])
def test_every_task_has_its_execution_timeout_and_queue(parsed, dag_id):
    """Every task stops at the timeout sized from the bench (csp.timeouts); the warehouse DAG's
    tasks go to the queue only the warehouse worker serves, every other task to the default
    queue the scalable workers serve."""
    from airflow.configuration import conf

    from csp.dag_factory import WAREHOUSE_QUEUE
    from csp.timeouts import LONGEST, execution_timeout

    for task_id, task in parsed["dags"][dag_id]["tasks"].items():
        assert task["execution_timeout"] == execution_timeout(task_id).total_seconds(), task_id
        assert 0 < task["execution_timeout"] <= LONGEST.total_seconds()
        expected = WAREHOUSE_QUEUE if dag_id == "warehouse" else conf.get("operators", "default_queue")
        assert task["queue"] == expected, task_id
