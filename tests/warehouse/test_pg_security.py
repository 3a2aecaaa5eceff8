"""Least privilege and row-level security on the real PostgreSQL server: an analyst of one CSP
reads only that CSP's rows (through the views of my_marts and my_analysis), cannot write,
cannot see other partnerships' row counts through EXPLAIN and cannot create temporary tables;
a county analyst reads its districts; analysts see compliance without run ids or host names,
operators with them; ingest appends to its staging tables only and cannot touch the ledger;
a plain member of csp_warehouse can rebuild everything. The whole privilege matrix (role x
table x SELECT/INSERT/UPDATE/DELETE) is checked against the catalog and by trying each
statement.

Login roles are cluster-wide: each test makes its own with a unique name and drops it after.
The group roles (csp_ingest, csp_warehouse, csp_analyst, csp_operator) are shared and never
dropped."""
from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import date, time

import psycopg
import pytest
import sqlalchemy as sa

from csp import clock
from csp.warehouse import models
from csp.warehouse.engine import make_engine
from csp.warehouse.load import load_returns
from csp.warehouse.security import (
    AREA_WIDE_TABLES,
    AUDIT_COLUMNS,
    INGEST_TABLES,
    OPERATOR_TABLES,
    analyst_view,
    apply_security,
    grant_area,
)
from support.warehouse import stage_events

LEICESTER_CSP, BLABY_CSP, CHARNWOOD_CSP = "E22000168", "E22000164", "E22000165"
LEICESTERSHIRE = "E10000018"  # county of Blaby and Charnwood; Leicester is unitary
LSOAS = {LEICESTER_CSP: "E01013636", BLABY_CSP: "E01025631", CHARNWOOD_CSP: "E01025670"}
AS_OF = date(2024, 8, 1)  # 2024 Q1 is past its deadline: reportable, so the analysis runs


def as_role(url: str, role: str) -> str:
    return sa.engine.make_url(url).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def login_roles(postgres_url):
    """make(name, *groups) -> a LOGIN role with a unique name in those group roles; all are
    dropped after the test (their sessions first)."""
    admin = make_engine(postgres_url)
    made: list[str] = []
    engines: list[sa.Engine] = []
    suffix = uuid.uuid4().hex[:10]

    def make(name: str, *groups: str) -> tuple[str, sa.Engine]:
        role = f"csp_t{suffix}_{name}"
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
            made.append(role)
            for group in groups:
                conn.exec_driver_sql(f"GRANT {group} TO {role}")
        engine = make_engine(as_role(postgres_url, role))
        engines.append(engine)
        return role, engine

    yield make
    for engine in engines:
        engine.dispose()
    with admin.begin() as conn:
        for role in made:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %(r)s", {"r": role})
            conn.exec_driver_sql(f"DROP OWNED BY {role}")  # this database's objects, if any
            conn.exec_driver_sql(f"DROP ROLE {role}")
    admin.dispose()


def stage_two_tier_area(settings, tmp_path) -> None:
    """Crimes in Leicester (unitary), Blaby and Charnwood (districts of Leicestershire), and
    health admissions located by outward code only."""
    crimes = (
        [{"category": "Burglary", "lsoa": LSOAS[LEICESTER_CSP], "date": date(2024, 1, 5)}] * 4
        + [{"category": "Shoplifting", "lsoa": LSOAS[BLABY_CSP], "date": date(2024, 2, 5)}] * 3
        + [{"category": "Burglary", "lsoa": LSOAS[CHARNWOOD_CSP], "date": date(2024, 3, 5)}] * 2
        + [{"category": "Burglary", "lsoa": "E01000001", "date": date(2024, 3, 6)}]  # City of London: outside
    )
    stage_events(settings, tmp_path, "police_crimes", crimes)
    stage_events(settings, tmp_path, "hospital_admissions", [
        {"category": "assault_X85_Y09", "code": "Y040", "outward": "LE1", "date": date(2024, 3, 2),
         "time": time(23, 15)},
        {"category": "assault_X85_Y09", "code": "Y040", "outward": "LE19", "date": date(2024, 2, 2)},
    ])


