"""Least privilege and row-level security on the PostgreSQL warehouse (sql/security/).

Four NOLOGIN group roles: ``csp_ingest`` (appends to the return tables of ``staging``, nothing
else), ``csp_warehouse`` (owns every warehouse schema and table: the warehouse DAG, the one
writer of the ledger mirror ``staging.returns``), ``csp_operator`` (reads the ledger and the
compliance marts whole, audit columns included) and ``csp_analyst`` (reads only the views of
``my_marts`` and ``my_analysis``: per-CSP tables in the rows of the areas
``security.analyst_scope`` gives it, area-wide tables without their audit columns). Each view
calls a SECURITY DEFINER function, so EXPLAIN shows an analyst neither the table's plan nor the
rows of other partnerships its filter removed. The model build and the analysis recreate
their tables, which drops grants and policies, so ``apply_security`` runs at the end of each,
in the same transaction: a new table is never visible without its policy. Until it runs a
new table has no grants at all, so the gap fails closed. DuckDB has no roles or row-level
security; there this does nothing.

An administrator runs it once first (``python -m csp.warehouse.security``): that creates the
roles and the ``security`` schema. Afterwards the warehouse DAG's own login (a member of
``csp_warehouse``, no CREATEROLE) keeps the tables in line on every build.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp.config import PROJECT_DIR
from csp.registry import DATASETS

log = logging.getLogger(__name__)

SECURITY_SQL_DIR = PROJECT_DIR / "sql" / "security"
GROUP_ROLES = ("csp_ingest", "csp_warehouse", "csp_analyst", "csp_operator")
# Analyst tables and the schema of the analysts' views of them.
ANALYST_SCHEMAS = {"marts": "my_marts", "analysis": "my_analysis"}
# Tables ingest may append to: each dataset's return table. Not the ledger mirror
# (staging.returns), the load bookkeeping (staging.loaded_returns) nor the model staging.events:
# those are the warehouse's, which alone writes them.
INGEST_TABLES = frozenset({f"staging.{d}" for d in DATASETS})
LEDGER_TABLES = frozenset({"staging.returns", "staging.loaded_returns"})
# Compliance marts operators read whole: who staged and loaded each return, on which host.
OPERATOR_TABLES = frozenset({"marts.compliance_matrix", "marts.quarter_readiness", "marts.return_quality"})
# Columns of the area-wide tables that analysts' views leave out: runs, tasks and hosts.
AUDIT_COLUMNS = frozenset({"staged_by_run", "staged_by_task", "staged_try", "staged_on_host",
                           "loaded_by_run", "loaded_on_host"})
# Analyst tables with no CSP rows, readable whole by every analyst. Any other marts or
# analysis table without a csp_code column gets no grant at all (fails closed), so a new
# per-area table can never be shared across CSPs by omission.
AREA_WIDE_TABLES = frozenset({
    "marts.compliance_matrix", "marts.quarter_readiness", "marts.return_quality",
    "analysis.seasonal_index", "analysis.displacement",
})


class SecurityNotSetUp(RuntimeError):
    """The roles or the security schema are missing and this login may not create them."""


@dataclass
class SecuritySummary:
    applied: bool  # False on a backend without roles (DuckDB)
    owned: list[str] = field(default_factory=list)  # tables handed to csp_warehouse
    ingest: list[str] = field(default_factory=list)
    row_level: list[str] = field(default_factory=list)  # analyst tables behind the area policy
    shared: list[str] = field(default_factory=list)  # area-wide analyst tables
    withheld: list[str] = field(default_factory=list)  # analyst-schema tables no analyst may read


def _sql(name: str) -> str:
    return (SECURITY_SQL_DIR / f"{name}.sql").read_text()


def _run(conn: Connection, sql: str) -> None:
    # Straight to the driver: a file holds several statements and DO blocks with $$ quoting.
    conn.connection.driver_connection.execute(sql)


def _missing_roles(conn: Connection) -> list[str]:
    present = {r for (r,) in conn.exec_driver_sql(
        "SELECT rolname FROM pg_roles WHERE rolname = ANY(%(roles)s)", {"roles": list(GROUP_ROLES)})}
    return [r for r in GROUP_ROLES if r not in present]


def _administers_security(conn: Connection) -> bool:
    """Is the security schema still to be made, or does this login own it?"""
    owner = conn.exec_driver_sql(
        "SELECT nspowner FROM pg_namespace WHERE nspname = 'security'").scalar()
    if owner is None:
        if not conn.exec_driver_sql("SELECT has_database_privilege(current_database(), 'CREATE')").scalar():
            raise SecurityNotSetUp("the security schema does not exist and this login may not create it: "
                                   "an administrator runs `python -m csp.warehouse.security` once")
        return True
    return bool(conn.exec_driver_sql(
        f"SELECT pg_has_role(current_user, {int(owner)}, 'USAGE')").scalar())


def _set_up(conn: Connection) -> None:
    if missing := _missing_roles(conn):
        can_create = conn.exec_driver_sql(
            "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
        if not can_create:
            raise SecurityNotSetUp(
                f"roles {', '.join(missing)} do not exist and {conn.exec_driver_sql('SELECT current_user').scalar()} "
                "may not create them: an administrator runs `python -m csp.warehouse.security` once")
        _run(conn, _sql("roles"))
    if _administers_security(conn):
        _run(conn, _sql("scope"))
        _run(conn, _sql("scope_grants"))
    elif not conn.exec_driver_sql("SELECT to_regclass('security.my_areas') IS NOT NULL "
                                  "AND to_regprocedure('security.areas_of(name)') IS NOT NULL").scalar():
        raise SecurityNotSetUp("security.my_areas or security.areas_of is missing: an administrator runs "
                               "`python -m csp.warehouse.security` once")


@dataclass(frozen=True)
class Table:
    name: str  # schema.table
    owner: str
    columns: tuple[tuple[str, str], ...]  # (name, SQL type), in table order

    @property
    def column_names(self) -> set[str]:
        return {name for name, _ in self.columns}


def _warehouse_tables(conn: Connection) -> list[Table]:
    """Every table in the warehouse schemas, with its owner and typed columns."""
    rows = conn.exec_driver_sql("""
        SELECT n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner),
               array_agg(a.attname::text ORDER BY a.attnum),
               array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('reference', 'staging', 'core', 'marts', 'analysis')
        GROUP BY 1, 2 ORDER BY 1
    """).all()
    return [Table(name, owner, tuple(zip(names, types, strict=True))) for name, owner, names, types in rows]


def area_expression(columns: set[str], alias: str = "") -> str | None:
    """The column(s) naming a row's area, or None for a table with no CSP rows. The rates
    marts give county rows a county area_code and no csp_code."""
    if "csp_code" not in columns:
        return None
    prefix = f"{alias}." if alias else ""
    return f"COALESCE({prefix}csp_code, {prefix}area_code)" if "area_code" in columns else f"{prefix}csp_code"


def analyst_view(table: str) -> str:
    """The analysts' view of a marts or analysis table: ``my_marts.<table>``, ``my_analysis.<table>``."""
    schema, name = table.split(".")
    return f"{ANALYST_SCHEMAS[schema]}.{name}"


