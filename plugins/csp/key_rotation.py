"""Rotating the pseudonymisation key: re-keying every stored pseudonym, staging and warehouse.

Record ids are pseudonymised at ingest as ``HMAC(key, "<dataset>:<id>")`` (csp.depersonalise)
and the ids themselves are never stored, so a new key cannot be applied to them again. Rotation
therefore re-keys the pseudonyms: every stored pseudonym ``p`` becomes ``HMAC(new_key,
"rekey:" + p)``. This keeps everything the pseudonyms are for:

- the mapping is a function of ``p`` alone, so every copy of a pseudonym (staging parquet,
  staging tables, core.fact_event, any analysis table) becomes the same new pseudonym, and
  rows that shared a pseudonym still share one (links, unique keys and groupings survive);
- it is keyed and one-way: without the new key nobody can link an old pseudonym (say, in an
  export made before the rotation) to a new one, which is the point of rotating;
- the old key is not needed to compute it; it is asked for only to check that the stores
  really are at the generation the operator thinks (its fingerprint against the key ledger).

The cost, inherent to one-way pseudonyms: a record id ingested after the rotation, with the
new key, gets ``HMAC(new_key, "<dataset>:<id>")``, which differs from the re-keyed pseudonym of
the same id staged before it. Nothing links records across returns by ``record_key`` (police.uk
Crime IDs are never de-duplicated; unique keys apply within a return), and a resubmitted
quarter replaces its whole partition, so no join breaks; an analysis that did link across the
rotation would see two records.

Pseudonymised columns: ``PSEUDONYMISED_COLUMNS`` (``record_key``). ``location_key`` is not
one: it identifies a point the same row already holds (police.uk map point or precise
coordinates, see sql/staging/events.sql), so it is unkeyed and a rotation leaves it, and
repeat-location results, unchanged.

Generations: a key's fingerprint is ``HMAC(key, FINGERPRINT_MESSAGE)`` (16 hex digits; it
reveals nothing of the key). The key ledger ``<staging>/key_generations.json`` lists every
generation (0 = the key before the first rotation) with when it began and what was re-keyed;
the warehouse holds the same list in ``staging.pseudonym_key_generations`` (written in the
transaction that re-keys it), and each re-keyed parquet file carries its key's fingerprint
in its schema metadata. Each step is atomic (a file is replaced by rename, the warehouse in
one transaction) and skipped when already at the new generation, so a rotation that crashed
is finished by running it again with the same keys.

Run it with every DAG paused (no ingest, no warehouse load): a return staged or loaded during
the rotation could be keyed with one key and re-keyed with the other.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp.config import Settings
from csp.depersonalise import pseudonymise
from csp.key_generations import (  # noqa: F401  (the rotation's public names, checked by ingest)
    KEY_LEDGER, KeyRotationError, assert_current_key, current_fingerprint, key_fingerprint, read_generations,
)
from csp.warehouse.engine import bulk_insert, make_engine

PSEUDONYMISED_COLUMNS = ("record_key",)
REKEY_NAMESPACE = "rekey"
FINGERPRINT_METADATA = b"csp_key_fingerprint"
WAREHOUSE_GENERATIONS = "staging.pseudonym_key_generations"
_MAPPING_TABLE = "staging.pseudonym_rekey"
_WAREHOUSE_SCHEMAS = ("staging", "core", "marts", "analysis")


def rekey(values: pd.Series, new_key: bytes) -> pd.Series:
    """Each old pseudonym -> ``HMAC(new_key, "rekey:" + old)``, hex; null stays null."""
    return pseudonymise(values, new_key, REKEY_NAMESPACE)


@dataclass
class RotationSummary:
    generation: int  # the generation the stores are at afterwards
    old_fingerprint: str
    new_fingerprint: str
    files_rekeyed: int = 0
    files_already_rekeyed: int = 0
    staging_values_rekeyed: int = 0  # non-null pseudonyms rewritten in parquet files
    warehouse_columns: list[str] = field(default_factory=list)  # schema.table.column re-keyed
    warehouse_pseudonyms: int = 0  # distinct pseudonyms mapped in the warehouse
    warehouse_already_rekeyed: bool = False


# --- the key ledger --------------------------------------------------------------------------


def _write_generations(staging_dir: Path, generations: list[dict]) -> None:
    path = staging_dir / KEY_LEDGER
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(generations, indent=2))
    os.replace(tmp, path)


# --- staging: the parquet files ----------------------------------------------------------------


def _fingerprint_of(table: pa.Table) -> str | None:
    value = (table.schema.metadata or {}).get(FINGERPRINT_METADATA)
    return value.decode() if value else None


def rekey_file(path: Path, new_key: bytes, new_fingerprint: str) -> int | None:
    """Re-key one staged parquet file in place (write a sibling, then rename). Returns the
    pseudonyms rewritten, or None when the file is already at the new generation."""
    table = pq.read_table(path)
    if _fingerprint_of(table) == new_fingerprint:
        return None
    rewritten = 0
    for column in PSEUDONYMISED_COLUMNS:
        if column not in table.column_names:
            continue
        old = table.column(column).to_pandas()
        position = table.column_names.index(column)
        table = table.set_column(position, table.schema.field(column),
                                 pa.array(rekey(old, new_key), type=pa.string(), from_pandas=True))
        rewritten += int(old.notna().sum())
    metadata = {**(table.schema.metadata or {}), FINGERPRINT_METADATA: new_fingerprint.encode()}
    table = table.replace_schema_metadata(metadata)
    tmp = path.with_name(f".{path.name}.rekey")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return rewritten


def staged_files(staging_dir: Path) -> list[Path]:
    return sorted(staging_dir.glob("*/*/v*.parquet"))


# --- the warehouse -----------------------------------------------------------------------------


def pseudonymised_columns(conn: Connection) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every base table column holding pseudonyms."""
    rows = conn.execute(sa.text("""
        SELECT c.table_schema, c.table_name, c.column_name
        FROM information_schema.columns c
        JOIN information_schema.tables t
          ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE t.table_type = 'BASE TABLE' AND c.table_schema IN :schemas AND c.column_name IN :columns
        ORDER BY 1, 2, 3
    """).bindparams(sa.bindparam("schemas", expanding=True), sa.bindparam("columns", expanding=True)),
        {"schemas": list(_WAREHOUSE_SCHEMAS), "columns": list(PSEUDONYMISED_COLUMNS)}).all()
    return [(s, t, c) for s, t, c in rows if f"{s}.{t}" not in (_MAPPING_TABLE, WAREHOUSE_GENERATIONS)]


