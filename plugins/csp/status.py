"""What `csp status` reports: the compliance matrix (authority x dataset x quarter, from the
warehouse's marts.compliance_matrix) and the latest run of each DAG (from Airflow's metadata
database, through Airflow's ORM)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from csp.quarters import Quarter
from csp.registry import AUTHORITIES

# States of marts.compliance_matrix: a return that is in (or never owed) ...
IN_STATES = ("on_time", "late", "not_held")
# ... one still within its deadline; any other state (not_received, rejected) needs action.
PENDING_STATES = ("awaited",)
DAG_IDS = tuple(f"ingest_{authority}" for authority in AUTHORITIES) + ("warehouse",)
TIMEZONE = "Europe/London"


class WarehouseUnavailable(Exception):
    """The compliance matrix cannot be read: no warehouse yet, or it cannot be reached."""


@dataclass(frozen=True)
class Compliance:
    matrix: pd.DataFrame  # authority, dataset, quarter, state, due_date, received_at, days_late
    as_of: date

    @property
    def needs_action(self) -> pd.DataFrame:
        """Returns past their deadline and not in, and rejected returns."""
        return self.matrix[~self.matrix["state"].isin(IN_STATES + PENDING_STATES)]

    def counts(self) -> dict[str, int]:
        return self.matrix["state"].value_counts().sort_index().to_dict()

    def grid(self) -> pd.DataFrame:
        """One row per authority and dataset, one column per quarter, the state in each cell."""
        return self.matrix.pivot(index=["authority", "dataset"], columns="quarter", values="state").fillna("")

    def grid_text(self) -> str:
        """The grid as left-aligned text columns (two spaces apart), header first."""
        table = self.grid().reset_index()
        columns = [str(c) for c in table.columns]
        rows = [[str(v) for v in row] for row in table.itertuples(index=False)]
        widths = [max(len(cell) for cell in column) for column in zip(columns, *rows, strict=True)]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                         for line in [columns, *rows])

    def last(self, quarters: int) -> Compliance:
        shown = sorted(self.matrix["quarter"].unique())[-quarters:]
        return Compliance(self.matrix[self.matrix["quarter"].isin(shown)], self.as_of)


def _reader(url: str) -> sa.Engine:
    """An engine that only reads: a DuckDB file is opened read-only, so status never takes the
    write lock the warehouse DAG needs, and never creates an empty warehouse."""
    if url.startswith("duckdb:"):
        database = sa.engine.make_url(url).database
        if not database or not Path(database).exists():
            raise WarehouseUnavailable(f"no warehouse at {database}: the warehouse DAG (or csp demo) builds it")
        return sa.create_engine(url, connect_args={"read_only": True})
    from csp.warehouse.engine import make_engine

    return make_engine(url)


def compliance(warehouse_url: str) -> Compliance:
    engine = _reader(warehouse_url)
    try:
        with engine.connect() as conn:
            matrix = pd.read_sql(sa.text(
                "SELECT authority, dataset, quarter, state, due_date, received_at, days_late "
                "FROM marts.compliance_matrix ORDER BY quarter, authority, dataset"), conn)
            as_of = conn.execute(sa.text("SELECT today FROM reference.as_of")).scalar_one()
    except sa.exc.SQLAlchemyError as error:
        raise WarehouseUnavailable(f"cannot read marts.compliance_matrix: {error.args[0]}") from error
    finally:
        engine.dispose()
    return Compliance(matrix, pd.Timestamp(as_of).date())


@dataclass(frozen=True)
class LatestRun:
    dag_id: str
    run_id: str | None = None
    state: str | None = None
    quarter: str | None = None  # the data interval's quarter (ingest runs)
    run_after: datetime | None = None
    end_date: datetime | None = None


def metadata_database() -> str:
    """Airflow's metadata database URL, password hidden (for messages)."""
    from airflow.configuration import conf

    url = conf.get("database", "sql_alchemy_conn")
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def latest_runs(dag_ids=DAG_IDS) -> list[LatestRun]:
    """The newest run of each DAG, read with Airflow's ORM (airflow.models.DagRun). Raises
    ``ConnectionError`` naming the database when it cannot be read."""
    from airflow.configuration import conf

    url = conf.get("database", "sql_alchemy_conn")
    if url.startswith("sqlite:"):
        path = sa.engine.make_url(url).database
        if not path or not os.path.exists(path):  # connecting would create an empty file
            raise ConnectionError(f"no Airflow metadata database at {path}")
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    runs = []
    try:
        with create_session() as session:
            for dag_id in dag_ids:
                run = session.scalars(
                    sa.select(DagRun).where(DagRun.dag_id == dag_id)
                    .order_by(DagRun.run_after.desc()).limit(1)
                ).first()
                runs.append(_summary(dag_id, run))
    except sa.exc.SQLAlchemyError as error:
        raise ConnectionError(f"cannot read the Airflow metadata database "
                              f"{metadata_database()}: {error.args[0]}") from error
    return runs


def _summary(dag_id: str, run) -> LatestRun:
    if run is None:
        return LatestRun(dag_id)
    quarter = None
    if dag_id.startswith("ingest_") and run.data_interval_start is not None:
        start = pd.Timestamp(run.data_interval_start).tz_convert(TIMEZONE)
        quarter = Quarter.of(start.date()).label
    return LatestRun(dag_id, run.run_id, str(run.state), quarter, run.run_after, run.end_date)