def _view_sql(template: str, table: Table, *, area: str | None = None, row_area: str | None = None) -> str:
    """A per_table_analyst_* file filled in for ``table``: its view, the view's function and the
    columns the view shows (all but the audit columns)."""
    shown = [(name, kind) for name, kind in table.columns if name not in AUDIT_COLUMNS]
    view = analyst_view(table.name)
    return _sql(template).format(
        table=table.name, view=view, function=f"{view}__rows", area=area, row_area=row_area,
        typed_columns=", ".join(f'"{name}" {kind}' for name, kind in shown),
        columns=", ".join(f't."{name}"' for name, _ in shown),
    )


def _drop_stale_views(conn: Connection, tables: set[str]) -> None:
    """Analyst views left by a table that is gone (renamed or removed)."""
    views = conn.exec_driver_sql(_sql("analyst_views")).scalars().all()
    wanted = {analyst_view(t) for t in tables if t.split(".")[0] in ANALYST_SCHEMAS}
    for view in sorted(set(views) - wanted):
        _run(conn, _sql("drop_stale_analyst_view").format(view=view, function=f"{view}__rows"))


def apply_security(conn: Connection) -> SecuritySummary:
    """Roles, ownership, grants and row-level policies for every warehouse table, in the
    caller's transaction. Idempotent; cheap (catalog reads and a few statements per table)."""
    if conn.dialect.name != "postgresql":
        return SecuritySummary(applied=False)
    _set_up(conn)
    _run(conn, _sql("warehouse_schemas"))
    summary = SecuritySummary(applied=True)
    tables = _warehouse_tables(conn)
    for table in tables:
        name = table.name
        if table.owner != "csp_warehouse":
            _run(conn, _sql("per_table_owner").format(table=name))
            summary.owned.append(name)
        if name in INGEST_TABLES:
            _run(conn, _sql("per_table_ingest").format(table=name))
            summary.ingest.append(name)
        if name in LEDGER_TABLES:
            _run(conn, _sql("per_table_ledger").format(table=name))
        if name in OPERATOR_TABLES:
            _run(conn, _sql("per_table_operator").format(table=name))
        if name.split(".")[0] not in ANALYST_SCHEMAS:
            continue
        if (area := area_expression(table.column_names)) is not None:
            _run(conn, _view_sql("per_table_analyst_rls", table, area=area,
                                 row_area=area_expression(table.column_names, "t")))
            summary.row_level.append(name)
        elif name in AREA_WIDE_TABLES:
            _run(conn, _view_sql("per_table_analyst_shared", table))
            summary.shared.append(name)
        else:
            summary.withheld.append(name)
    _drop_stale_views(conn, {t.name for t in tables if t.name in summary.row_level + summary.shared})
    if conn.exec_driver_sql("SELECT to_regclass('core.dim_geography')").scalar() is not None:
        _run(conn, _sql("refresh_csp_county"))
    if summary.withheld:
        log.warning("security: no analyst may read %s (no csp_code and not area-wide)",
                    ", ".join(summary.withheld))
    return summary


