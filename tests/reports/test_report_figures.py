"""Figures the strategic assessment prints are the partnership's own, or labelled as what they
are (issue 16): built from a small two-partnership warehouse (the real models on DuckDB)."""
from __future__ import annotations

import re
from datetime import date
from html import unescape

import pandas as pd
import pytest
import sqlalchemy as sa

from csp.quarters import Quarter
from csp.reports.readiness import Period
from csp.reports.strategic import data_quality
from csp.templating import environment
from support.warehouse import build, stage_counts, stage_events

LAST = Quarter(2024, 1)
PERIOD = Period(quarters=tuple(LAST.shift(i) for i in range(-3, 1)), provisional=False, missing=(), inputs=())
LEICESTER, BLABY = "E22000168", "E22000164"
L1, B1 = "E01013636", "E01025614"  # an LSOA of each


def rows(category, lsoa, day, n):
    return [{"category": category, "lsoa": lsoa, "date": day}] * n


@pytest.fixture
def two_partnerships(workspace, tmp_path):
    """One force-wide police crimes return and one incidents return for 2024Q1, covering
    Leicester and Blaby, and a health return of counts."""
    stage_events(workspace, tmp_path, "police_crimes",
                 rows("Burglary", L1, date(2024, 1, 5), 23) + rows("Burglary", B1, date(2024, 2, 5), 40)
                 + rows("Robbery", B1, date(2024, 3, 9), 3), quarter=LAST)
    stage_events(workspace, tmp_path, "police_incidents",
                 rows("Anti-social behaviour", L1, date(2024, 2, 1), 7)
                 + rows("Anti-social behaviour", B1, date(2024, 2, 2), 11), quarter=LAST)
    stage_counts(workspace, tmp_path)
    engine, _ = build(workspace)
    yield engine
    engine.dispose()


def own_events_sql(conn, csp_code: str) -> dict[str, int]:
    frame = pd.read_sql(sa.text(
        "SELECT dataset, SUM(events) AS events FROM marts.monthly_counts "
        "WHERE csp_code = :c AND area_status = 'in_area' AND month BETWEEN :s AND :e GROUP BY dataset"),
        conn, params={"c": csp_code, "s": PERIOD.quarters[0].start, "e": PERIOD.last.months[-1]})
    return {d: int(e) for d, e in frame.itertuples(index=False)}


