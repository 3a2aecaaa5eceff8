"""`csp status` against a PostgreSQL metadata database given by a plain ``postgresql://`` URL:
Airflow derives an asyncpg URL for its async engine and, where asyncpg is not installed (an
install without the `deployment` extra), crashed on import; csp.status then points the async
engine at psycopg 3, and an unreadable metadata database is a one-line message."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from csp.status import ASYNC_URL_ENV, SYNC_URL_ENV, use_psycopg_for_async_metadata

CSP = str(Path(sys.executable).with_name("csp"))


def test_a_plain_postgresql_url_gets_the_psycopg_async_engine(tmp_path):
    env = {SYNC_URL_ENV: "postgresql://airflow:airflow@db:5432/airflow"}
    assert use_psycopg_for_async_metadata(dict(env), asyncpg_installed=True) is None  # Airflow's own choice
    assert use_psycopg_for_async_metadata(env, asyncpg_installed=False) == \
        "postgresql+psycopg://airflow:airflow@db:5432/airflow"
    assert env[ASYNC_URL_ENV] == "postgresql+psycopg://airflow:airflow@db:5432/airflow"
    # The deployment's own async URL is kept; other databases are left to Airflow.
    chosen = {SYNC_URL_ENV: "postgresql://a@db/airflow", ASYNC_URL_ENV: "postgresql+asyncpg://a@db/airflow"}
    assert use_psycopg_for_async_metadata(chosen, asyncpg_installed=False) is None
    assert chosen[ASYNC_URL_ENV] == "postgresql+asyncpg://a@db/airflow"
    assert use_psycopg_for_async_metadata({SYNC_URL_ENV: f"sqlite:///{tmp_path}/airflow.db"},
                                          asyncpg_installed=False) is None
    # From airflow.cfg when the environment does not say.
    (tmp_path / "airflow.cfg").write_text("[database]\nsql_alchemy_conn = postgresql+psycopg2://a@db/airflow\n")
    from_file = {"AIRFLOW_HOME": str(tmp_path)}
    assert use_psycopg_for_async_metadata(from_file, asyncpg_installed=False) == \
        "postgresql+psycopg://a@db/airflow"


def test_status_on_a_plain_postgresql_url_shows_no_traceback(tmp_path, postgres_url):
    """A fresh process, as an operator runs it: the warehouse has no marts yet (exit 3, one
    line), and with a warehouse to read the metadata database is reached through psycopg 3 (it
    is empty here, so the runs are "not shown" with the reason, not a traceback)."""
    plain = sa.engine.make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__DATABASE", "CSP_WAREHOUSE"))}
    env.update({"AIRFLOW_HOME": str(tmp_path / "airflow"), SYNC_URL_ENV: plain, "CSP_WAREHOUSE_URL": plain})

    empty = subprocess.run([CSP, "status"], env=env, capture_output=True, text=True, timeout=120)
    assert empty.returncode == 3, empty.stderr
    assert empty.stderr.startswith("csp status: cannot read marts.compliance_matrix: ")
    assert len(empty.stderr.strip().splitlines()) == 1 and "Traceback" not in empty.stderr

    with sa.create_engine(postgres_url).begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA marts; CREATE SCHEMA reference")
        conn.exec_driver_sql("CREATE TABLE reference.as_of (today date); "
                             "INSERT INTO reference.as_of VALUES ('2024-08-01')")
        conn.exec_driver_sql(
            "CREATE TABLE marts.compliance_matrix AS SELECT 'fire' AS authority, 'fire_incidents' AS dataset, "
            "'2024Q1' AS quarter, 'late' AS state, DATE '2024-06-30' AS due_date, "
            "TIMESTAMP '2024-07-21 10:30' AS received_at, 21 AS days_late")
    shown = subprocess.run([CSP, "status"], env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in shown.stderr + shown.stdout, shown.stderr
    assert shown.returncode == 0, shown.stderr
    assert "fire       fire_incidents  late" in shown.stdout
    (runs,) = [line for line in shown.stdout.splitlines() if line.startswith("Latest runs")]
    # Reached: the server answered that Airflow's tables do not exist.
    assert 'relation "dag_run" does not exist' in runs