def build_all(settings) -> None:
    """What the warehouse DAG runs: load, models (which apply security), analysis; then
    security again, as the analysis replaced its tables."""
    from csp.analysis.run import run_all

    engine = make_engine(settings.warehouse_url)
    with clock.frozen(AS_OF):
        load_returns(engine, settings)
        with engine.begin() as conn:
            models.build(conn)
        run_all(settings)
    with engine.begin() as conn:
        apply_security(conn)
    engine.dispose()


def scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


def visible_areas(engine, table: str, area: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.exec_driver_sql(f"SELECT {area}, COUNT(*) FROM {table} GROUP BY 1").all())


class Checks:
    """Counts the isolation checks that passed (reported in docs/reliability.md)."""

    def __init__(self):
        self.passed = 0

    def denied(self, engine, sql: str) -> None:
        """Refused: permission denied or, for a write to an analysts' view, not updatable (a
        view over a function takes no writes from anyone, its owner included)."""
        with engine.connect() as conn, pytest.raises((sa.exc.ProgrammingError, sa.exc.OperationalError)) as error:
            conn.exec_driver_sql(sql)
        refused = (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectNotInPrerequisiteState)
        assert isinstance(error.value.orig, refused), sql
        if isinstance(error.value.orig, psycopg.errors.ObjectNotInPrerequisiteState):
            assert " my_" in f" {sql}", sql
        self.passed += 1

    def allowed(self, engine, sql: str) -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
            conn.rollback()  # the warehouse stays as built
        self.passed += 1

    def equal(self, actual, expected, what: str) -> None:
        assert actual == expected, what
        self.passed += 1


def area_of(table: str, owner) -> str:
    with owner.connect() as conn:
        columns = {c for (c,) in conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema || '.' || table_name = %(t)s",
            {"t": table})}
    return "COALESCE(csp_code, area_code)" if "area_code" in columns else "csp_code"