def visible(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_return_tables_show_the_partnerships_own_events_beside_the_whole_return(two_partnerships):
    with two_partnerships.connect() as conn:
        for code in (LEICESTER, BLABY):
            _, _, quarantine, used = data_quality(conn, code, PERIOD)
            expected = own_events_sql(conn, code)
            by_dataset = quarantine.set_index("dataset")
            assert {d: by_dataset.loc[d, "own_events"] for d in expected} == expected
            assert by_dataset.loc["police_crimes", "rows_in"] == 66  # the whole return, both partnerships
            assert by_dataset.loc["police_crimes", "own_events"] != by_dataset.loc["police_crimes", "rows_in"]
            assert by_dataset.loc["health_counts", "own_events"] is None  # counts, not events
            returns = used.set_index(["dataset", "quarter"])
            assert {d: returns.loc[(d, "2024Q1"), "own_events"] for d in expected} == expected
        assert own_events_sql(conn, LEICESTER) == {"police_crimes": 23, "police_incidents": 7}

        _, _, quarantine, used = data_quality(conn, LEICESTER, PERIOD)
    macros = environment().get_template("macros.html.j2").module
    table = visible(str(macros.quarantine_table(quarantine.to_dict("records"), "Leicester")))
    assert "whole return (all partnerships it covers)" in table and "Events in Leicester" in table
    assert re.search(r"Crimes \(Notifiable Offences list\) 66 0 0\.0% 0 23 ", table), table
    assert ("Mental-illness outpatient first attendances; persons in drug treatment 2 0 0.0% 0 "
            "counts, not events") in table
    returns = visible(str(macros.returns_used_table(used.to_dict("records"), "Leicester")))
    assert "whole return (all partnerships it covers)" in returns
    assert re.search(r"Crimes \(Notifiable Offences list\) 2024Q1 1 \S+ 66 0 23 ", returns), returns


# --- "The highest rate" is the highest rate (error 2) ----------------------------------------


def hotspot_rows() -> pd.DataFrame:
    """Six significant violence hotspots whose Gi* rank is not their rate order (a strong
    cluster of middling rates ranks above an isolated high rate), and one that is not hot."""
    rates = [107.8, 95.1, 147.0, 60.2, 120.4, 88.8, 300.0]
    return pd.DataFrame({
        "theme": "violence", "csp_code": LEICESTER, "lsoa11_code": [f"E0100000{i}" for i in range(7)],
        "lsoa11_name": [f"Place {i}" for i in range(7)], "ward_name": "Ward",
        "events": [40.0] * 7, "per_1000_residents": rates, "z": [9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 0.5],
        "q_value": [0.001] * 6 + [0.9], "hot": [True] * 6 + [False], "rank_in_csp": [1.0, 2, 3, 4, 5, 6, 7],
        "hotspot_class": "persistent", "hot_years": 3, "years": 3})


def test_the_highest_rate_named_is_the_highest_rate_among_the_hot_neighbourhoods():
    from csp.reports.findings import key_findings

    hot = hotspot_rows()
    empty_tests = pd.DataFrame(columns=["csp_code", "theme", "change_significant", "change_q", "trend_significant",
                                        "trend_direction", "change_direction", "trend_years", "annual_change_pct"])
    themes = pd.DataFrame({"csp_code": [LEICESTER], "theme": ["violence"], "theme_name": ["Violence"],
                           "current_year": [100], "previous_year": [90], "change_pct": [11.1]})
    exceed = pd.DataFrame({"month": pd.to_datetime([]), "beyond_3sigma": [], "theme": [], "events": [],
                           "expected": []})
    categories = pd.DataFrame(columns=["theme", "category", "significant", "q_value"])
    found = key_findings(themes, empty_tests, categories, hot, exceed, PERIOD)
    sentence = next(f for f in found if "hotspots" in f)
    highest = hot[hot["hot"]].loc[hot[hot["hot"]]["per_1000_residents"].idxmax()]
    assert highest["per_1000_residents"] == 147.0
    assert f"the highest rate is {highest['lsoa11_name']} (Ward) at 147.0 per 1,000" in sentence, sentence
    assert sentence.startswith("6 neighbourhoods are significant")


def test_the_chapters_hotspot_table_captioned_highest_first_is_in_rate_order():
    from csp.reports.chapters import NAMED_HOTSPOTS, named_hotspots

    named = named_hotspots(hotspot_rows())
    rates = named["per_1000_residents"].tolist()
    assert rates == sorted(rates, reverse=True) == [147.0, 120.4, 107.8, 95.1, 88.8][:NAMED_HOTSPOTS]
    assert named["hot"].all()  # the not-hot 300.0 is never named as a hotspot
    macros = (environment().loader.get_source(environment(), "macros.html.j2")[0])
    assert "highest rate per 1,000 residents first" in macros


def test_the_problem_profiles_highest_rates_table_is_in_rate_order(two_partnerships):
    from csp.geography import Partnership
    from csp.reports.problem_profile import ProfileArea, where_profile

    leicester = Partnership(code=LEICESTER, name="Leicester", districts=(), county_code=None, county_name=None)
    with two_partnerships.connect() as conn:
        where = where_profile(conn, ProfileArea(LEICESTER, "Leicester", "partnership", leicester),
                              "acquisitive", PERIOD)
    rates = where["per_1000_residents"].tolist()
    assert len(rates) > 1 and rates[0] > 0 and rates == sorted(rates, reverse=True)


# --- The regulations are cited by their own titles (error 3) ---------------------------------

CITATION = re.compile(r"(Crime and Disorder \([^)]*\) Regulations 2007)\s+\(SI (2007/18\d\d)\)")


def footers() -> dict[str, str]:
    """The sources footer every report template renders (its own block, else the base's)."""
    from csp.templating import TEMPLATES

    env = environment()
    base = env.get_template("base.html.j2")
    out = {}
    for path in sorted(TEMPLATES.glob("*.html.j2")):
        if path.name != "base.html.j2" and '{% extends "base.html.j2" %}' not in path.read_text():
            continue  # ingest's validation page: no report, no footer
        template = env.get_template(path.name)
        block = template.blocks.get("sources") or base.blocks["sources"]
        context = template.new_context({"published_on": date(2025, 1, 31)})
        out[path.name] = " ".join("".join(block(context)).split())
    return out


def test_every_report_cites_the_regulations_by_their_declared_titles():
    from csp.legislation import INSTRUMENTS, PRESCRIBED_INFORMATION, STRATEGY

    declared = {i.number: i.title for i in INSTRUMENTS.values()}
    assert declared == {"2007/1831": "Crime and Disorder (Prescribed Information) Regulations 2007",
                        "2007/1830": "Crime and Disorder (Formulation and Implementation of Strategy) Regulations 2007"}
    rendered = footers()
    assert {"base.html.j2", "county_rollup.html.j2", "problem_profile.html.j2", "strategic_assessment.html.j2",
            "tactical_assessment.html.j2", "public_summary.html.j2", "index.html.j2"} <= rendered.keys()
    for name, footer in rendered.items():
        cited = CITATION.findall(footer)
        assert cited, (name, footer)
        assert all(declared[number] == title for title, number in cited), (name, cited)
        assert not ("1831" in footer and "Formulation" in footer), (name, footer)
    assert PRESCRIBED_INFORMATION.cited in rendered["county_rollup.html.j2"]
    assert STRATEGY.short not in " ".join(rendered.values())  # no report cites 1830 for the returns


def test_no_template_or_sentence_spells_out_a_regulation_itself():
    """The number and title come from csp.legislation, so none can be paired with the other's."""
    import io
    import tokenize
    from pathlib import Path

    from csp.config import PROJECT_DIR

    title = re.compile(r"\((Prescribed Information|Formulation and Implementation of Strategy)\)")
    templates = [*(PROJECT_DIR / "report_templates").glob("*.j2"), *(PROJECT_DIR / "plugins").rglob("*.j2")]
    spelled = [p.name for p in templates if title.search(p.read_text()) or "2007/18" in p.read_text()]
    assert spelled == []
    for path in (PROJECT_DIR / "plugins").rglob("*.py"):
        if path.name == "legislation.py":
            continue
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        strings = [t.string for t in tokens if t.type == tokenize.STRING
                   or t.type == getattr(tokenize, "FSTRING_MIDDLE", -1)]
        assert not [s for s in strings if title.search(s)], Path(path).relative_to(PROJECT_DIR)


# --- Harm: "not scored" where no weight exists, and a unit and a rate where one does (error 7) -


def chapter_context(**values) -> dict:
    """A chapter as csp.reports.chapters builds it, with only what the test sets filled in."""
    return {"theme": "asb", "theme_name": "Anti-social behaviour", "rank": None, "current": 18, "previous": 0,
            "change_pct": None, "change_q": None, "change_significant": False, "change_direction": None,
            "trend_years": None, "annual_change_pct": None, "trend_q": None, "trend_significant": False,
            "trend_direction": None, "harm": "", "seasonality": None, "hotspots": [], "hotspot_classes": {},
            "repeats": None, "cross_agency": [], "chart": None, "map": None, "map_note": None, "composition": None,
            "categories": None, "place_note": None, "place_tested": True, **values}


def render_chapter(chapter: dict) -> str:
    return visible(str(environment().get_template("macros.html.j2").module.chapter(chapter, 20)))


def test_harm_is_not_scored_without_a_weight_and_has_a_unit_and_rate_with_one(two_partnerships):
    from csp.reports import queries
    from csp.reports.chapters import harm_words

    with two_partnerships.connect() as conn:
        themes = queries.theme_year_counts(conn, [LEICESTER], PERIOD).set_index("theme")
        population = queries.partnership_population(conn, LEICESTER)
        harm_sql, weighted, residents = conn.execute(sa.text(
            "SELECT SUM(harm), SUM(events), (SELECT SUM(population) FROM core.dim_geography "
            "WHERE csp_code = :c AND in_area) FROM marts.monthly_counts "
            "WHERE csp_code = :c AND theme = 'acquisitive' AND area_status = 'in_area' AND harm IS NOT NULL"),
            {"c": LEICESTER}).one()
    assert pd.isna(themes.loc["asb", "harm"])  # ASB incidents carry no Crime Severity Score weight
    asb = render_chapter(chapter_context(harm=harm_words(themes.loc["asb", "harm"], themes.loc["asb", "harm_events"],
                                                         population)))
    assert "Harm: not scored (no Crime Severity Score weight)" in asb
    assert not re.search(r"Harm[^.]*: 0\b", asb), asb

    assert harm_sql > 0 and themes.loc["acquisitive", "harm"] == pytest.approx(harm_sql) and population == residents
    acquisitive = render_chapter(chapter_context(
        theme="acquisitive", theme_name="Acquisitive crime", current=23,
        harm=harm_words(themes.loc["acquisitive", "harm"], themes.loc["acquisitive", "harm_events"], population)))
    rate = 1000 * harm_sql / residents
    assert (f"Harm: {harm_sql:,.0f} Crime Severity Score days (ONS weights: the days of custody an offence's "
            f"sentences equate to) from {int(weighted)} police-recorded crimes, {rate:,.1f} per 1,000 residents."
            ) in acquisitive, acquisitive


def test_the_tactical_top_places_show_an_unweighted_place_as_not_scored():
    from csp.reports.tactical import top_places

    hot = hotspot_rows().iloc[:3].assign(theme=["asb", "violence", "violence"])
    harm = pd.DataFrame({"theme": ["violence", "violence"], "lsoa11_code": ["E01000001", "E01000002"],
                         "harm": [500.0, 900.0]})
    places = top_places(hot, harm)
    assert [(p["lsoa11_code"], p["harm_scored"]) for p in places] == [
        ("E01000002", True), ("E01000001", True), ("E01000000", False)]
    template = environment().loader.get_source(environment(), "tactical_assessment.html.j2")[0]
    assert "{% else %}not scored{% endif %}" in template


# --- Repeat locations: say what the location precision allows, not zeros (error 9) ----------


def repeat_rows(keyed: int, locations: int, repeats: int, at_repeats: int) -> pd.DataFrame:
    return pd.DataFrame({"csp_code": [LEICESTER], "theme": ["violence"], "events": [keyed + 10],
                         "keyed_events": [keyed], "locations": [locations], "repeat_locations": [repeats],
                         "events_at_repeat_locations": [at_repeats], "min_events": [2],
                         "repeat_share": [at_repeats / keyed if keyed else None], "rank": [None]})


def test_repeat_locations_say_the_data_has_no_points_instead_of_zeros(two_partnerships):
    from csp.analysis.locations import repeat_location_table
    from csp.reports import queries
    from csp.reports.chapters import repeat_summary

    with two_partnerships.connect() as conn:
        table = repeat_location_table(conn, PERIOD.last.months[-1])
        precision = queries.location_precision(conn, LEICESTER, PERIOD)
    own = table[(table["csp_code"] == LEICESTER) & (table["theme"] == "acquisitive")]
    assert own["keyed_events"].sum() == 0  # located to an LSOA, so no location key
    repeats = repeat_summary(own, precision[precision["theme"] == "acquisitive"])
    page = render_chapter(chapter_context(theme="acquisitive", theme_name="Acquisitive crime", repeats=repeats))
    assert ("Repeat locations Not analysed: a repeat location needs the point an event happened at, and none of "
            "the theme's 23 events in the 12 months has one (all located to a neighbourhood (LSOA)).") in page, page
    assert "0 (0%)" not in page and "at 0 places" not in page


def test_repeat_locations_say_when_no_two_points_are_the_same():
    from csp.reports.chapters import repeat_summary

    precision = pd.DataFrame({"theme": ["violence"] * 2, "location_precision": ["point", "lsoa"],
                              "events": [40, 10]})
    distinct = repeat_summary(repeat_rows(keyed=40, locations=40, repeats=0, at_repeats=0), precision)
    page = render_chapter(chapter_context(repeats=distinct))
    assert ("no two of the 40 events located by a point share the same point (compared to 0.1 m), so at this "
            "precision the data cannot show a place where events repeat. The theme's 50 events are located "
            "40 to a point, 10 to a neighbourhood (LSOA).") in page, page
    assert "0 (0%)" not in page and "at 0 places" not in page
    found = repeat_summary(repeat_rows(keyed=40, locations=30, repeats=6, at_repeats=16), precision)
    page = render_chapter(chapter_context(repeats=found))
    assert "Of 40 events located by a point, 16 (40%) happened at 6 places with 2 or more events" in page, page


# --- Headlines count each source apart, and every product says so alike (error 4) -----------

PFA, COUNTY = "E23000021", "E10000018"  # Leicestershire police force area; Leicestershire county
YEARS = {"Vehicle crime": (25, 37, 56), "Burglary": (75, 63, 44)}  # per quarter, in each of 3 years
PLAN_VIOLENCE = "police recorded violence with injury"  # what the demo's plan says; police.uk cannot split it


def spread(category: str, quarter: Quarter, n: int, lsoa: str | None = L1, outward: str | None = None) -> list[dict]:
    """n events of a category over the quarter's months."""
    months = quarter.months
    return [{"category": category, "lsoa": lsoa, "outward": outward,
             "date": date(months[i % 3].year, months[i % 3].month, 1 + i % 27)} for i in range(n)]


@pytest.fixture
def analysed(workspace, tmp_path):
    """Three years of returns from Leicester and Blaby, analysed: in Leicester vehicle crime
    rises each year while burglary falls as much, so acquisitive crime is flat; violence is
    police violence and sexual offences, weapons possession and assault admissions, and the
    plan targets "violence with injury"."""
    for k in range(-11, 1):
        quarter, year = LAST.shift(k), (k + 11) // 4
        crimes = [row for category, per_year in YEARS.items() for row in spread(category, quarter, per_year[year])]
        crimes += (spread("Violence and sexual offences", quarter, 40) + spread("Possession of weapons", quarter, 3)
                   + spread("Burglary", quarter, 20, lsoa=B1))
        stage_events(workspace, tmp_path, "police_crimes", crimes, quarter=quarter)
        stage_events(workspace, tmp_path, "police_incidents", spread("Anti-social behaviour", quarter, 30)
                     + spread("Anti-social behaviour", quarter, 12, lsoa=B1), quarter=quarter)
        stage_events(workspace, tmp_path, "hospital_admissions",
                     spread("assault_X85_Y09", quarter, 5, lsoa=None, outward="LE1"), quarter=quarter)
        stage_events(workspace, tmp_path, "domestic_abuse_admissions",
                     spread("Maltreatment by spouse or partner", quarter, 2, lsoa=None, outward="LE1"),
                     quarter=quarter)
    workspace.partnership_dir.mkdir(parents=True, exist_ok=True)
    (workspace.partnership_dir / "plan.csv").write_text(
        "csp_code,priority_theme,measure,baseline_period,target_change_pct\n"
        f"{LEICESTER},violence,{PLAN_VIOLENCE},2022Q2-2023Q1,-5\n")
    engine, _ = build(workspace)
    from csp.analysis.run import run_all

    run_all(workspace, period=PERIOD)
    yield engine
    engine.dispose()


def rendered_products(conn, settings, tmp_path) -> dict[str, str]:
    """The visible text of the strategic and tactical assessments and public summaries of
    Leicester and Blaby, and of Leicestershire's county roll-up, as the pipeline renders them."""
    from csp.geography import partnerships
    from csp.reports import county_context
    from csp.reports.public_summary import public_summary, render_public_summary
    from csp.reports.strategic import strategic_assessment
    from csp.reports.tactical import tactical_assessment
    from csp.templating import render

    served = {p.code: p for p in partnerships(settings.reference_dir, PFA)}
    pages = {}
    for code in (LEICESTER, BLABY):
        p = served[code]
        pages[("strategic", code)] = render(
            "strategic_assessment.html.j2",
            strategic_assessment(conn, p, PERIOD, settings.reference_dir, settings.partnership_dir),
            tmp_path / f"strategic_{code}.html")
        pages[("tactical", code)] = render("tactical_assessment.html.j2",
                                           tactical_assessment(conn, p, PERIOD, settings.partnership_dir),
                                           tmp_path / f"tactical_{code}.html")
        pages[("public_summary", code)] = render_public_summary(public_summary(conn, p, PERIOD),
                                                                tmp_path / f"public_{code}.html")
    districts = [p for p in served.values() if p.county_code == COUNTY]
    pages[("county", COUNTY)] = render("county_rollup.html.j2",
                                       county_context(conn, (COUNTY, "Leicestershire"), districts, PERIOD),
                                       tmp_path / "county.html")
    return {key: visible(re.sub(r"<svg.*?</svg>", "", path.read_text(), flags=re.S)) for key, path in pages.items()}


def source_events_sql(conn, csp_codes: list[str]) -> dict[str, tuple[int, int]]:
    """Per dataset: in-area events of the period's 12 months and of the 12 before."""
    frame = pd.read_sql(sa.text(
        "SELECT dataset, SUM(CASE WHEN month >= :s THEN events ELSE 0 END) AS now, "
        "SUM(CASE WHEN month < :s THEN events ELSE 0 END) AS before FROM marts.monthly_counts "
        "WHERE csp_code IN :c AND area_status = 'in_area' AND month BETWEEN :p AND :e GROUP BY dataset"
    ).bindparams(sa.bindparam("c", expanding=True)), conn,
        params={"c": csp_codes, "s": PERIOD.quarters[0].start, "p": PERIOD.quarters[0].shift(-4).start,
                "e": PERIOD.last.months[-1]})
    return {d: (int(n), int(b)) for d, n, b in frame.itertuples(index=False)}


def test_every_products_headline_counts_each_source_apart_and_equals_the_marts(analysed, workspace, tmp_path):
    from csp.geography import partnerships
    from csp.reports.counting import counted
    from csp.reports.strategic import strategic_assessment

    leicester = next(p for p in partnerships(workspace.reference_dir, PFA) if p.code == LEICESTER)
    with analysed.connect() as conn:
        pages = rendered_products(conn, workspace, tmp_path)
        districts = [c for (c,) in conn.execute(sa.text(
            "SELECT DISTINCT csp_code FROM core.dim_geography WHERE county_code = :c"), {"c": COUNTY})]
        expected = {LEICESTER: source_events_sql(conn, [LEICESTER]), BLABY: source_events_sql(conn, [BLABY]),
                    COUNTY: source_events_sql(conn, districts)}
        context = strategic_assessment(conn, leicester, PERIOD, workspace.reference_dir, workspace.partnership_dir)
    assert len(expected[LEICESTER]) == 4 and len(expected[BLABY]) == 2  # four sources; Blaby has two
    assert not {"total_current", "total_previous"} & context.keys()
    for (kind, code), page in pages.items():
        sources = expected[code]
        unlike_sum = sum(now for now, _ in sources.values())
        if kind == "public_summary":  # published through disclosure control: police crime exactly, the rest by theme
            now, before = sources["police_crimes"]
            assert (f"Crimes recorded by the police: {now:,} in the last twelve months, against {before:,} in the "
                    "twelve before.") in page, (kind, code)
            others = [counted(d) for d in sorted(sources) if d != "police_crimes"]
            assert f"not added into one total: {'; '.join(others)}." in page, (kind, code)
        else:
            for dataset, (now, before) in sources.items():
                noun = counted(dataset)
                assert f" {noun[:1].upper()}{noun[1:]} {now:,} {before:,} " in page, (kind, code, dataset)
        first = "Recorded by each source" if kind != "public_summary" else "Crimes recorded by the police:"
        headline = page[page.index(first):][:1500]
        assert not re.search(rf"\b{unlike_sum:,}\b", headline), (kind, code, unlike_sum)  # no sum of sources
        assert "crime, disorder and harm events" not in page


def test_the_theme_membership_sentence_is_the_same_in_every_product_and_true(analysed, workspace, tmp_path):
    from csp.reports import queries
    from csp.reports.counting import THEME_MEMBERSHIP

    with analysed.connect() as conn:
        pages = rendered_products(conn, workspace, tmp_path)
        # true: one theme per category, each event counted once, so a source's themes add up to it
        themes_per_category = conn.execute(sa.text(
            "SELECT MAX(n) FROM (SELECT COUNT(DISTINCT theme) AS n FROM marts.monthly_counts "
            "GROUP BY dataset, category)")).scalar()
        counted_once = conn.execute(sa.text(
            "SELECT (SELECT SUM(events) FROM marts.monthly_counts), (SELECT COUNT(*) FROM core.fact_event)")).one()
        secondary = conn.execute(sa.text(
            "SELECT COUNT(*) FROM core.category_themes WHERE NOT is_primary")).scalar()
        by_theme = queries.theme_year_counts(conn, [LEICESTER], PERIOD)["current_year"].sum()
        by_source = sum(now for now, _ in source_events_sql(conn, [LEICESTER]).values())
    assert themes_per_category == 1 and counted_once[0] == counted_once[1] and by_theme == by_source
    assert secondary > 0  # the secondary rules exist (the domestic-abuse admission), and count nowhere
    assert len(pages) == 7
    for key, page in pages.items():
        assert THEME_MEMBERSHIP in page, key
        assert "more than one theme" not in page and "under two themes" not in page, key


def test_the_public_summary_describes_each_theme_by_its_own_rules():
    """A police crime type named in a theme's description belongs to that theme (robbery is
    acquisitive crime, not violence)."""
    from csp.reports.public_summary import THEME_DESCRIPTIONS
    from csp.themes import THEME_RULES

    for dataset, pattern, theme in THEME_RULES:
        if dataset != "police_crimes":
            continue
        named = [t for t, words in THEME_DESCRIPTIONS.items() if pattern.lower() in words.lower()]
        assert set(named) <= {theme}, (pattern, theme, named)


# --- A theme's figure is reconciled to its sources; the plan measure says what it counts (error 5)


def violence_sql(conn) -> dict[tuple[str, str], int]:
    frame = pd.read_sql(sa.text(
        "SELECT dataset, category, SUM(events) AS events FROM marts.monthly_counts WHERE csp_code = :c "
        "AND theme = 'violence' AND area_status = 'in_area' AND month BETWEEN :s AND :e GROUP BY dataset, category"),
        conn, params={"c": LEICESTER, "s": PERIOD.quarters[0].start, "e": PERIOD.last.months[-1]})
    return {(d, c): int(e) for d, c, e in frame.itertuples(index=False)}


def test_a_themes_figure_is_reconciled_to_the_sources_it_adds(analysed, workspace):
    from csp.geography import partnerships
    from csp.reports.strategic import strategic_assessment

    leicester = next(p for p in partnerships(workspace.reference_dir, PFA) if p.code == LEICESTER)
    with analysed.connect() as conn:
        context = strategic_assessment(conn, leicester, PERIOD, workspace.reference_dir, workspace.partnership_dir)
        parts = violence_sql(conn)
    vso = parts[("police_crimes", "Violence and sexual offences")]
    weapons = parts[("police_crimes", "Possession of weapons")]
    admissions = parts[("hospital_admissions", "assault_X85_Y09")]
    chapter = next(c for c in context["chapters"] if c["theme"] == "violence")
    assert chapter["current"] == vso + weapons + admissions == sum(parts.values())
    police = next(x for x in chapter["cross_agency"] if x["measure"] == "police recorded violence and sexual offences")
    assert police["current_12m"] == vso  # the figure printed beside the theme's
    page = render_chapter(chapter)
    assert (f"one incident can reach more than one source): {chapter['current']:,} = crimes recorded by the police "
            f"{vso + weapons:,} (Violence and sexual offences {vso:,}, Possession of weapons {weapons:,}) + hospital "
            f"admissions (assault, alcohol, drugs) {admissions:,} (assault_X85_Y09 {admissions:,}).") in page, page


def test_the_plan_measure_says_what_it_counts(analysed, workspace, tmp_path):
    from csp.analysis.plan_progress import events_for
    from csp.geography import partnerships
    from csp.reports.strategic import strategic_assessment
    from csp.reports.tactical import tactical_assessment

    leicester = next(p for p in partnerships(workspace.reference_dir, PFA) if p.code == LEICESTER)
    with analysed.connect() as conn:
        strategic = strategic_assessment(conn, leicester, PERIOD, workspace.reference_dir, workspace.partnership_dir)
        tactical = tactical_assessment(conn, leicester, PERIOD, workspace.partnership_dir)
        vso = violence_sql(conn)[("police_crimes", "Violence and sexual offences")]
    counted = events_for("violence").description
    assert "violence and sexual offences" in counted and "do not separate violence with injury" in counted
    [plan] = strategic["plan"]
    theme = next(c["current"] for c in strategic["chapters"] if c["theme"] == "violence")
    assert plan["measure"] == PLAN_VIOLENCE and plan["events_4q"] == vso < theme  # not the whole theme
    table = visible(str(environment().get_template("macros.html.j2").module.plan_table(strategic["plan"])))
    assert "Measure (the plan's words) What is counted" in table
    assert f"Violence {PLAN_VIOLENCE} {counted} " in table, table
    [fytd] = tactical["fytd"]
    assert fytd["counted"] == counted and fytd["events"] == vso  # the financial year is the period's 12 months
    template = environment().loader.get_source(environment(), "tactical_assessment.html.j2")[0]
    assert "<td>{{ p.measure }}</td><td>{{ p.counted }}</td>" in template


# --- The county's district rates say what they count and what they leave out (error 10) -----

LEICESTERSHIRE, HINCKLEY = "E10000018", "E22000167"
H1 = "E01025836"  # an LSOA of Hinckley and Bosworth


@pytest.fixture
def two_districts(workspace, tmp_path):
    """Violence in two Leicestershire districts: police crimes located to an LSOA, hospital
    admissions located by outward code (LE19 falls to Blaby, LE10 to Hinckley and Bosworth by
    the centroid rule) and a health counts return by district and outward code."""
    stage_events(workspace, tmp_path, "police_crimes",
                 rows("Violence and sexual offences", B1, date(2024, 1, 5), 4)
                 + rows("Violence and sexual offences", H1, date(2024, 2, 5), 3), quarter=LAST)
    stage_events(workspace, tmp_path, "hospital_admissions",
                 [{"category": "assault_X85_Y09", "outward": "LE19", "date": date(2024, 2, 5)}] * 2
                 + [{"category": "assault_X85_Y09", "outward": "LE10", "date": date(2024, 3, 5)}] * 5, quarter=LAST)
    stage_counts(workspace, tmp_path, [("persons_in_drug_treatment", "E07000129", "district", 60),
                                       ("mental_illness_op_first_attendances", "LE10", "outward_postcode", 9)])
    engine, _ = build(workspace)
    yield engine
    engine.dispose()


def test_the_county_rates_say_they_count_lsoa_located_events_and_name_what_they_leave_out(two_districts):
    from csp.reports.county import districts_compared

    names = {BLABY: "Blaby", HINCKLEY: "Hinckley and Bosworth"}
    with two_districts.connect() as conn:
        compared = districts_compared(conn, LEICESTERSHIRE, names, PERIOD)
        located, unlocated, residents = (pd.read_sql(sa.text(
            "SELECT csp_code, SUM(CASE WHEN lsoa11_code IS NOT NULL THEN events END) AS located, "
            "SUM(CASE WHEN lsoa11_code IS NULL THEN events END) AS unlocated, "
            "(SELECT SUM(population) FROM core.dim_geography g WHERE g.csp_code = m.csp_code AND in_area) AS residents "
            "FROM marts.monthly_counts m WHERE theme = 'violence' AND area_status = 'in_area' "
            "AND month BETWEEN :s AND :e GROUP BY csp_code"),
            conn, params={"s": PERIOD.quarters[0].start, "e": PERIOD.last.months[-1]}).set_index("csp_code")[c]
            for c in ("located", "unlocated", "residents"))
        counts = conn.execute(sa.text("SELECT COUNT(*) FROM core.fact_count WHERE csp_code IN (:b, :h) "
                                      "AND area_status = 'in_area'"), {"b": BLABY, "h": HINCKLEY}).scalar()
    assert located.to_dict() == {BLABY: 4, HINCKLEY: 3} and unlocated.to_dict() == {BLABY: 2, HINCKLEY: 5}
    assert counts == 2
    assert compared["rate_columns"][:2] == ["Blaby", "Hinckley and Bosworth"]
    rows = {r["theme_name"]: r for r in compared["rates"]}
    violence = rows["Violence"]
    for i, code in enumerate((BLABY, HINCKLEY)):  # the numerator is the LSOA-located events only
        assert violence["values"][i] == pytest.approx(1000 * located[code] / residents[code])
    assert violence["left_out"] == f"hospital admissions: {unlocated.sum()} located to an outward postcode"
    assert rows["Drugs and alcohol-related harm"]["left_out"] == (
        "persons in drug treatment: 1 area count by district (counts, not events)")
    assert all(pd.isna(v) for v in rows["Mental health"]["values"])  # counts only: no rate, but a row saying so
    assert rows["Mental health"]["left_out"].startswith("mental illness op first attendances: 1 area count by outward")

    page = visible(environment().get_template("county_rollup.html.j2").render(
        county_name="Leicestershire", districts=list(names.values()), period_start=PERIOD.quarters[0].start,
        period_end=PERIOD.last.months[-1], shared=[], shared_by=2, escalated=[], totals=[], quarters=[],
        compliance=[], chart=None, published_on=date(2024, 5, 1), **compared))
    assert "Events located to a neighbourhood (LSOA) per 1,000 residents, 12 months to March 2024" in page
    assert "Not in these rates" in page and "hospital admissions: 7 located to an outward postcode" in page
    assert "Mental health n/a n/a n/a mental illness op first attendances: 1 area count" in page, page


# --- Themes that say what they count (error 8) -----------------------------------------------

COLLISION = {"category": "Serious", "lsoa": B1, "date": date(2024, 2, 14), "serious_adults": 2, "slight_adults": 1}


@pytest.fixture
def road_danger(workspace, tmp_path):
    """One injury collision in Blaby reported twice, as STATS19's record and as the police RTC
    incident, and a damage-only collision (no injury: the police record only) elsewhere in Blaby;
    two slight collisions in Leicester."""
    stage_events(workspace, tmp_path, "road_collisions",
                 [COLLISION, {"category": "Slight", "lsoa": L1, "date": date(2024, 3, 2), "slight_adults": 1},
                  {"category": "Slight", "lsoa": L1, "date": date(2024, 3, 9), "slight_adults": 2}], quarter=LAST)
    stage_events(workspace, tmp_path, "police_incidents",
                 [{**COLLISION, "category": "RTC / Incident - Injury"},
                  {"category": "RTC / Incident - Damage Only", "lsoa": B1, "date": date(2024, 1, 20)}], quarter=LAST)
    engine, _ = build(workspace)
    yield engine
    engine.dispose()


def test_a_collision_reported_by_stats19_and_the_police_counts_once_in_road_danger(road_danger):
    from csp.reports import queries

    with road_danger.connect() as conn:
        themes = queries.theme_year_counts(conn, [BLABY], PERIOD).set_index("theme")
        marts_road = pd.read_sql(sa.text(
            "SELECT dataset, category, SUM(events) AS events FROM marts.monthly_counts WHERE csp_code = :c "
            "AND theme = 'road_danger' AND area_status = 'in_area' GROUP BY dataset, category ORDER BY dataset"),
            conn, params={"c": BLABY})
        bridge = pd.read_sql(sa.text("SELECT theme, is_primary FROM core.category_themes "
                                     "WHERE category = 'RTC / Incident - Injury'"), conn)
    # the injury collision once (STATS19) and the damage-only collision, which STATS19 never holds
    assert marts_road.to_dict("records") == [
        {"dataset": "police_incidents", "category": "RTC / Incident - Damage Only", "events": 1},
        {"dataset": "road_collisions", "category": "Serious", "events": 1}]
    assert themes.loc["road_danger", "current_year"] == 2
    assert themes.loc["public_safety", "current_year"] == 1  # the police incident: still a police incident
    assert dict(zip(bridge["theme"], bridge["is_primary"], strict=True)) == {"public_safety": True,
                                                                             "road_danger": False}


def test_road_dangers_priority_volume_is_its_killed_or_seriously_injured(road_danger):
    from csp.analysis.plan_progress import ksi_by_month
    from csp.analysis.priority_inputs import priority_inputs, priority_tables
    from csp.analysis.run import monthly_by_csp

    empty = pd.DataFrame(columns=["csp_code", "theme", "share_concerned", "capacity_rating"])
    with road_danger.connect() as conn:
        monthly, ksi = monthly_by_csp(conn), ksi_by_month(conn)
        ksi_sql = dict(conn.execute(sa.text(
            "SELECT f.csp_code, SUM(COALESCE(r.killed_adults, 0) + COALESCE(r.killed_children, 0) "
            "+ COALESCE(r.serious_adults, 0) + COALESCE(r.serious_children, 0)) "
            "FROM core.fact_event f JOIN staging.road_collisions r ON r.return_id = f.return_id "
            "AND r.source_line = f.source_line WHERE f.area_status = 'in_area' GROUP BY f.csp_code")).all())
    inputs = priority_inputs(monthly, pd.DataFrame(), pd.DataFrame(columns=["csp_code", "theme", "harm"]),
                             empty, empty, pd.Timestamp(PERIOD.last.months[-1]), ksi).set_index(["csp_code", "theme"])
    assert ksi_sql == {BLABY: 2, LEICESTER: 0}
    assert inputs.loc[(BLABY, "road_danger"), "volume"] == 2  # two seriously injured, not two collisions
    assert inputs.loc[(LEICESTER, "road_danger"), "volume"] == 0  # two collisions, three slightly injured
    _, audit = priority_tables(inputs.reset_index(), {})
    band = audit[(audit["csp_code"] == BLABY) & (audit["theme"] == "road_danger") & (audit["factor"] == "volume")]
    assert band["band"].iloc[0].startswith("killed or seriously injured casualties: quintile")


@pytest.fixture
def exclusions_and_public_safety(workspace, tmp_path):
    """A year of data: 30 exclusions recorded at one school's LSOA in Leicester; police crimes
    and incidents that count under public safety; a crime a year back, so the window is complete."""
    stage_events(workspace, tmp_path, "police_crimes", rows("Burglary", B1, date(2023, 4, 10), 1),
                 quarter=LAST.shift(-3))
    stage_events(workspace, tmp_path, "school_exclusions",
                 rows("Persistent disruptive behaviour", L1, date(2024, 2, 7), 30), quarter=LAST)
    stage_events(workspace, tmp_path, "police_crimes",
                 rows("Public order", L1, date(2024, 1, 5), 5) + rows("Other crime", L1, date(2024, 1, 6), 1),
                 quarter=LAST)
    stage_events(workspace, tmp_path, "police_incidents",
                 rows("Abandoned Call", L1, date(2024, 2, 1), 4) + rows("Alarm Calls", L1, date(2024, 2, 1), 2)
                 + rows("Concern for Safety", L1, date(2024, 2, 1), 1) + rows("Missing Person", L1, date(2024, 2, 1), 1)
                 + rows("RTC / Incident - Injury", L1, date(2024, 2, 1), 1), quarter=LAST)
    engine, _ = build(workspace)
    yield engine
    engine.dispose()


def test_exclusions_located_at_the_school_get_no_per_resident_rate_hotspot_or_map(exclusions_and_public_safety,
                                                                                 workspace):
    from csp.analysis.run import hotspot_table
    from csp.reports import queries

    end = PERIOD.last.months[-1]
    with exclusions_and_public_safety.connect() as conn:
        rated = pd.read_sql(sa.text("SELECT DISTINCT theme FROM marts.area_rates WHERE period_end = :e AND events > 0"),
                            conn, params={"e": end})["theme"]
        hot = hotspot_table(conn, pd.Timestamp(end), workspace.reference_dir)
        sources = queries.source_theme_counts(conn, [LEICESTER], PERIOD)
    assert set(rated) == {"acquisitive", "public_safety"}  # the exclusions are in no per-resident rate
    assert "public_safety" in set(hot["theme"]) and "young_people" not in set(hot["theme"])
    from csp.reports.chapters import institution_note

    note = institution_note(sources[sources["theme"] == "young_people"])
    assert note == ("Not mapped or tested for hotspots: 30 school exclusions are located at the school, not where "
                    "the people concerned live, so a rate per resident of the school's neighbourhood would show "
                    "where the institution is, not where the problem is.")
    page = render_chapter(chapter_context(theme="young_people", theme_name="Young people at risk", current=30,
                                          place_note=note, place_tested=False))
    assert note in page and "No neighbourhood is a significant hotspot" not in page

    from csp.reports.county import districts_compared

    with exclusions_and_public_safety.connect() as conn:
        county = districts_compared(conn, LEICESTERSHIRE, {BLABY: "Blaby"}, PERIOD)
        leicester = queries.rates_left_out(conn, [LEICESTER], PERIOD)
    assert "Young people at risk" not in {r["theme_name"] for r in county["rates"]}  # none in Blaby
    assert leicester[leicester["theme"] == "young_people"][["source", "located", "n"]].to_dict("records") == [
        {"source": "school_exclusions", "located": "institution", "n": 30}]


def test_the_public_safety_chapter_shows_what_it_counts_by_source_and_category(exclusions_and_public_safety):
    from csp.reports import queries
    from csp.reports.chapters import composition_words

    with exclusions_and_public_safety.connect() as conn:
        sources = queries.source_theme_counts(conn, [LEICESTER], PERIOD)
        by_sql = dict(conn.execute(sa.text(
            "SELECT dataset, SUM(events) FROM marts.monthly_counts WHERE theme = 'public_safety' AND csp_code = :c "
            "AND area_status = 'in_area' AND month BETWEEN :s AND :e GROUP BY dataset"),
            {"c": LEICESTER, "s": PERIOD.quarters[0].start, "e": PERIOD.last.months[-1]}).all())
    assert by_sql == {"police_incidents": 9, "police_crimes": 6}
    composition = composition_words(sources[sources["theme"] == "public_safety"])
    assert composition == ("incidents recorded by the police (ASB, public safety and welfare, transport) 9 "
                           "(Abandoned Call 4, Alarm Calls 2, Concern for Safety 1, 2 more categories 2) + crimes "
                           "recorded by the police 6 (Public order 5, Other crime 1)")
    page = render_chapter(chapter_context(theme="public_safety", theme_name="Public safety and welfare", current=15,
                                          composition=composition))
    assert (f"What it counts (12 months, by source and category, largest first; each source counts its own records, "
            f"and one incident can reach more than one source): 15 = {composition}.") in page


# --- A category's signal is in its theme's chapter, as on page 1 (error 6) --------------------


def test_a_category_rise_inside_a_flat_theme_is_in_its_chapter_with_its_trend_as_on_page_1(
        analysed, workspace, tmp_path):
    from csp.geography import partnerships
    from csp.reports.strategic import strategic_assessment

    leicester = next(p for p in partnerships(workspace.reference_dir, PFA) if p.code == LEICESTER)
    with analysed.connect() as conn:
        context = strategic_assessment(conn, leicester, PERIOD, workspace.reference_dir, workspace.partnership_dir)
        page = rendered_products(conn, workspace, tmp_path)[("strategic", LEICESTER)]
        years = dict(conn.execute(sa.text(
            "SELECT CASE WHEN month >= :y3 THEN 3 WHEN month >= :y2 THEN 2 ELSE 1 END, SUM(events) "
            "FROM marts.monthly_counts WHERE csp_code = :c AND category = 'Vehicle crime' AND area_status = 'in_area' "
            "GROUP BY 1"), {"c": LEICESTER, "y3": PERIOD.quarters[0].start, "y2": PERIOD.quarters[0].shift(-4).start}
        ).all())
    assert [years[1], years[2], years[3]] == [per_quarter * 4 for per_quarter in YEARS["Vehicle crime"]]
    first, before, now = years[1], years[2], years[3]
    rise = (f"from {before:,} to {now:,} in the last 12 months ({100 * (now - before) / before:+.0f}%, q < 0.001), a "
            f"statistically significant change; over 3 years ({first}, {before}, {now}) it has risen by about ")
    finding = next(f for f in context["key_findings"] if f.startswith("Vehicle crime"))
    assert finding.startswith(f"Vehicle crime (Acquisitive crime) rose {rise}"), finding
    chapter = next(c for c in context["chapters"] if c["theme"] == "acquisitive")
    assert not chapter["change_significant"]  # the theme is flat: burglary fell as vehicle crime rose
    sentences = chapter["categories"]["sentences"]
    assert sentences[0] == finding.replace(" (Acquisitive crime)", "")  # the same words, figures and tests
    assert any(s.startswith("Burglary fell from") for s in sentences)
    text = page.split("Acquisitive crime as a whole shows no clear change, but within it:", 1)
    assert len(text) == 2 and text[1].lstrip().startswith(f"Vehicle crime rose {rise}"), page
    theme_lead = text[0].rsplit("Acquisitive crime", 1)[1]
    assert "No clear change: a difference this size could arise by chance" in theme_lead
    assert " no change" not in page.lower().replace("no clear change", "")
