"""Least privilege and row-level security on the real PostgreSQL server: an analyst of one CSP
reads only that CSP's rows and cannot write, a county analyst reads its districts, ingest
touches staging only, and a plain member of csp_warehouse can rebuild everything.

Login roles are cluster-wide: each test makes its own with a unique name and drops it after.
The group roles (csp_ingest, csp_warehouse, csp_analyst) are shared and never dropped."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import date, time

import psycopg
import pytest
import sqlalchemy as sa

from csp import clock
from csp.warehouse import models
from csp.warehouse.engine import make_engine
from csp.warehouse.load import load_returns
from csp.warehouse.security import AREA_WIDE_TABLES, apply_security, grant_area
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
        with engine.connect() as conn, pytest.raises(sa.exc.ProgrammingError) as error:
            conn.exec_driver_sql(sql)
        assert isinstance(error.value.orig, psycopg.errors.InsufficientPrivilege), sql
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
        area = area_of(table, owner)
        everything = visible_areas(owner, table, area)
        checks.equal(visible_areas(leicester, table, area),
                     {k: v for k, v in everything.items() if k == LEICESTER_CSP}, f"{table}: Leicester")
        checks.equal(visible_areas(county, table, area),
                     {k: v for k, v in everything.items() if k in county_csps | {LEICESTERSHIRE}}, f"{table}: county")
        checks.equal(visible_areas(team_member, table, area),
                     {k: v for k, v in everything.items() if k == BLABY_CSP}, f"{table}: team member")
        checks.equal(visible_areas(unscoped, table, area), {}, f"{table}: unscoped")
    # The checks above could pass on empty tables: the owner does see every CSP.
    counts = visible_areas(owner, "marts.monthly_counts", "csp_code")
    assert {LEICESTER_CSP, BLABY_CSP, CHARNWOOD_CSP} <= set(counts)
    checks.equal(scalar(leicester, "SELECT SUM(events) FROM marts.monthly_counts WHERE dataset = 'police_crimes'"), 4,
                 "Leicester's crimes")
    checks.equal(scalar(county, "SELECT COUNT(*) FROM marts.area_rates WHERE area_type = 'county'") > 0,
                 True, "county rows for the county analyst")
    checks.equal(scalar(leicester, "SELECT COUNT(*) FROM marts.area_rates WHERE area_type = 'county'"), 0,
                 "no county rows for a unitary's analyst")
    for table in summary.shared:
        checks.equal(scalar(leicester, f"SELECT COUNT(*) FROM {table}"),
                     scalar(owner, f"SELECT COUNT(*) FROM {table}"), f"{table}: area-wide")

    for analyst in (leicester, county):
        for sql in ("INSERT INTO marts.monthly_counts (csp_code) VALUES ('E22000164')",
                    "UPDATE marts.monthly_counts SET events = 0",
                    "DELETE FROM marts.monthly_counts",
                    "DELETE FROM analysis.harm",
                    "TRUNCATE marts.area_rates",
                    "DROP TABLE marts.monthly_counts",
                    "CREATE TABLE marts.mine (x int)",
                    "CREATE TABLE analysis.mine (x int)",
                    "CREATE TABLE public.mine (x int)",
                    "CREATE SCHEMA mine",
                    "SELECT COUNT(*) FROM core.fact_event",
                    "SELECT COUNT(*) FROM core.dim_geography",
                    "SELECT COUNT(*) FROM staging.police_crimes",
                    "SELECT COUNT(*) FROM staging.returns",
                    "SELECT COUNT(*) FROM reference.lsoa_lookup",
                    "SELECT COUNT(*) FROM security.analyst_scope",
                    f"INSERT INTO security.analyst_scope VALUES (current_user, '{BLABY_CSP}')",
                    "ALTER TABLE marts.monthly_counts DISABLE ROW LEVEL SECURITY"):
            checks.denied(analyst, sql)

    checks.equal(scalar(ingest, "SELECT COUNT(*) FROM staging.police_crimes"), 10, "ingest reads its staging table")
    with ingest.connect() as conn:  # it may write there too (rolled back: the rows stay as loaded)
        conn.exec_driver_sql("INSERT INTO staging.police_crimes SELECT * FROM staging.police_crimes LIMIT 1")
        conn.exec_driver_sql("DELETE FROM staging.police_crimes WHERE return_id IS NULL")
        conn.rollback()
    checks.passed += 1
    for sql in ("SELECT COUNT(*) FROM marts.monthly_counts",
                "SELECT COUNT(*) FROM analysis.harm",
                "SELECT COUNT(*) FROM core.fact_event",
                "SELECT COUNT(*) FROM reference.lsoa_lookup",
                "SELECT COUNT(*) FROM staging.loaded_returns",
                "CREATE TABLE staging.mine (x int)",
                "DROP TABLE staging.police_crimes"):
        checks.denied(ingest, sql)

    # A member of csp_warehouse that is no superuser and may not create roles rebuilds it all.
    warehouse_role, _ = login_roles("warehouse", "csp_warehouse")
    rebuild = dataclasses.replace(settings, warehouse_url=as_role(postgres_url, warehouse_role))
    stage_events(rebuild, tmp_path, "police_crimes",
                 [{"category": "Burglary", "lsoa": LSOAS[LEICESTER_CSP], "date": date(2024, 1, 5)}] * 6)
    build_all(rebuild)
    checks.equal(scalar(leicester, "SELECT SUM(events) FROM marts.monthly_counts WHERE dataset = 'police_crimes'"), 6,
                 "rebuilt and still isolated")
    checks.equal(scalar(leicester, f"SELECT COUNT(*) FROM marts.monthly_counts WHERE csp_code <> '{LEICESTER_CSP}'"),
                 0, "no other CSP after the rebuild")
    checks.equal(scalar(owner, """
        SELECT COUNT(*) FROM pg_tables
        WHERE schemaname IN ('reference', 'staging', 'core', 'marts', 'analysis') AND tableowner <> 'csp_warehouse'"""),
        0, "every table owned by csp_warehouse")
    owner.dispose()
    with capsys.disabled():
        print(f"\nrole-isolation checks passed: {checks.passed} "
              f"({len(summary.row_level)} row-level tables, {len(summary.shared)} area-wide)")


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
