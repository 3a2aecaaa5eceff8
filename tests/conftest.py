"""Test environment: a throwaway Airflow home (configured before anything imports airflow),
a test pseudonymisation key, and per-test data/output folders."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="csp-test-airflow-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)

os.environ["AIRFLOW_HOME"] = str(AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(PROJECT_DIR / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("CSP_PSEUDONYM_KEY", "test-only-pseudonymisation-key")


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """Settings pointing at a fresh data, warehouse and output folder."""
    from csp.config import settings

    monkeypatch.setenv("CSP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CSP_OUT_DIR", str(tmp_path / "out"))
    monkeypatch.delenv("CSP_WAREHOUSE_URL", raising=False)
    return settings()


@pytest.fixture
def serve_area(workspace, tmp_path, monkeypatch):
    """serve_area(pfa_code) -> Settings of a deployment serving that police force area."""
    from csp.config import settings

    def serve(police_force_area: str):
        path = tmp_path / "area.toml"
        path.write_text(f'[area]\npolice_force_area = "{police_force_area}"\n')
        monkeypatch.setenv("CSP_AREA_FILE", str(path))
        return settings()
    return serve


def staged_rows(settings, dataset_id: str):
    """Every staged version's rows of a dataset, as one DataFrame."""
    import pandas as pd
    import pyarrow.parquet as pq

    paths = sorted((settings.staging_dir / dataset_id).glob("*/v*.parquet"))
    return pd.concat([pq.read_table(p).to_pandas() for p in paths], ignore_index=True)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    from csp.config import settings

    path = settings().reference_dir
    assert path.is_dir(), f"reference data not found at {path} (set CSP_REFERENCE_DIR)"
    return path


@pytest.fixture(scope="session")
def runner():
    """The real DAGs, run in this process with dag.test() on the test Airflow home."""
    from csp.runner import DagRunner, configure_airflow

    configure_airflow(AIRFLOW_HOME)
    return DagRunner()


POSTGRES_ADMIN_URL = os.environ.get("CSP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def unavailable_here(reason: str) -> None:
    """Skip a test whose service or privilege this machine lacks; under CI (CI=true), where
    every test must run, fail instead, so a missing piece is never hidden."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: every test must run)")
    pytest.skip(reason)


@pytest.fixture
def postgres_url():
    """A PostgreSQL database created for one test and dropped after it. Skips locally when no
    server answers; under CI (CI=true) a missing server is a failure, not a skip."""
    import uuid

    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect():
            pass
    except sa.exc.OperationalError as error:
        unavailable_here(f"no PostgreSQL server at {POSTGRES_ADMIN_URL}: {error.orig}")
    name = f"csp_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(scope="session")
def analysed_partnership(tmp_path_factory):
    """Settings of the demo's synthetic partnership, built and analysed once per session
    (tests/support/synthetic_partnership.py); the reports are rendered by the tests that need them,
    at the same 'as of' date."""
    from support.synthetic_partnership import build

    return build(tmp_path_factory.mktemp("partnership"))
