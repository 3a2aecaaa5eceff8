"""The DAGs' structure as a reviewed snapshot (tests/dags/dag_structure.json): each DAG's
schedule and, per task, its downstream tasks, outlets (Asset URIs), operator and trigger rule.
A structural change (a task added, renamed or rewired, an Asset or schedule changed) fails here
until the snapshot is regenerated, so it shows in the diff a reviewer reads:

    CSP_UPDATE_DAG_SNAPSHOT=1 .venv/bin/python -m pytest tests/dags/test_dag_structure.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("dag_structure.json")

STRUCTURE_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

def assets(condition):
    # the URIs an asset condition waits for (AssetAny / AssetAll nest)
    if hasattr(condition, "uri"):
        return [condition.uri]
    return sorted(uri for part in getattr(condition, "objects", ()) for uri in assets(part))

def schedule(timetable):
    out = {"timetable": type(timetable).__name__}
    for name in ("expression", "timezone", "interval"):
        if getattr(timetable, name, None) is not None:
            out[name] = str(getattr(timetable, name))
    if getattr(timetable, "timetable", None) is not None:
        out["time"] = schedule(timetable.timetable)
    if found := assets(getattr(timetable, "asset_condition", None)):
        out["assets"] = found
    return out

bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    dag_id: {
        "schedule": schedule(dag.timetable),
        "tasks": {t.task_id: {"operator": type(t).__name__, "trigger_rule": str(t.trigger_rule),
                              "downstream": sorted(t.downstream_task_ids),
                              "outlets": sorted(o.uri for o in t.outlets)}
                  for t in sorted(dag.tasks, key=lambda t: t.task_id)},
    }
    for dag_id, dag in sorted(bag.dags.items())
}, indent=1, sort_keys=True))
"""


def current_structure() -> dict:
    result = subprocess.run([sys.executable, "-c", STRUCTURE_SCRIPT, os.environ["AIRFLOW__CORE__DAGS_FOLDER"]],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout[result.stdout.index("{"):])


def test_dag_structure_matches_the_reviewed_snapshot():
    current = current_structure()
    if os.environ.get("CSP_UPDATE_DAG_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    snapshot = json.loads(SNAPSHOT.read_text())
    assert sorted(current) == sorted(snapshot), "DAGs added or removed: regenerate the snapshot (see module doc)"
    for dag_id in snapshot:
        assert current[dag_id] == snapshot[dag_id], (
            f"{dag_id}'s structure changed: regenerate tests/dags/dag_structure.json (see module doc) "
            "and let review see the diff")