def grant_area(conn: Connection, role_name: str, area_code: str) -> None:
    """Let ``role_name`` (a login or a group role) read the rows of a CSP, or of every CSP of
    a county. Run by the administrator who owns security.analyst_scope."""
    conn.execute(sa.text(
        "INSERT INTO security.analyst_scope (role_name, area_code) VALUES (:role, :area) "
        "ON CONFLICT DO NOTHING"), {"role": role_name, "area": area_code})


def revoke_area(conn: Connection, role_name: str, area_code: str) -> None:
    conn.execute(sa.text(
        "DELETE FROM security.analyst_scope WHERE role_name = :role AND area_code = :area"),
        {"role": role_name, "area": area_code})


def main(argv: list[str] | None = None) -> None:
    """The administrator's first run (and any later one): roles, security schema, grants."""
    import argparse

    from csp.config import settings
    from csp.warehouse.engine import make_engine

    parser = argparse.ArgumentParser(prog="python -m csp.warehouse.security", description=main.__doc__)
    parser.add_argument("--url", default=None, help="warehouse URL (default: CSP_WAREHOUSE_URL)")
    args = parser.parse_args(argv)
    with make_engine(args.url or settings().warehouse_url).begin() as conn:
        summary = apply_security(conn)
    print(f"security applied: {summary.applied}; row-level {len(summary.row_level)}, "
          f"area-wide {len(summary.shared)}, withheld {len(summary.withheld)} tables")


if __name__ == "__main__":
    main()
