"""Hostile landing folders through the real authority DAGs (dag.test()): the sensor and the
ingest task refuse links and record the refusal in the ledger, without retry, while the
quarter's other datasets are staged as usual. Under a JailGuard: nothing outside the data
folder is read (the bait is watched by inotify) or written (Airflow's own home aside)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from conftest import AIRFLOW_HOME
from support.hostile import ASB, TEMPLATES, Q, asb_return, landing  # noqa: F401 (fixtures)
from support.jail_guard import JailGuard

from csp.staging import Staging

pytestmark = pytest.mark.slow


@pytest.fixture
def dag_guard(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("CSP_TODAY", (Q.next().end + timedelta(days=1)).isoformat())  # past the deadline: nothing waits
    guard = JailGuard(tmp_path, workspace.data_dir, workspace.out_dir, also=(AIRFLOW_HOME,))
    yield guard
    guard.check()


def status(settings, dataset: str) -> dict:
    return json.loads((settings.staging_dir / dataset / Q.label / "status.json").read_text())


def test_the_ingest_task_records_a_linked_file_as_refused_and_stages_the_rest(workspace, runner, landing, dag_guard):
    (landing / ASB).symlink_to(dag_guard.bait("secret.csv", asb_return(50, ref="SECRET")))
    (landing / "racial_incidents_2024Q1.csv").write_bytes((TEMPLATES / "racial_incidents.csv").read_bytes())
    dag_guard.start()
    assert runner.run_authority("local_authority", Q).state == "failed"
    refused = status(workspace, "council_asb")
    assert refused["status"] == "rejected"
    assert refused["notes"] == [
        f"{landing / ASB}: a symbolic link: links in the data folders are not followed [symlink]"]
    assert refused["task_id"] == "council_asb.ingest_return" and refused["try_number"] == 1  # no retry
    assert Staging(workspace.staging_dir).latest_accepted("racial_incidents", Q).rows_in > 0


def test_the_sensor_records_a_linked_quarter_folder_as_refused(workspace, runner, dag_guard):
    outside = dag_guard.outside / "fire"
    outside.mkdir()
    (outside / "lfb_incident_records_2024Q1.csv").write_text("IncidentNumber\n1\n")
    (workspace.landing_dir / "fire").mkdir(parents=True)
    (workspace.landing_dir / "fire" / Q.label).symlink_to(outside, target_is_directory=True)
    dag_guard.start()
    assert runner.run_authority("fire", Q).state == "failed"
    for dataset in ("fire_incidents", "fire_false_alarms"):
        refused = status(workspace, dataset)
        assert refused["status"] == "rejected" and refused["task_id"] == f"{dataset}.wait_for_return"
        assert refused["notes"] == [f"{workspace.landing_dir / 'fire' / Q.label}: a symbolic link where a folder "
                                    "is due: links are not followed [symlink]"]
