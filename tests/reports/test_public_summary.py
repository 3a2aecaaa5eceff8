"""The public summary: built from a small warehouse (the real models on DuckDB), rendered for
every CSP in it, and attacked: no small count, every figure rounded, nothing recoverable."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from csp.geography import Partnership
from csp.quarters import Quarter
from csp.reports.disclosure import TOTAL
from csp.reports.public_summary import public_summary, render_public_summary, require_protected
from csp.reports.readiness import Period
from support.disclosure_checks import assert_disclosure_safe, parse_tables
from support.warehouse import build, stage_events

LAST = Quarter(2024, 1)
PERIOD = Period(quarters=tuple(LAST.shift(i) for i in range(-3, 1)), provisional=False, missing=(), inputs=())
LEICESTER, BLABY = "E22000168", "E22000164"
# LSOAs in different wards: two of Leicester, two of Blaby.
L1, L2, B1, B2 = "E01013636", "E01013606", "E01025614", "E01025631"


def rows(category, lsoa, day, n):
    return [{"category": category, "lsoa": lsoa, "date": day}] * n


@pytest.fixture
def warehouse(workspace, tmp_path):
    """Two quarters of police crimes: 2024Q1 (in the period) and 2023Q1 (the year before)."""
    current = (rows("Burglary", L1, date(2024, 1, 5), 23) + rows("Burglary", B1, date(2024, 2, 5), 40)
               + rows("Robbery", B2, date(2024, 2, 9), 3)
               + rows("Violence and sexual offences", L1, date(2024, 3, 1), 52)
               + rows("Violence and sexual offences", L2, date(2024, 3, 2), 2))
    before = rows("Burglary", L1, date(2023, 1, 5), 30) + rows("Burglary", B1, date(2023, 2, 5), 5)
    stage_events(workspace, tmp_path, "police_crimes", current, quarter=LAST)
    stage_events(workspace, tmp_path, "police_crimes", before, quarter=Quarter(2023, 1))
    engine, _ = build(workspace)
    return engine


def partnership(conn, code) -> Partnership:
    name = conn.execute(sa.text("SELECT DISTINCT csp_name FROM core.dim_geography WHERE csp_code = :c"),
                        {"c": code}).scalar()
    return Partnership(code=code, name=name, districts=(), county_code=None, county_name=None)


def test_every_csp_summary_is_disclosure_safe(warehouse, tmp_path):
    with warehouse.connect() as conn:
        codes = [c for (c,) in conn.execute(sa.text(
            "SELECT DISTINCT csp_code FROM marts.monthly_counts WHERE area_status = 'in_area'"))]
        assert sorted(codes) == [BLABY, LEICESTER]
        for code in codes:
            context = public_summary(conn, partnership(conn, code), PERIOD)
            html = render_public_summary(context, tmp_path / f"{code}.html").read_text()
            assert assert_disclosure_safe(html) == 3
            assert "not yet set" in html  # no analysis.priorities in this warehouse


def test_police_recorded_crime_is_published_as_police_uk_publishes_it(warehouse):
    """The default configuration: police crimes are exact (police.uk has them street by street),
    in their own tables; percent changes from the exact counts."""
    with warehouse.connect() as conn:
        leicester = public_summary(conn, partnership(conn, LEICESTER), PERIOD)
        blaby = public_summary(conn, partnership(conn, BLABY), PERIOD)
    quarters = leicester["tables"]["police_uk.quarters"]
    assert quarters.text("Acquisitive crime", TOTAL) == "23"
    assert quarters.text("Violence", "Jan to Mar 2024") == "54"
    assert quarters.text(TOTAL, TOTAL) == "77"
    assert leicester["tables"]["police_uk.previous"].text("Acquisitive crime", "12 months before") == "30"
    wards = leicester["tables"]["police_uk.wards"]
    assert wards.published.loc[TOTAL, "Violence"] == 54 and wards.cells("primary") == []
    violence = sorted(wards.published["Violence"].iloc[:-1].dropna().astype(int))
    assert violence == [0] * (len(wards.published) - 3) + [2, 52]
    change = {c["theme"]: c for c in leicester["changes"]}["Acquisitive crime"]["sources"][0]
    assert change["change_pct"] == pytest.approx(100 * (23 - 30) / 30)  # exact, as the internal assessment has it
    assert blaby["tables"]["police_uk.previous"].text("Acquisitive crime", "12 months before") == "5"
    assert {c["theme"]: c for c in blaby["changes"]}["Acquisitive crime"]["sources"][0]["change_pct"] is None


def test_under_the_hes_rule_figures_are_rounded_and_small_counts_hidden(warehouse, tmp_path):
    """A configuration with no per-source rule: every dataset under the HES-style default."""
    config = tmp_path / "disclosure.toml"
    config.write_text("threshold = 7\nrounding_base = 5\nsuppress_zero = false\nmarker = \"*\"\nprotection_width = 7\n")
    with warehouse.connect() as conn:
        leicester = public_summary(conn, partnership(conn, LEICESTER), PERIOD, disclosure_config=config)
        blaby = public_summary(conn, partnership(conn, BLABY), PERIOD, disclosure_config=config)
    quarters = leicester["tables"]["default.quarters"]
    # Leicester: 23 burglaries -> 25; 54 violence (52 + 2) -> 55.
    assert quarters.text("Acquisitive crime", TOTAL) == "25"
    assert quarters.text("Violence", "Jan to Mar 2024") == "55"
    assert not quarters.col_total  # the other partners hold several kinds of record: no sum of sources
    assert leicester["tables"]["default.previous"].text("Acquisitive crime", "12 months before") == "30"
    assert "default.wards" not in leicester["tables"]
    # Blaby: 40 burglaries and 3 robberies (43, shown 45); 5 burglaries the year before, hidden.
    assert blaby["tables"]["default.quarters"].value("Acquisitive crime", TOTAL) == 45
    assert blaby["tables"]["default.previous"].text("Acquisitive crime", "12 months before") == "*"
    change = {c["theme"]: c for c in blaby["changes"]}["Acquisitive crime"]["sources"][0]
    assert change["change_pct"] is None and change["previous"] == "*"  # no change from a hidden figure


def test_priorities_are_the_agreed_plan_not_the_recommendations(warehouse, tmp_path):
    with warehouse.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS analysis"))
        conn.execute(sa.text("CREATE TABLE analysis.priorities (csp_code VARCHAR, theme VARCHAR, rank INTEGER, "
                             "is_priority BOOLEAN, status VARCHAR)"))
        conn.execute(sa.text("INSERT INTO analysis.priorities VALUES "
                             f"('{LEICESTER}', 'asb', 1, TRUE, 'new')"))
    (tmp_path / "plan.csv").write_text(
        "csp_code,priority_theme,measure,baseline_period,target_change_pct,actions\n"
        f"{LEICESTER},violence,police recorded violence with injury,2023Q1-2023Q4,-5,"
        "Street pastors on Saturday nights\n"
        f"{LEICESTER},domestic_abuse,domestic abuse incidents reported,2023Q1-2023Q4,5,\n"
        f"{BLABY},road_danger,people killed or seriously injured,2023Q1-2023Q4,-10,\n")
    with warehouse.connect() as conn:
        context = public_summary(conn, partnership(conn, LEICESTER), PERIOD, partnership_dir=tmp_path)
    assert [p["theme"] for p in context["priorities"]] == ["Violence", "Domestic abuse"]
    html = render_public_summary(context, tmp_path / "p.html").read_text()
    assert "reduce it by 5% on the baseline from 2023Q1" in html and "increase it by 5%" in html
    assert "Street pastors on Saturday nights" in html
    assert "Anti-social behaviour</strong>:" not in html and "not yet set" not in html


def test_help_and_publication_date_are_given(warehouse, tmp_path):
    with warehouse.connect() as conn:
        context = public_summary(conn, partnership(conn, LEICESTER), PERIOD)
    html = render_public_summary(context, tmp_path / "p.html").read_text()
    for words in ("call 999", "call 101", "Crimestoppers on 0800 555 111", "0808 2000 247", 'href="https://www.police.uk/"',
                  "published "):
        assert words in html, words


def test_raw_frames_cannot_be_rendered(warehouse, tmp_path):
    with warehouse.connect() as conn:
        context = public_summary(conn, partnership(conn, LEICESTER), PERIOD)
    raw = dict(context, tables={**context["tables"], "wards": pd.DataFrame({"Violence": [2]})})
    with pytest.raises(TypeError, match="not a ProtectedTable"):
        render_public_summary(raw, tmp_path / "x.html")
    with pytest.raises(TypeError, match="raw figures"):
        require_protected(dict(context, extra=[pd.Series([2])]))
    assert not (tmp_path / "x.html").exists()


def test_checker_catches_an_unprotected_table():
    html = ("<table><thead><tr><th>Ward</th><th>Events</th></tr></thead>"
            "<tbody><tr><th>A</th><td>3</td></tr></tbody></table>")
    with pytest.raises(AssertionError, match="did not pass through disclosure control"):
        parse_tables(html)
    leaky = ('<table class="protected" data-row-total="yes" data-col-total="no"><thead><tr><th>T</th><th>Q1</th>'
             '<th>Q2</th><th>Total</th></tr></thead><tbody><tr><th>a</th><td>*</td><td>50</td><td>55</td></tr></tbody></table>')
    with pytest.raises(AssertionError, match="one suppressed figure"):
        assert_disclosure_safe(leaky)
