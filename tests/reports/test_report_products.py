"""Every report type rendered for the synthetic partnership (tests/support/synthetic_partnership.py),
asserting the content that matters: the planted priority leads the recommendations, the
planted hotspot LSOAs are named, the withheld return shows in the compliance matrix, and the
figures in the text equal the marts."""
from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager

import pandas as pd
import pytest
import sqlalchemy as sa
from support.synthetic_partnership import AS_OF, WITHHELD

from csp import clock
from csp.reports.counting import counted
from csp.synth import signals

pytestmark = pytest.mark.slow
LEICESTERSHIRE = "E10000018"


@pytest.fixture(scope="module")
def rendered(analysed_partnership):
    from csp.reports import render_all

    started = time.monotonic()
    with clock.frozen(AS_OF):
        summary = render_all(analysed_partnership)
    seconds = time.monotonic() - started
    print(f"\nrendered {len(summary.written)} reports (HTML + PDF) in {seconds:.1f} s, "
          f"{seconds / max(len(summary.written), 1):.2f} s per report")
    return summary


def html(settings, kind: str, subject: str) -> str:
    paths = sorted((settings.out_dir / kind).rglob(f"{subject}.html"))
    assert len(paths) == 1, (kind, subject, paths)
    return paths[0].read_text()


def text(page: str) -> str:
    """The visible text of a page, whitespace collapsed (enough for content assertions)."""
    page = re.sub(r"<(style|svg|nav)\b.*?</\1>", " ", page, flags=re.S)  # the contents list repeats the headings
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


@contextmanager
def warehouse(settings):
    """A connection that is closed and disposed after use: DuckDB refuses a second engine on
    the same file while one stays open with another configuration."""
    from csp.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def test_every_report_type_is_written_for_every_partnership(analysed_partnership, rendered):
    out = analysed_partnership.out_dir
    for kind in ("strategic", "public_summary", "tactical"):
        assert len(list((out / kind).rglob("E*.html"))) == 9, kind
        assert len(list((out / kind).rglob("E*.pdf"))) == 9, kind
    assert [p.stem for p in (out / "county").rglob("*.html")] == [LEICESTERSHIRE]
    assert (out / "index.html").exists()
    manifest = json.loads(next((out / "tactical").rglob(f"{signals.TREND_CSP}.json")).read_text())
    assert manifest["kind"] == "tactical" and manifest["quarters"][-1] == "2025Q4"


def test_planted_priority_leads_the_recommendations(analysed_partnership, rendered):
    page = text(html(analysed_partnership, "strategic", signals.TREND_CSP))
    summary = page.split("Recommended priorities", 1)[1].split("Key findings", 1)[0]
    first = re.search(r"1\.?\s*(\S[^(]*?)\s*\(score", summary) or re.search(r"^\s*(\S[^(]*?)\s*\(score", summary)
    assert first and first.group(1).strip() == "Acquisitive crime", summary[:300]
    recommendations = page.split("Recommendations", 1)[1]
    assert recommendations.strip().startswith("Acquisitive crime"), recommendations[:200]


def test_planted_hotspot_lsoas_are_named(analysed_partnership, rendered):
    page = html(analysed_partnership, "strategic", signals.HOTSPOT_CSP)
    manifest = json.loads((analysed_partnership.data_dir / "manifest.json").read_text())
    planted = manifest["signals"]["hotspot"]["lsoa_codes"]
    chapter = text(page).split("Acquisitive crime", 1)[1]
    named = set(re.findall(r"E010\d{5}", chapter.split("Hotspots", 1)[1].split("Across years", 1)[1][:3000]))
    assert len(set(planted) & named) >= 4, (planted, named)


