"""Where things live, read from the environment with project-local defaults.

Every path the platform writes or reads is derived here, so the demo, the tests and a
deployment differ only in environment variables (``CSP_DATA_DIR``, ``CSP_WAREHOUSE_URL``...).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    reference_dir: Path
    area_file: Path
    warehouse_url: str
    out_dir: Path
    # Object storage the reports are also published to (s3://, gs://, file://...; Airflow's
    # ObjectStoragePath), with the Airflow connection that holds its credentials.
    reports_url: str | None = None
    reports_conn_id: str | None = None

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def partnership_dir(self) -> Path:
        """The partnership's own inputs: consultation, plan, initiative areas, tasking log."""
        return self.data_dir / "partnership"

    @cached_property
    def area(self) -> dict:
        with self.area_file.open("rb") as fh:
            return tomllib.load(fh)


def settings() -> Settings:
    data_dir = Path(os.environ.get("CSP_DATA_DIR", PROJECT_DIR / "data")).resolve()
    return Settings(
        data_dir=data_dir,
        reference_dir=Path(
            os.environ.get("CSP_REFERENCE_DIR", PROJECT_DIR.parent / "shared" / "data")
        ).resolve(),
        area_file=Path(os.environ.get("CSP_AREA_FILE", PROJECT_DIR / "config" / "area.toml")),
        warehouse_url=os.environ.get(
            "CSP_WAREHOUSE_URL", f"duckdb:///{data_dir / 'warehouse.duckdb'}"
        ),
        out_dir=Path(os.environ.get("CSP_OUT_DIR", PROJECT_DIR / "out")).resolve(),
        reports_url=os.environ.get("CSP_REPORTS_URL") or None,
        reports_conn_id=os.environ.get("CSP_REPORTS_CONN_ID") or None,
    )
