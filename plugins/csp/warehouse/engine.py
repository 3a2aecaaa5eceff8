"""Connections and the one backend-specific operation: bulk-loading an Arrow table.

Everything else is portable SQL. DuckDB reads the Arrow table in place; PostgreSQL gets it
through COPY (never row-by-row INSERTs).
"""
from __future__ import annotations

import io
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine


_SQL_TYPES = {
    "int64": "BIGINT", "Int64": "BIGINT", "int32": "INTEGER", "Int32": "INTEGER",
    "float64": "DOUBLE PRECISION", "Float64": "DOUBLE PRECISION", "bool": "BOOLEAN", "boolean": "BOOLEAN",
}


def _sql_type(values) -> str:
    present = values.dropna()
    if values.dtype == object and len(present) and all(type(v) is date for v in present):
        return "DATE"
    if str(values.dtype).startswith("datetime64"):
        return "TIMESTAMP"
    return _SQL_TYPES.get(str(values.dtype), "VARCHAR")


def replace_table(conn: Connection, table: str, frame, types: dict[str, str] | None = None) -> None:
    """(Re)create ``table`` (schema-qualified) from a DataFrame, inside the caller's transaction:
    reference data and analysis results, which are rebuilt whole on every run. Column types
    follow the dtypes; ``types`` names those a frame cannot show (an empty frame's dates)."""
    # Columns pandas left as objects (True/None from a concat, ints beside NaN) get their real type.
    columns = {name: column.convert_dtypes() if column.dtype == object and _sql_type(column) != "DATE" else column
               for name, column in frame.items()}
    frame = pd.DataFrame(columns, index=frame.index)
    types = {name: (types or {}).get(name) or _sql_type(column) for name, column in frame.items()}
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
    conn.exec_driver_sql(f"CREATE TABLE {table} ({', '.join(f'{n} {t}' for n, t in types.items())})")
    bulk_insert(conn, table, pa.Table.from_pandas(frame, preserve_index=False))


# DuckDB would otherwise take 80 % of the machine's memory; with a limit it spills to disk, so
# a warehouse rebuild stays within what a task may use beside the scheduler and workers.
DUCKDB_MEMORY_LIMIT = os.environ.get("CSP_DUCKDB_MEMORY_LIMIT", "3GB")


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("duckdb:"):
        database = sa.engine.make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # a deployment's first run
        engine = sa.create_engine(url, connect_args={"config": {"memory_limit": DUCKDB_MEMORY_LIMIT}})
        # No progress bars in task logs (a session setting: not accepted in the connect config).
        sa.event.listen(engine, "connect", lambda dbapi, _: dbapi.execute("SET enable_progress_bar = false"))
        return engine
    return sa.create_engine(url)


def bulk_insert(conn: Connection, table: str, data: pa.Table) -> None:
    """Append ``data`` to ``table`` inside the caller's transaction."""
    if data.num_rows == 0:
        return
    columns = ", ".join(data.column_names)
    dialect = conn.dialect.name
    if dialect == "duckdb":
        duck = conn.connection.driver_connection
        duck.register("_incoming", data)
        try:
            conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming")
        finally:
            duck.unregister("_incoming")
    elif dialect == "postgresql":
        buffer = io.BytesIO()
        pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False))
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getvalue())
    else:
        raise ValueError(f"unsupported warehouse backend: {dialect}")
