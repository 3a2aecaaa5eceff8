"""Physical types for the registry's canonical columns: pyarrow for staging files, SQL for the
warehouse. One mapping, so a staged parquet file and its warehouse table always agree."""
from __future__ import annotations

import pyarrow as pa

from csp.registry import DATE, FLOAT, INT, STRING, TIME, Dataset

ARROW_TYPES = {
    STRING: pa.string(),
    INT: pa.int64(),
    FLOAT: pa.float64(),
    DATE: pa.date32(),
    TIME: pa.time64("us"),
}

# Portable across DuckDB and PostgreSQL.
SQL_TYPES = {STRING: "VARCHAR", INT: "BIGINT", FLOAT: "DOUBLE PRECISION", DATE: "DATE", TIME: "TIME"}


def arrow_schema(dataset: Dataset) -> pa.Schema:
    return pa.schema([pa.field(name, ARROW_TYPES[kind]) for name, kind in dataset.columns.items()])


def to_arrow(frame, dataset: Dataset) -> pa.Table:
    """Cast a canonical frame to the dataset's fixed arrow schema (column order included)."""
    schema = arrow_schema(dataset)
    return pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)


def create_table_sql(table: str, dataset: Dataset) -> str:
    columns = ",\n  ".join(f"{name} {SQL_TYPES[kind]}" for name, kind in dataset.columns.items())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {columns}\n)"
