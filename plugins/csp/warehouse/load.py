"""Loading the warehouse from the returns ledger (the warehouse DAG is its only writer).

What to load is decided from the ledger, not from the asset events that woke the DAG: for
every (dataset, quarter) the newest accepted version is loaded if it is not the version
already in the warehouse. Each load replaces exactly that partition in one transaction, so a
resubmitted old quarter is never lost behind a newer one and re-running changes nothing.

Audit: ``staging.loaded_returns`` records, per partition, the version loaded and when
(``loaded_at``, UTC), by which run (``loaded_by_run``: "<dag_id>/<run_id>", NULL outside
Airflow), on which host and with which code version (csp.provenance).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, UTC

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from csp import provenance as audit
from csp.config import Settings
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.schema import create_table_sql
from csp.staging import ACCEPTED, Staging
from csp.warehouse import reference
from csp.warehouse.engine import bulk_insert, replace_table

SCHEMAS = ("reference", "staging", "core", "marts", "analysis")
LEDGER_TABLE = "staging.returns"
LOADED_TABLE = "staging.loaded_returns"


@dataclass(frozen=True)
class LoadSummary:
    loaded: list[str]  # return ids loaded by this run
    unchanged: int  # partitions already at their newest accepted version


def ensure_tables(conn: Connection) -> None:
    for schema in SCHEMAS:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for dataset in DATASETS.values():
        conn.exec_driver_sql(create_table_sql(f"staging.{dataset.id}", dataset))
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {LOADED_TABLE} ("
        "dataset VARCHAR, quarter VARCHAR, version BIGINT, return_id VARCHAR)"
    )
    # Warehouses created before the audit columns existed gain them (NULL for old loads).
    for name, kind in LOADED_AUDIT_COLUMNS.items():
        conn.exec_driver_sql(f"ALTER TABLE {LOADED_TABLE} ADD COLUMN IF NOT EXISTS {name} {kind}")


LOADED_AUDIT_COLUMNS = {
    "loaded_at": "TIMESTAMP", "loaded_by_run": "VARCHAR", "loaded_on_host": "VARCHAR",
    "code_version": "VARCHAR",
}
LOADED_COLUMNS = ("dataset", "quarter", "version", "return_id", *LOADED_AUDIT_COLUMNS)


def load_audit(provenance: dict | None = None) -> dict:
    """The audit values of a load: now, the run (from the task fields of ``provenance``), this
    host and code version."""
    full = audit.complete({k: v for k, v in (provenance or {}).items() if k in audit.TASK_FIELDS})
    run = f"{full['dag_id']}/{full['run_id']}" if full["dag_id"] and full["run_id"] else None
    return {"loaded_at": datetime.now(UTC).replace(tzinfo=None, microsecond=0),
            "loaded_by_run": run, "loaded_on_host": full["hostname"], "code_version": full["code_version"]}


# staging.returns mirrors csp.staging.LedgerEntry field by field (lists joined with "; ").
LEDGER_COLUMNS = {
    "authority": "VARCHAR", "dataset": "VARCHAR", "quarter": "VARCHAR", "version": "BIGINT",
    "status": "VARCHAR", "due_date": "DATE", "file_sha256": "VARCHAR", "files": "VARCHAR",
    "received_at": "TIMESTAMP", "recorded_at": "TIMESTAMP", "rows_in": "BIGINT",
    "rows_loaded": "BIGINT", "rows_quarantined": "BIGINT", "rows_rejected": "BIGINT",
    "rows_staged": "BIGINT",
    "rows_out_of_scope": "BIGINT",
    "rows_redacted": "BIGINT", "notes": "VARCHAR", "failures": "VARCHAR",
    "validation_report": "VARCHAR",
    "dag_id": "VARCHAR", "run_id": "VARCHAR", "task_id": "VARCHAR", "try_number": "BIGINT",
    "hostname": "VARCHAR", "os_user": "VARCHAR", "code_version": "VARCHAR",
}


def sync_ledger(conn: Connection, ledger: pd.DataFrame) -> None:
    """Mirror the ledger files into staging.returns (they stay the source of truth)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {LEDGER_TABLE}")
    columns = ", ".join(f"{name} {kind}" for name, kind in LEDGER_COLUMNS.items())
    conn.exec_driver_sql(f"CREATE TABLE {LEDGER_TABLE} ({columns})")
    if ledger.empty:
        return
    flat = ledger.assign(
        files=ledger["files"].map("; ".join),
        notes=ledger["notes"].map("; ".join),
        failures=ledger["failures"].map("; ".join),
        due_date=pd.to_datetime(ledger["due_date"]).dt.date,
        received_at=pd.to_datetime(ledger["received_at"], utc=True).dt.tz_localize(None),
        recorded_at=pd.to_datetime(ledger["recorded_at"], utc=True).dt.tz_localize(None),
        try_number=ledger["try_number"].astype("Int64"),
    )[list(LEDGER_COLUMNS)]
    bulk_insert(conn, LEDGER_TABLE, pa.Table.from_pandas(flat, preserve_index=False))