def test_roles_and_row_level_security_isolate_partnerships(workspace, postgres_url, tmp_path, login_roles, capsys):
    settings = dataclasses.replace(workspace, warehouse_url=postgres_url)
    stage_two_tier_area(settings, tmp_path)
    build_all(settings)
    owner = make_engine(postgres_url)
    with owner.begin() as conn:
        summary = apply_security(conn)  # idempotent: a second run changes nothing
    # One quarter gives no hotspots, but every analysis table keeps its columns even when
    # empty (csp.analysis.schemas), so none is withheld for want of a csp_code column.
    assert summary.owned == [] and summary.withheld == []
    expected_rls = {"marts.area_rates", "marts.burglary_rates", "marts.monthly_counts",
                    "marts.outward_code_counts", "marts.rolling_12_months",
                    "analysis.change", "analysis.exceedances", "analysis.harm", "analysis.trend",
                    "analysis.hotspots", "analysis.priorities", "analysis.priority_audit",
                    "analysis.cross_agency", "analysis.plan_progress", "analysis.repeat_locations"}
    assert expected_rls <= set(summary.row_level)
    assert set(summary.shared) <= AREA_WIDE_TABLES

    leicester_role, leicester = login_roles("leicester", "csp_analyst")
    county_role, county = login_roles("county", "csp_analyst")
    _, unscoped = login_roles("unscoped", "csp_analyst")
    team_role, _ = login_roles("team")  # a group role of several analysts
    _, team_member = login_roles("member", "csp_analyst", team_role)
    _, ingest = login_roles("ingest", "csp_ingest")
    _, operator = login_roles("operator", "csp_operator")
    with owner.begin() as conn:
        grant_area(conn, leicester_role, LEICESTER_CSP)
        grant_area(conn, county_role, LEICESTERSHIRE)
        grant_area(conn, team_role, BLABY_CSP)

    checks = Checks()
    with owner.connect() as conn:  # all seven districts of the county, not only those with crimes
        county_csps = {c for (c,) in conn.exec_driver_sql(
            f"SELECT DISTINCT csp_code FROM core.dim_geography WHERE county_code = '{LEICESTERSHIRE}'")}
    assert len(county_csps) == 7 and {BLABY_CSP, CHARNWOOD_CSP} <= county_csps
    for table in summary.row_level:
        area, view = area_of(table, owner), analyst_view(table)
        everything = visible_areas(owner, table, area)
        checks.equal(visible_areas(leicester, view, area),
                     {k: v for k, v in everything.items() if k == LEICESTER_CSP}, f"{view}: Leicester")
        checks.equal(visible_areas(county, view, area),
                     {k: v for k, v in everything.items() if k in county_csps | {LEICESTERSHIRE}}, f"{view}: county")
        checks.equal(visible_areas(team_member, view, area),
                     {k: v for k, v in everything.items() if k == BLABY_CSP}, f"{view}: team member")
        checks.equal(visible_areas(unscoped, view, area), {}, f"{view}: unscoped")
        checks.denied(leicester, f"SELECT COUNT(*) FROM {table}")  # the table itself: never
    # The checks above could pass on empty tables: the owner does see every CSP.
    counts = visible_areas(owner, "marts.monthly_counts", "csp_code")
    assert {LEICESTER_CSP, BLABY_CSP, CHARNWOOD_CSP} <= set(counts)
    checks.equal(scalar(leicester, "SELECT SUM(events) FROM my_marts.monthly_counts WHERE dataset = 'police_crimes'"),
                 4, "Leicester's crimes")
    checks.equal(scalar(county, "SELECT COUNT(*) FROM my_marts.area_rates WHERE area_type = 'county'") > 0,
                 True, "county rows for the county analyst")
    checks.equal(scalar(leicester, "SELECT COUNT(*) FROM my_marts.area_rates WHERE area_type = 'county'"), 0,
                 "no county rows for a unitary's analyst")
    for table in summary.shared:
        checks.equal(scalar(leicester, f"SELECT COUNT(*) FROM {analyst_view(table)}"),
                     scalar(owner, f"SELECT COUNT(*) FROM {table}"), f"{table}: area-wide")
        checks.denied(leicester, f"SELECT COUNT(*) FROM {table}")

    # Compliance without run ids or host names for analysts; operators see who did what.
    analyst_columns = set(columns_of(leicester, "my_marts.return_quality"))
    checks.equal(analyst_columns & AUDIT_COLUMNS, set(), "no audit columns in the analysts' return quality")
    checks.equal({"rows_in", "rows_loaded", "staged_at", "loaded_at"} <= analyst_columns, True, "quality kept")
    checks.equal(scalar(operator, "SELECT COUNT(*) FROM marts.return_quality WHERE staged_on_host IS NOT NULL") > 0,
                 True, "operators read the hosts")
    checks.equal(scalar(operator, "SELECT COUNT(*) FROM staging.returns"),
                 scalar(owner, "SELECT COUNT(*) FROM staging.returns"), "operators read the ledger")
    checks.denied(leicester, "SELECT staged_on_host FROM marts.return_quality")
    for sql in ("SELECT COUNT(*) FROM marts.monthly_counts", "SELECT COUNT(*) FROM core.fact_event",
                "UPDATE staging.returns SET status = 'accepted'", "DELETE FROM staging.returns",
                "INSERT INTO staging.returns (dataset) VALUES ('x')"):
        checks.denied(operator, sql)

    # EXPLAIN shows an analyst the rows it may see, never how many the filter removed.
    plan = explain(leicester, "SELECT * FROM my_marts.monthly_counts")
    mine = scalar(leicester, "SELECT COUNT(*) FROM my_marts.monthly_counts")
    (scan,) = re.findall(r"^Function Scan on monthly_counts__rows .* rows=(\d+) loops=1\)$", plan, re.MULTILINE)
    checks.equal((int(scan), "Rows Removed" in plan, "Seq Scan" in plan, "Filter" in plan), (mine, False, False, False),
                 f"EXPLAIN ANALYZE shows only the rows returned:\n{plan}")
    checks.denied(leicester, "EXPLAIN SELECT * FROM marts.monthly_counts")
    # Another analyst's rows through the function itself: only for a role the login is.
    checks.equal(scalar(leicester, f"SELECT COUNT(*) FROM my_marts.monthly_counts__rows('{county_role}')"), 0,
                 "a role the login may not act as")

    for analyst in (leicester, county):
        for sql in ("INSERT INTO my_marts.monthly_counts (csp_code) VALUES ('E22000164')",
                    "UPDATE my_marts.monthly_counts SET events = 0",
                    "DELETE FROM my_analysis.harm",
                    "INSERT INTO marts.monthly_counts (csp_code) VALUES ('E22000164')",
                    "UPDATE marts.monthly_counts SET events = 0",
                    "DELETE FROM marts.monthly_counts",
                    "DELETE FROM analysis.harm",
                    "TRUNCATE marts.area_rates",
                    "DROP TABLE marts.monthly_counts",
                    "DROP VIEW my_marts.monthly_counts",
                    "CREATE TABLE marts.mine (x int)",
                    "CREATE TABLE analysis.mine (x int)",
                    "CREATE TABLE my_marts.mine (x int)",
                    "CREATE TABLE public.mine (x int)",
                    "CREATE TEMPORARY TABLE mine (x int)",
                    "CREATE SCHEMA mine",
                    "SELECT COUNT(*) FROM core.fact_event",
                    "SELECT COUNT(*) FROM core.dim_geography",
                    "SELECT COUNT(*) FROM staging.police_crimes",
                    "SELECT COUNT(*) FROM staging.returns",
                    "SELECT COUNT(*) FROM reference.lsoa_lookup",
                    "SELECT COUNT(*) FROM security.analyst_scope",
                    "SELECT * FROM security.areas_of(current_user)",
                    f"INSERT INTO security.analyst_scope VALUES (current_user, '{BLABY_CSP}')",
                    "ALTER TABLE marts.monthly_counts DISABLE ROW LEVEL SECURITY"):
            checks.denied(analyst, sql)

    checks.equal(scalar(ingest, "SELECT COUNT(*) FROM staging.police_crimes"), 10, "ingest reads its staging table")
    checks.allowed(ingest, "INSERT INTO staging.police_crimes SELECT * FROM staging.police_crimes LIMIT 1")
    for sql in ("UPDATE staging.police_crimes SET category = 'x'",
                "DELETE FROM staging.police_crimes",
                "TRUNCATE staging.police_crimes",
                "SELECT COUNT(*) FROM staging.returns",
                "INSERT INTO staging.returns (dataset) VALUES ('x')",
                "UPDATE staging.returns SET status = 'accepted'",
                "DELETE FROM staging.returns",
                "SELECT COUNT(*) FROM marts.monthly_counts",
                "SELECT COUNT(*) FROM my_marts.monthly_counts",
                "SELECT COUNT(*) FROM analysis.harm",
                "SELECT COUNT(*) FROM core.fact_event",
                "SELECT COUNT(*) FROM reference.lsoa_lookup",
                "SELECT COUNT(*) FROM staging.loaded_returns",
                "CREATE TEMPORARY TABLE mine (x int)",
                "CREATE TABLE staging.mine (x int)",
                "DROP TABLE staging.police_crimes"):
        checks.denied(ingest, sql)

    # A member of csp_warehouse that is no superuser and may not create roles rebuilds it all.
    warehouse_role, _ = login_roles("warehouse", "csp_warehouse")
    rebuild = dataclasses.replace(settings, warehouse_url=as_role(postgres_url, warehouse_role))
    stage_events(rebuild, tmp_path, "police_crimes",
                 [{"category": "Burglary", "lsoa": LSOAS[LEICESTER_CSP], "date": date(2024, 1, 5)}] * 6)
    build_all(rebuild)
    checks.equal(scalar(leicester, "SELECT SUM(events) FROM my_marts.monthly_counts WHERE dataset = 'police_crimes'"),
                 6, "rebuilt and still isolated")
    checks.equal(scalar(leicester,
                        f"SELECT COUNT(*) FROM my_marts.monthly_counts WHERE csp_code <> '{LEICESTER_CSP}'"),
                 0, "no other CSP after the rebuild")
    checks.equal(scalar(owner, """
        SELECT COUNT(*) FROM pg_tables
        WHERE schemaname IN ('reference', 'staging', 'core', 'marts', 'analysis') AND tableowner <> 'csp_warehouse'"""),
        0, "every table owned by csp_warehouse")
    checks.equal(scalar(owner, """
        SELECT COUNT(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname IN ('my_marts', 'my_analysis') AND pg_get_userbyid(p.proowner) <> 'csp_warehouse'"""),
        0, "every view's function owned by csp_warehouse")
    owner.dispose()
    with capsys.disabled():
        print(f"\nrole-isolation checks passed: {checks.passed} "
              f"({len(summary.row_level)} row-level tables, {len(summary.shared)} area-wide)")


