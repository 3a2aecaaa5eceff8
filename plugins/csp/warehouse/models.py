"""Run the SQL models in sql/: one file per table, `sql/<layer>/<table>.sql` holding a single
SELECT that builds `<layer>.<table>`. Dependencies are read from the `<layer>.<table>` names
each SELECT mentions, so files need no numbering and the order cannot go stale."""
from __future__ import annotations

import re
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path

from sqlalchemy.engine import Connection

from csp.config import PROJECT_DIR

SQL_DIR = PROJECT_DIR / "sql"
MODEL_LAYERS = ("staging", "core", "marts")
_REFERENCE = re.compile(r"\b(staging|core|marts)\.([a-z_][a-z0-9_]*)\b")
_COMMENT = re.compile(r"--[^\n]*")


@dataclass(frozen=True)
class Model:
    name: str  # "<layer>.<table>"
    path: Path

    @property
    def select(self) -> str:
        return self.path.read_text().strip().rstrip(";")

    @property
    def depends_on(self) -> set[str]:
        # Comments may name other models ("see core.fact_event"); only the SQL counts.
        sql = _COMMENT.sub("", self.select)
        return {f"{s}.{t}" for s, t in _REFERENCE.findall(sql)} - {self.name}


def discover(sql_dir: Path = SQL_DIR) -> list[Model]:
    """All models in dependency order."""
    models = {
        f"{layer}.{path.stem}": Model(f"{layer}.{path.stem}", path)
        for layer in MODEL_LAYERS
        for path in sorted((sql_dir / layer).glob("*.sql"))
    }
    graph = {name: model.depends_on & models.keys() for name, model in models.items()}
    return [models[name] for name in TopologicalSorter(graph).static_order()]


def build(conn: Connection, models: list[Model] | None = None) -> list[str]:
    """(Re)build every model table in one transaction's worth of statements."""
    built = []
    for model in models or discover():
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {model.name}")
        # Sent to the driver with no parameter list, so psycopg leaves the % of LIKE '28%' alone.
        conn.connection.driver_connection.execute(f"CREATE TABLE {model.name} AS\n{model.select}")
        if conn.dialect.name == "postgresql":
            # A table made by CREATE TABLE AS has no statistics until autovacuum gets to it;
            # without them the planner picks nested loops over millions of rows.
            conn.exec_driver_sql(f"ANALYZE {model.name}")
        built.append(model.name)
    if conn.dialect.name == "postgresql":
        # CREATE TABLE AS dropped the grants and policies: restore them before commit.
        from csp.warehouse.security import apply_security

        apply_security(conn)
    return built
