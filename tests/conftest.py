"""Test environment: a throwaway Airflow home (configured before anything imports airflow),
a test pseudonymisation key, and per-test data/output folders."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="csp-test-airflow-"))

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


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    from csp.config import settings

    path = settings().reference_dir
    assert path.is_dir(), f"reference data not found at {path} (set CSP_REFERENCE_DIR)"
    return path