def columns_of(engine, relation: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.exec_driver_sql(f"SELECT * FROM {relation} LIMIT 0").keys())


def explain(engine, sql: str) -> str:
    with engine.connect() as conn:
        return "\n".join(line for (line,) in conn.exec_driver_sql(f"EXPLAIN ANALYZE {sql}"))


# --- the privilege matrix --------------------------------------------------------------------

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


def expected_privileges(role: str, relation: str) -> set[str]:
    """The policy, stated once: what each group role may do to each table or view."""
    schema = relation.split(".")[0]
    if role == "csp_warehouse":  # the owner of every warehouse table and view: the one writer
        if schema == "security":
            return {"SELECT", "INSERT", "DELETE"} if relation == "security.csp_county" else (
                {"SELECT"} if relation == "security.my_areas" else set())
        return set(PRIVILEGES)
    if role == "csp_analyst":
        return {"SELECT"} if schema in ("my_marts", "my_analysis") or relation == "security.my_areas" else set()
    if role == "csp_operator":
        return {"SELECT"} if relation in OPERATOR_TABLES | {"staging.returns", "staging.loaded_returns"} else set()
    if role == "csp_ingest":
        return {"SELECT", "INSERT"} if relation in INGEST_TABLES else set()
    raise AssertionError(role)