def test_compliance_matrix_shows_the_withheld_return(analysed_partnership, rendered):
    dataset, quarter = WITHHELD
    page = html(analysed_partnership, "strategic", signals.TREND_CSP)
    matrix = page.split('id="coverage"', 1)[1].split("</table>", 1)[0]
    header = re.findall(r"<th[^>]*>(.*?)</th>", matrix)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", matrix, re.S)]
    asb = [cells for cells in rows if cells and cells[2].startswith("ASB incidents identified")]
    assert [cells[header.index(quarter)] for cells in asb] == ["not received"]
    others = [cells[header.index(quarter)] for cells in rows if cells and cells[2] != asb[0][2]]
    assert "not received" not in others  # only the withheld return is missing
    assert "Provisional" in page and f"council asb from local authority, {quarter} (not received)" in text(page)


def test_strategic_figures_equal_the_marts(analysed_partnership, rendered):
    page = text(html(analysed_partnership, "strategic", signals.TREND_CSP))
    with warehouse(analysed_partnership) as conn:
        by_source = conn.execute(sa.text("""
            SELECT dataset, SUM(events) FROM marts.monthly_counts
            WHERE csp_code = :csp AND area_status = 'in_area' AND month BETWEEN '2025-01-01' AND '2025-12-01'
            GROUP BY dataset
        """), {"csp": signals.TREND_CSP}).all()
        acquisitive = conn.execute(sa.text("""
            SELECT SUM(events) FROM marts.monthly_counts WHERE csp_code = :csp AND area_status = 'in_area'
              AND theme = 'acquisitive' AND month BETWEEN '2025-01-01' AND '2025-12-01'
        """), {"csp": signals.TREND_CSP}).scalar()
    summary = page.split("Recorded by each source", 1)[1].split("Recommended priorities", 1)[0]
    for dataset, events in by_source:  # one figure per source, never their sum (issue 16, error 4)
        noun = counted(dataset)
        assert f" {noun[:1].upper()}{noun[1:]} {int(events):,} " in summary, dataset
    assert f"{sum(int(e) for _, e in by_source):,}" not in summary
    assert f"{int(acquisitive):,} events in the last 12 months" in page.split("Acquisitive crime", 2)[2]


def test_tactical_assessment_carries_the_tasking_log(analysed_partnership, rendered):
    page = text(html(analysed_partnership, "tactical", signals.TREND_CSP))
    log = pd.read_csv(analysed_partnership.partnership_dir / "tasking_log.csv", dtype=str)
    mine = log[(log["csp_code"] == signals.TREND_CSP) & log["status"].isin(["open", "monitoring"])]
    assert len(mine) > 0
    for problem, owner in zip(mine["problem"], mine["owner"], strict=True):
        assert problem in page and owner in page
    assert "The quarter against its seasonal expectation" in page and "Recommended tasking requests" in page


def test_county_rollup_escalates_district_priorities(analysed_partnership, rendered):
    page = text(html(analysed_partnership, "county", LEICESTERSHIRE))
    with warehouse(analysed_partnership) as conn:
        districts = conn.execute(sa.text(
            "SELECT DISTINCT csp_name FROM core.dim_geography WHERE county_code = :c AND in_area"),
            {"c": LEICESTERSHIRE}).scalars().all()
    assert len(districts) == 7
    escalated = page.split("District priorities escalated to the county", 1)[1].split("County totals", 1)[0]
    for name in districts:
        assert name in escalated


def test_problem_profile_on_request(analysed_partnership, rendered):
    from csp.reports import render_report

    with clock.frozen(AS_OF):
        written = render_report(analysed_partnership, kind="problem_profile", theme="acquisitive",
                                area=signals.TREND_CSP)
    page = text(written[0].read_text())
    for step in ("Scanning", "Analysis", "Response", "Assessment"):
        assert step in page
    assert "Vehicle crime" in page
    with pytest.raises(ValueError, match="not a served partnership"), clock.frozen(AS_OF):
        render_report(analysed_partnership, kind="problem_profile", theme="acquisitive", area="E99999999")


