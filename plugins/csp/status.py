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
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as error:
        # pandas wraps a failed query (no marts yet) in its own DatabaseError; the driver's own
        # message says what is wrong.
        cause = error.__cause__ if isinstance(error, pd.errors.DatabaseError) and error.__cause__ else error
        detail = getattr(cause, "orig", None) or cause
        raise WarehouseUnavailable(f"cannot read marts.compliance_matrix: {_first_line(detail)}") from error
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


def _first_line(error: Exception) -> str:
    return str(error.args[0] if error.args else error).strip().splitlines()[0]


SYNC_URL_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
ASYNC_URL_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"


def _configured_metadata_url(environ) -> str | None:
    """The metadata database URL as Airflow will read it, without importing Airflow (whose
    import already builds the engines): the environment variable, else airflow.cfg."""
    if environ.get(SYNC_URL_ENV):
        return environ[SYNC_URL_ENV]
    import configparser

    config_file = Path(environ.get("AIRFLOW_CONFIG") or Path(environ.get("AIRFLOW_HOME", "~/airflow")) / "airflow.cfg")
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(config_file.expanduser())
    return parser.get("database", "sql_alchemy_conn", fallback=None)


def use_psycopg_for_async_metadata(environ=os.environ, asyncpg_installed: bool | None = None) -> str | None:
    """Airflow builds an async engine beside the sync one and, unless told otherwise, derives
    its URL with asyncpg: without asyncpg (the `deployment` extra installs it) a plain
    ``postgresql://`` metadata URL crashes ``import airflow``. psycopg 3 (the project's driver)
    is async-capable under the same URL, so the async engine is pointed at it then, unless the
    deployment chose its own. Must run before Airflow is imported; returns the URL set, if any."""
    if asyncpg_installed is None:
        from importlib.util import find_spec

        asyncpg_installed = find_spec("asyncpg") is not None
    if environ.get(ASYNC_URL_ENV) or asyncpg_installed:
        return None
    url = _configured_metadata_url(environ)
    if not url or sa.engine.make_url(url).get_backend_name() != "postgresql":
        return None
    async_url = sa.engine.make_url(url).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    environ[ASYNC_URL_ENV] = async_url
    return async_url


def metadata_database() -> str:
    """Airflow's metadata database URL, password hidden (for messages)."""
    from airflow.configuration import conf

    url = conf.get("database", "sql_alchemy_conn")
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def latest_runs(dag_ids=DAG_IDS) -> list[LatestRun]:
    """The newest run of each DAG, read with Airflow's ORM (airflow.models.DagRun). Raises
    ``ConnectionError`` naming the database when it cannot be read."""
    use_psycopg_for_async_metadata()
    try:
        from airflow.configuration import conf
    except (ImportError, sa.exc.SQLAlchemyError) as error:  # import airflow builds the engines
        raise ConnectionError(f"cannot open the Airflow metadata database: {_first_line(error)}") from error

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
                              f"{metadata_database()}: {_first_line(error)}") from error
    return runs


def _summary(dag_id: str, run) -> LatestRun:
    if run is None:
        return LatestRun(dag_id)
    quarter = None
    if dag_id.startswith("ingest_") and run.data_interval_start is not None:
        start = pd.Timestamp(run.data_interval_start).tz_convert(TIMEZONE)
        quarter = Quarter.of(start.date()).label
    return LatestRun(dag_id, run.run_id, str(run.state), quarter, run.run_after, run.end_date)