def privilege_matrix(conn, roles: list[str]) -> dict[tuple[str, str], set[str]]:
    relations = conn.exec_driver_sql("""
        SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v')
          AND n.nspname IN ('reference', 'staging', 'core', 'marts', 'analysis', 'my_marts', 'my_analysis', 'security')
        ORDER BY 1""").scalars().all()
    matrix = {}
    for role in roles:
        for relation in relations:
            matrix[(role, relation)] = {p for p in PRIVILEGES if conn.exec_driver_sql(
                "SELECT has_table_privilege(%(r)s, %(t)s, %(p)s)", {"r": role, "t": relation, "p": p}).scalar()}
    return matrix


def test_the_privilege_matrix_is_the_policy(workspace, postgres_url, tmp_path, login_roles, capsys):
    """Role x table x SELECT/INSERT/UPDATE/DELETE for every table and view of the warehouse,
    from the catalog (has_table_privilege, which counts inherited grants), equals the policy;
    then each statement is tried by a login of each role on a table of each kind, and fails
    with permission denied exactly where the matrix says it may not."""
    settings = dataclasses.replace(workspace, warehouse_url=postgres_url)
    stage_two_tier_area(settings, tmp_path)
    build_all(settings)
    owner = make_engine(postgres_url)
    groups = ["csp_analyst", "csp_operator", "csp_ingest", "csp_warehouse"]
    with owner.connect() as conn:
        matrix = privilege_matrix(conn, groups)
    wrong = {cell: (granted, expected_privileges(*cell)) for cell, granted in matrix.items()
             if granted != expected_privileges(*cell)}
    assert not wrong, wrong

    logins = {group: login_roles(group.removeprefix("csp_"), group)[1] for group in groups}
    samples = ["staging.returns", "staging.loaded_returns", "staging.police_crimes", "core.fact_event",
               "reference.lsoa_lookup", "marts.monthly_counts", "marts.return_quality", "analysis.harm",
               "my_marts.monthly_counts", "my_marts.return_quality", "my_analysis.harm",
               "security.analyst_scope", "security.csp_county"]
    tried = 0
    for group, engine in logins.items():
        for relation in samples:
            column = first_column(owner, relation)
            for privilege in PRIVILEGES:
                sql = {"SELECT": f"SELECT * FROM {relation} LIMIT 1",
                       "INSERT": f"INSERT INTO {relation} SELECT * FROM {relation} WHERE false",
                       "UPDATE": f"UPDATE {relation} SET {column} = {column} WHERE false",
                       "DELETE": f"DELETE FROM {relation} WHERE false"}[privilege]
                with engine.connect() as conn:
                    try:
                        conn.exec_driver_sql(sql)
                        outcome = True
                    except sa.exc.ProgrammingError as error:
                        assert isinstance(error.orig, psycopg.errors.InsufficientPrivilege), (group, sql, error)
                        outcome = False
                    except sa.exc.OperationalError as error:  # a write to a view over a function
                        assert isinstance(error.orig, psycopg.errors.ObjectNotInPrerequisiteState), (group, sql)
                        outcome = None  # refused to everybody: the catalog's answer stands alone
                    finally:
                        conn.rollback()
                assert outcome in (None, privilege in matrix[(group, relation)]), (group, relation, privilege)
                tried += outcome is not None
    owner.dispose()
    with capsys.disabled():
        print(f"\nprivilege matrix: {len(matrix)} role x relation cells x 4 privileges equal the policy; "
              f"{tried} statements tried")
        print(matrix_table(matrix, groups))