def pending(conn: Connection, ledger: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Newest accepted versions not yet in the warehouse, and how many partitions are current."""
    if ledger.empty:
        return ledger, 0
    newest = ledger[ledger["status"] == ACCEPTED]
    loaded = pd.read_sql(f"SELECT dataset, quarter, version AS loaded FROM {LOADED_TABLE}", conn)
    merged = newest.merge(loaded, on=["dataset", "quarter"], how="left")
    to_load = merged[merged["loaded"].isna() | (merged["loaded"] != merged["version"])]
    return to_load, len(merged) - len(to_load)


def load_partition(conn: Connection, staging: Staging, dataset_id: str, quarter: str, version: int, *,
                   audit_values: dict | None = None) -> str:
    """Replace one (dataset, quarter) partition with a staged version, in the caller's
    transaction. ``audit_values``: from ``load_audit`` (made here when not given)."""
    dataset = DATASETS[dataset_id]  # also guards the table name below
    path = staging.folder(dataset.id, Quarter.parse(quarter)) / f"v{version}.parquet"
    key = {"dataset": dataset.id, "quarter": quarter, "version": version,
           "prefix": f"{dataset.id}/{quarter}/v%", "return_id": f"{dataset.id}/{quarter}/v{version}"}
    conn.execute(sa.text(f"DELETE FROM staging.{dataset.id} WHERE return_id LIKE :prefix"), key)
    bulk_insert(conn, f"staging.{dataset.id}", pq.read_table(path))
    conn.execute(
        sa.text(f"DELETE FROM {LOADED_TABLE} WHERE dataset = :dataset AND quarter = :quarter"), key
    )
    conn.execute(
        sa.text(f"INSERT INTO {LOADED_TABLE} ({', '.join(LOADED_COLUMNS)}) "
                f"VALUES ({', '.join(':' + c for c in LOADED_COLUMNS)})"),
        {**key, **(audit_values or load_audit())},
    )
    return key["return_id"]


def load_returns(engine: Engine, settings: Settings, *, provenance: dict | None = None) -> LoadSummary:
    """Bring the warehouse up to date with the ledger: reference data, ledger mirror, and every
    pending partition (each in its own transaction, so one bad file cannot undo the others).
    ``provenance``: the task fields of the run loading (csp.provenance.task_provenance)."""
    staging = Staging(settings.staging_dir)
    ledger = staging.ledger()
    with engine.begin() as conn:
        ensure_tables(conn)
        for table, frame in reference.tables(settings).items():
            replace_table(conn, f"reference.{table}", frame, reference.COLUMN_TYPES.get(table))
        sync_ledger(conn, ledger)
        to_load, unchanged = pending(conn, ledger)
    loaded = []
    for row in to_load.itertuples():
        with engine.begin() as conn:
            loaded.append(load_partition(conn, staging, row.dataset, row.quarter, int(row.version),
                                         audit_values=load_audit(provenance)))
    return LoadSummary(loaded=loaded, unchanged=unchanged)