def warehouse_generations(conn: Connection) -> list[dict]:
    conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS staging")
    conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {WAREHOUSE_GENERATIONS} "
                         "(generation BIGINT, fingerprint VARCHAR, began_at TIMESTAMP)")
    frame = pd.read_sql(sa.text(f"SELECT * FROM {WAREHOUSE_GENERATIONS} ORDER BY generation"), conn)
    return frame.to_dict("records")


def rekey_warehouse(conn: Connection, new_key: bytes) -> tuple[list[str], int]:
    """Map every pseudonym of every pseudonymised column to its new value, in the caller's
    transaction: one mapping table of the distinct pseudonyms, one UPDATE per column."""
    columns = pseudonymised_columns(conn)
    distinct = [pd.read_sql(sa.text(f"SELECT DISTINCT {c} AS old_key FROM {s}.{t} WHERE {c} IS NOT NULL"),
                            conn)["old_key"] for s, t, c in columns]
    old = pd.concat(distinct, ignore_index=True).drop_duplicates() if distinct else pd.Series(dtype="string")
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_MAPPING_TABLE}")
    conn.exec_driver_sql(f"CREATE TABLE {_MAPPING_TABLE} (old_key VARCHAR, new_key VARCHAR)")
    mapping = pd.DataFrame({"old_key": old.astype(object), "new_key": rekey(old, new_key).astype(object)})
    bulk_insert(conn, _MAPPING_TABLE, pa.Table.from_pandas(mapping, preserve_index=False))
    for schema, table, column in columns:
        conn.exec_driver_sql(
            f"UPDATE {schema}.{table} SET {column} = m.new_key FROM {_MAPPING_TABLE} m "
            f"WHERE {schema}.{table}.{column} = m.old_key")
    conn.exec_driver_sql(f"DROP TABLE {_MAPPING_TABLE}")
    return [".".join(c) for c in columns], len(mapping)


# --- the rotation --------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def rotate_key(settings: Settings, old_key: bytes, new_key: bytes) -> RotationSummary:
    """Re-key staging and the warehouse from ``old_key``'s generation to ``new_key``'s, and
    record the new generation. Run again after a crash to finish; run with DAGs paused."""
    old_fp, new_fp = key_fingerprint(old_key), key_fingerprint(new_key)
    if old_fp == new_fp:
        raise KeyRotationError("the new key is the old key: nothing would be rotated")
    staging_dir = settings.staging_dir
    generations = read_generations(staging_dir) or [
        {"generation": 0, "fingerprint": old_fp, "began_at": None}]
    current = generations[-1]["fingerprint"]
    if current == new_fp:
        raise KeyRotationError(f"the stores are already at the new key's generation "
                               f"{generations[-1]['generation']} (fingerprint {new_fp})")
    if current != old_fp:
        raise KeyRotationError(f"the old key given (fingerprint {old_fp}) is not the current key "
                               f"(generation {generations[-1]['generation']}, fingerprint {current})")
    began_at = _now()
    target = {"generation": generations[-1]["generation"] + 1, "fingerprint": new_fp, "began_at": began_at}
    summary = RotationSummary(target["generation"], old_fp, new_fp)

    engine = make_engine(settings.warehouse_url)
    try:
        with engine.begin() as conn:
            in_warehouse = warehouse_generations(conn)
            if in_warehouse and in_warehouse[-1]["fingerprint"] not in (old_fp, new_fp):
                raise KeyRotationError(
                    f"the warehouse is at key generation {in_warehouse[-1]['generation']} "
                    f"(fingerprint {in_warehouse[-1]['fingerprint']}), staging at {old_fp}: "
                    "rebuild the warehouse from staging before rotating")
            if in_warehouse and in_warehouse[-1]["fingerprint"] == new_fp:
                summary.warehouse_already_rekeyed = True
            else:
                summary.warehouse_columns, summary.warehouse_pseudonyms = rekey_warehouse(conn, new_key)
                if not in_warehouse:
                    conn.execute(sa.text(f"INSERT INTO {WAREHOUSE_GENERATIONS} VALUES (0, :fp, NULL)"),
                                 {"fp": old_fp})
                conn.execute(sa.text(f"INSERT INTO {WAREHOUSE_GENERATIONS} VALUES (:g, :fp, :at)"),
                             {"g": target["generation"], "fp": new_fp,
                              "at": datetime.fromisoformat(began_at).replace(tzinfo=None)})
    finally:
        engine.dispose()

    for path in staged_files(staging_dir):
        rewritten = rekey_file(path, new_key, new_fp)
        if rewritten is None:
            summary.files_already_rekeyed += 1
        else:
            summary.files_rekeyed += 1
            summary.staging_values_rekeyed += rewritten

    target.update(files_rekeyed=summary.files_rekeyed + summary.files_already_rekeyed,
                  warehouse_columns=summary.warehouse_columns, completed_at=_now())
    _write_generations(staging_dir, [*generations, target])
    return summary
