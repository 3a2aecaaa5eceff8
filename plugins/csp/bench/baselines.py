"""The fixed comparison points, run on the same police files in the same run. Not tuned:

- raw DuckDB: ``CREATE TABLE raw AS SELECT * FROM read_csv(<files>, header=true,
  all_varchar=true)`` on a new database file;
- raw PostgreSQL: ``COPY raw FROM STDIN (FORMAT csv, HEADER true)`` into a table of text
  columns, over psycopg 3 (one COPY per file);
- the naive peer: ``pandas.read_csv(dtype=str)`` then
  ``DataFrame.to_sql("raw", if_exists="replace", chunksize=10000)`` into PostgreSQL.

Each runs in a fresh child process (``measure.isolated``) like the stages.
"""
from __future__ import annotations

import csv
from pathlib import Path

from csp.bench.measure import Clock

COPY_CHUNK = 1 << 20


def _header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_duckdb(files: list[Path], database: Path, rows: int) -> dict:
    import duckdb

    database.unlink(missing_ok=True)
    listing = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in files) + "]"
    with Clock() as clock:
        conn = duckdb.connect(str(database))
        conn.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv({listing}, header=true, all_varchar=true)")
        loaded = conn.execute("SELECT count(*) FROM raw").fetchone()[0]
        conn.close()
    database.unlink(missing_ok=True)
    return {"rows": rows, "seconds": clock.seconds, "peak_mib": clock.peak_mib, "extra": {"loaded": loaded}}


def raw_postgres_copy(files: list[Path], conninfo: str, rows: int) -> dict:
    import psycopg

    columns = ", ".join(f"{_quote(c)} text" for c in _header(files[0]))
    with Clock() as clock, psycopg.connect(conninfo) as conn:
        conn.execute("DROP TABLE IF EXISTS raw")
        conn.execute(f"CREATE TABLE raw ({columns})")
        with conn.cursor() as cursor:
            for path in files:
                with cursor.copy("COPY raw FROM STDIN (FORMAT csv, HEADER true)") as copy, path.open("rb") as fh:
                    while chunk := fh.read(COPY_CHUNK):
                        copy.write(chunk)
        conn.commit()
        loaded = conn.execute("SELECT count(*) FROM raw").fetchone()[0]
    return {"rows": rows, "seconds": clock.seconds, "peak_mib": clock.peak_mib, "extra": {"loaded": loaded}}


def naive_peer(files: list[Path], url: str, rows: int) -> dict:
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with Clock() as clock:
        frames = [pd.read_csv(path, dtype=str) for path in files]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        frame.to_sql("raw", engine, if_exists="replace", chunksize=10000)
    with engine.connect() as conn:
        loaded = conn.execute(sa.text("SELECT count(*) FROM raw")).scalar()
        conn.execute(sa.text("DROP TABLE raw"))
        conn.commit()
    engine.dispose()
    return {"rows": rows, "seconds": clock.seconds, "peak_mib": clock.peak_mib, "extra": {"loaded": loaded}}
