"""Least privilege and row-level security on the PostgreSQL warehouse (sql/security/).

Three NOLOGIN group roles: ``csp_ingest`` (writes the return tables of ``staging``, nothing
else), ``csp_warehouse`` (owns every warehouse schema and table: the warehouse DAG) and
``csp_analyst`` (reads ``marts`` and ``analysis`` only; in per-CSP tables only the rows of the
areas ``security.analyst_scope`` gives it). The model build and the analysis recreate their
tables, which drops grants and policies, so ``apply_security`` runs at the end of each, in
the same transaction: a new table is never visible without its policy. Until it runs a new
table has no grants at all, so the gap fails closed. DuckDB has no roles or row-level
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
GROUP_ROLES = ("csp_ingest", "csp_warehouse", "csp_analyst")
ANALYST_SCHEMAS = ("marts", "analysis")
# Tables ingest may write: each dataset's return table and the ledger mirror. Not the load
# bookkeeping (staging.loaded_returns) nor the model staging.events: those are the warehouse's.
INGEST_TABLES = frozenset({f"staging.{d}" for d in DATASETS} | {"staging.returns"})
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
        "SELECT rolname FROM pg_roles WHERE rolname IN ('csp_ingest', 'csp_warehouse', 'csp_analyst')")}
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
    elif conn.exec_driver_sql("SELECT to_regclass('security.my_areas')").scalar() is None:
        raise SecurityNotSetUp("security.my_areas is missing: an administrator runs "
                               "`python -m csp.warehouse.security` once")


def _warehouse_tables(conn: Connection) -> list[tuple[str, str, set[str]]]:
    """(schema.table, owner, columns) of every table in the warehouse schemas."""
    rows = conn.exec_driver_sql("""
        SELECT n.nspname || '.' || c.relname, pg_get_userbyid(c.relowner),
               array_agg(a.attname::text)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('reference', 'staging', 'core', 'marts', 'analysis')
        GROUP BY 1, 2 ORDER BY 1
    """).all()
    return [(name, owner, set(columns)) for name, owner, columns in rows]


def area_expression(columns: set[str]) -> str | None:
    """The column(s) naming a row's area, or None for a table with no CSP rows. The rates
    marts give county rows a county area_code and no csp_code."""
    if "csp_code" not in columns:
        return None
    return "COALESCE(csp_code, area_code)" if "area_code" in columns else "csp_code"


def apply_security(conn: Connection) -> SecuritySummary:
    """Roles, ownership, grants and row-level policies for every warehouse table, in the
    caller's transaction. Idempotent; cheap (catalog reads and a few statements per table)."""
    if conn.dialect.name != "postgresql":
        return SecuritySummary(applied=False)
    _set_up(conn)
    _run(conn, _sql("warehouse_schemas"))
    summary = SecuritySummary(applied=True)
    for table, owner, columns in _warehouse_tables(conn):
        if owner != "csp_warehouse":
            _run(conn, _sql("per_table_owner").format(table=table))
            summary.owned.append(table)
        schema = table.split(".")[0]
        if table in INGEST_TABLES:
            _run(conn, _sql("per_table_ingest").format(table=table))
            summary.ingest.append(table)
        if schema not in ANALYST_SCHEMAS:
            continue
        if (area := area_expression(columns)) is not None:
            _run(conn, _sql("per_table_analyst_rls").format(table=table, area=area))
            summary.row_level.append(table)
        elif table in AREA_WIDE_TABLES:
            _run(conn, _sql("per_table_analyst_shared").format(table=table))
            summary.shared.append(table)
        else:
            summary.withheld.append(table)
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