def first_column(engine, relation: str) -> str:
    with engine.connect() as conn:
        return '"' + next(iter(conn.exec_driver_sql(f"SELECT * FROM {relation} LIMIT 0").keys())) + '"'


def matrix_table(matrix: dict, groups: list[str]) -> str:
    """The matrix grouped: relations with the same privileges for every role share a row."""
    relations = sorted({relation for _, relation in matrix})
    rows: dict[tuple, list[str]] = {}
    for relation in relations:
        key = tuple("".join(p[0] for p in PRIVILEGES if p in matrix[(g, relation)]) or "-" for g in groups)
        rows.setdefault(key, []).append(relation)
    lines = ["| relations | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for key, names in rows.items():
        lines.append(f"| {', '.join(names)} | " + " | ".join(key) + " |")
    return "\n".join(lines)


def test_security_needs_an_administrator_first(postgres_url, login_roles):
    """A login that may not create roles cannot set security up on a new database: it is told
    who must, rather than building tables nobody is protected from."""
    from csp.warehouse.security import SecurityNotSetUp

    _, plain = login_roles("plain")
    with plain.begin() as conn, pytest.raises(SecurityNotSetUp, match="python -m csp.warehouse.security"):
        apply_security(conn)


def test_duckdb_has_no_roles_so_nothing_is_applied(workspace):
    engine = make_engine(workspace.warehouse_url)
    with engine.begin() as conn:
        assert apply_security(conn).applied is False