def test_public_summaries_pass_the_disclosure_test(analysed_partnership, rendered):
    from support.disclosure_checks import assert_disclosure_safe

    pages = sorted((analysed_partnership.out_dir / "public_summary").rglob("E*.html"))
    assert len(pages) == 9
    for page in pages:
        assert assert_disclosure_safe(page.read_text()) >= 3, page.name


def test_every_report_type_opens_cleanly_in_chromium_and_as_pdf(analysed_partnership, rendered, tmp_path_factory):
    from support.report_form_checks import check_html_in_chromium, check_pdf, chromium, h2_headings, screenshot_dir

    shots = screenshot_dir(tmp_path_factory.mktemp("report-screenshots"))
    out = analysed_partnership.out_dir
    samples = [next((out / kind).rglob(f"{code}.html")) for kind, code in (
        ("strategic", signals.TREND_CSP), ("tactical", signals.TREND_CSP), ("public_summary", signals.TREND_CSP),
        ("county", LEICESTERSHIRE))] + [out / "index.html"]
    with chromium() as browser:
        for page in samples:
            found = check_html_in_chromium(page, shots, browser=browser)
            assert (found["external_requests"], found["failed_requests"], found["console_errors"],
                    found["page_errors"]) == (0, 0, 0, 0), (page, found["details"])
            assert found["screenshot"].exists()
    for page in samples[:-1]:
        sections = h2_headings(page)
        pdf = check_pdf(page.with_suffix(".pdf"), sections, png_dir=shots)
        assert pdf["outline"] == sections and not pdf["missing_headings"], page
        assert pdf["page1_png"].exists()
    print(f"\nreport screenshots: {shots}")


def test_every_report_reads_as_a_designed_document(analysed_partnership, rendered):
    """Over every PDF of the run: at most 10 % of pages more than half empty, no word broken
    inside a table header or cell, every PDF tagged (PDF/UA-1) with its bookmarks equal to its
    sections; every HTML kind (a problem profile too) passes axe-core at WCAG 2.2 AA with no
    violation."""
    from support.report_form_checks import (
        axe_violations, broken_table_words, chromium, h2_headings, page_fill, pdf_structure,
    )

    from csp.reports import render_report

    out = analysed_partnership.out_dir
    with clock.frozen(AS_OF):
        render_report(analysed_partnership, kind="problem_profile", theme="acquisitive", area=signals.TREND_CSP)
    pdfs = sorted(out.glob("*/*/*.pdf"))
    kinds = {"strategic", "tactical", "public_summary", "county", "problem_profile"}
    assert {p.parent.parent.name for p in pdfs} >= kinds
    pages, empty, broken, untagged = 0, [], {}, []
    for pdf in pdfs:
        fills = page_fill(pdf)
        pages += len(fills)
        empty += [f"{pdf.parent.parent.name}/{pdf.stem} p{i + 1}" for i, fill in enumerate(fills) if fill < 0.5]
        words = broken_table_words(pdf.with_suffix(".html"), pdf)
        if words:
            broken[f"{pdf.parent.parent.name}/{pdf.stem}"] = words
        structure = pdf_structure(pdf)
        sections = h2_headings(pdf.with_suffix(".html"))
        if not (structure["tagged"] and structure["lang"] and structure["figures_without_alt"] == 0
                and [t for level, t in structure["bookmarks"] if level == 1] == sections):
            untagged.append((pdf.name, structure["tagged"], structure["figures_without_alt"]))
    print(f"\n{len(pdfs)} PDFs, {pages} pages, {len(empty)} more than half empty ({len(empty) / pages:.1%}): {empty}")
    assert len(empty) <= 0.10 * pages, empty
    assert broken == {}
    assert untagged == []
    samples = [out / "index.html"] + [sorted((out / kind).rglob("*.html"))[0] for kind in
                                      ("strategic", "tactical", "public_summary", "county", "problem_profile")]
    with chromium() as browser:
        violations = {page.relative_to(out).as_posix(): axe_violations(page, browser=browser) for page in samples}
    assert all(v == [] for v in violations.values()), violations
