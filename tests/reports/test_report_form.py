"""Form of the reports: the HTML is self-contained in headless Chromium, the PDF has the same
sections, and the index lists every report. Run on a report built from the real base template
and stylesheet with an inline SVG chart and an inline PNG, as every report type carries them."""
from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from pathlib import Path

import pytest

from support.report_form_checks import check_html_in_chromium, check_pdf, chromium, h2_headings, screenshot_dir

SECTIONS = ["Executive summary", "Violence against the person", "Data coverage and quality"]


def tiny_png(rgb=(0, 114, 178)) -> bytes:
    """A 4x4 PNG of one colour, built with zlib so the test needs no image library."""
    raw = b"".join(b"\x00" + bytes(rgb) * 4 for _ in range(4))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


REPORT = """{% extends "base.html.j2" %}
{% block title %}Strategic assessment: Blaby (Apr 2023 to Mar 2024){% endblock %}
{% block heading %}Strategic assessment: Blaby Community Safety Partnership{% endblock %}
{% block subtitle %}April 2023 to March 2024{% endblock %}
{% block content %}
<h2>Executive summary</h2>
<p>In the twelve months to March 2024 the partners recorded <strong>12,345</strong> events.</p>
<h2>Violence against the person</h2>
<p><span class="rank">priority rank 1</span></p>
<figure>
<svg xmlns="http://www.w3.org/2000/svg" width="480" height="220" viewBox="0 0 480 220" role="img" aria-labelledby="t1">
<title id="t1">Violence against the person per month, events</title>
<line x1="40" y1="190" x2="470" y2="190" stroke="#333"/><line x1="40" y1="10" x2="40" y2="190" stroke="#333"/>
<polyline fill="none" stroke="#0072B2" stroke-width="2" points="40,150 120,120 200,130 280,90 360,70 440,40"/>
<text x="255" y="212" font-size="11" text-anchor="middle">Month</text>
<text x="12" y="100" font-size="11" transform="rotate(-90 12 100)">Events</text>
</svg>
<figcaption>Source: police recorded crime returns.</figcaption>
</figure>
<h3>Hotspots</h3>
<table><thead><tr><th>LSOA</th><th class="num">Events</th></tr></thead>
<tbody>{% for i in range(60) %}
<tr><td>E0100{{ 5000 + i }}</td><td class="num">{{ 100 - i }}</td></tr>{% endfor %}</tbody></table>
<h2>Data coverage and quality</h2>
<p><img alt="Legend swatch" src="data:image/png;base64,{{ png }}"></p>
{% endblock %}
"""


@pytest.fixture(scope="session")
def shots(tmp_path_factory, request):
    """Where the screenshots go; the folder is printed at the end of the run."""
    folder = screenshot_dir(tmp_path_factory.mktemp("screenshots"))
    yield folder
    # Printed past pytest's output capture so that it shows on a passing run too.
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\nreport screenshots: {folder}")


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def write_report(folder: Path, body: str = REPORT, name: str = "E22000164") -> Path:
    from csp.templating import environment, with_contents

    path = folder / "strategic" / "2023-04_to_2024-03" / f"{name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    png = base64.b64encode(tiny_png()).decode()
    path.write_text(with_contents(environment().from_string(body).render(png=png)), encoding="utf-8")
    return path


def test_report_html_is_self_contained_in_chromium(tmp_path, browser, shots):
    from PIL import Image

    result = check_html_in_chromium(write_report(tmp_path), shots, browser=browser)

    assert result["loaded"]
    assert (result["external_requests"], result["failed_requests"], result["console_errors"],
            result["page_errors"]) == (0, 0, 0, 0), result["details"]
    with Image.open(result["screenshot"]) as shot:
        assert shot.size == (1024, 1448)
        # not a blank page: the heading, text and chart put many distinct colours on it
        assert len(shot.convert("RGB").getcolors(maxcolors=1 << 16) or range(1 << 16)) > 20


def test_external_image_is_a_network_request_failure(tmp_path, browser, shots):
    path = write_report(tmp_path, REPORT.replace(
        '<h2>Executive summary</h2>', '<h2>Executive summary</h2><img alt="x" src="http://example.invalid/x.png">'))

    result = check_html_in_chromium(path, shots, browser=browser)

    assert result["details"]["external"] == ["http://example.invalid/x.png"]
    assert result["failed_requests"] == 1 and "example.invalid" in result["details"]["failed"][0]
    assert result["console_errors"] == 1  # Chromium's "Failed to load resource"


def test_script_error_is_a_page_error(tmp_path, browser, shots):
    path = write_report(tmp_path,
                        REPORT.replace("<h2>Data coverage", "<script>undefinedFunction()</script><h2>Data coverage"))

    result = check_html_in_chromium(path, shots, browser=browser)

    assert result["page_errors"] == 1 and "undefinedFunction" in result["details"]["page"][0]
    assert result["external_requests"] == 0


def test_pdf_has_the_same_sections_title_and_a_first_page(tmp_path, shots):
    from csp.reports.pdf import write_pdf

    html = write_report(tmp_path)
    assert h2_headings(html) == SECTIONS

    pdf = write_pdf(html)
    result = check_pdf(pdf, h2_headings(html), shots)

    assert pdf == html.with_suffix(".pdf")
    assert result["title"] == "Strategic assessment: Blaby (Apr 2023 to Mar 2024)"
    assert result["outline"] == SECTIONS  # h3 "Hotspots" is nested, the h1 is the title
    assert result["missing_headings"] == []
    assert result["pages"] >= 2  # the 60-row table runs onto a second A4 page
    assert result["page1_png"].stat().st_size > 1000


def test_pdf_check_reports_a_missing_section(tmp_path, shots):
    from csp.reports.pdf import write_pdf

    result = check_pdf(write_pdf(write_report(tmp_path)), [*SECTIONS, "Recommendations"], shots)

    assert result["missing_headings"] == ["Recommendations"]
    assert len(result["outline"]) == 3


@pytest.mark.parametrize("reference", ['<img alt="x" src="http://example.invalid/x.png">',
                                       '<img alt="x" src="chart.png">',
                                       '<link rel="stylesheet" href="https://example.invalid/x.css">'])
def test_pdf_refuses_anything_not_inline(tmp_path, reference):
    from csp.reports.pdf import ExternalResourceError, write_pdf

    html = write_report(tmp_path,
                        REPORT.replace("<h2>Executive summary</h2>", reference + "<h2>Executive summary</h2>"))

    with pytest.raises(ExternalResourceError, match="external resource"):
        write_pdf(html)
    assert not html.with_suffix(".pdf").exists()


def write_manifest(html: Path, **manifest) -> None:
    html.with_suffix(".json").write_text(json.dumps(manifest))


def test_index_lists_every_report_by_type_partnership_and_period(tmp_path, browser, shots):
    from csp.reports.index import write_index
    from csp.reports.pdf import write_pdf

    out = tmp_path / "out"
    blaby = write_report(out)
    write_pdf(blaby)
    write_manifest(blaby, kind="strategic", subject="E22000164", title="Strategic assessment: Blaby",
                   quarters=["2023Q2", "2023Q3", "2023Q4", "2024Q1"], provisional=True,
                   generated_at="2024-07-01T09:30:00+00:00")
    tactical = out / "tactical" / "2024Q1" / "E22000168.html"
    tactical.parent.mkdir(parents=True)
    tactical.write_text("<html><head><title>Tactical assessment: Leicester, 2024Q1</title></head><body></body></html>")
    write_manifest(tactical, kind="tactical", subject="E22000168", title="Tactical assessment: Leicester, 2024Q1",
                   quarters=["2023Q2", "2023Q3", "2023Q4", "2024Q1"][-1:], provisional=False,
                   generated_at="2024-07-01T09:31:00+00:00")
    unrecorded = out / "strategic" / "2022-04_to_2023-03" / "E22000164.html"  # HTML with no manifest
    unrecorded.parent.mkdir(parents=True)
    unrecorded.write_text("<html><head><title>Strategic assessment: Blaby (2022)</title></head><body></body></html>")

    (blaby.parent / "E22000164.tables.csv").write_text("theme,events\n")  # its data pack

    index = write_index(out, names={"E22000164": "Blaby", "E22000168": "Leicester"})
    page = index.read_text()

    assert index == out / "index.html"
    links = re.findall(r'href="([^"]+)"', page)
    assert links == ["strategic/2023-04_to_2024-03/E22000164.html", "strategic/2023-04_to_2024-03/E22000164.pdf",
                     "strategic/2023-04_to_2024-03/E22000164.tables.csv", "tactical/2024Q1/E22000168.html",
                     "strategic/2022-04_to_2023-03/E22000164.html"]
    assert all((out / link).exists() for link in links)
    # one matrix: a row per partnership, a column per product, the latest period in each cell
    matrix = page.split('<table class="matrix', 1)[1].split("</table>", 1)[0]
    header = re.findall(r'<th scope="col">(.*?)</th>', matrix)
    assert header == ["Partnership", "Strategic assessment", "Tactical assessment"]
    rows = re.findall(r'<tr><th scope="row">(.*?) <span.*?</th>(.*?)</tr>', matrix, re.S)
    assert [name for name, _ in rows] == ["Blaby", "Leicester"]
    assert "April 2023 to March 2024, provisional" in rows[0][1] and "none" in rows[0][1].split("</td>")[1]
    assert "2024Q1, complete" in rows[1][1]
    earlier = page.split('id="earlier"', 1)[1]
    assert "April 2022 to March 2023" in earlier and "not recorded" in earlier
    assert "csp report --kind problem_profile" in page and "3 reports in this folder" in page

    result = check_html_in_chromium(index, shots, browser=browser)
    assert (result["external_requests"], result["failed_requests"], result["console_errors"]) == (0, 0, 0)


def test_index_of_an_empty_folder_says_so(tmp_path):
    from csp.reports.index import write_index

    page = write_index(tmp_path).read_text()

    assert "No report has been generated yet." in page and "0 reports in this folder" in page


def test_pdfs_laid_out_by_worker_processes_and_failures_raised(tmp_path):
    from csp.reports.pdf import PdfFailed, PdfLayout

    reports = [write_report(tmp_path / str(i), name=code)
               for i, code in enumerate(("E22000164", "E22000165", "E22000166"))]
    with PdfLayout(2) as layout:
        for report in reports:
            layout.submit(report)
    assert all(report.with_suffix(".pdf").stat().st_size > 1000 for report in reports)
    bad = write_report(tmp_path / "bad",
                       body=REPORT.replace("{% block content %}",
                                           '{% block content %}<img src="http://example.invalid/x.png">'))
    with pytest.raises(PdfFailed, match="example.invalid"), PdfLayout(2) as layout:
        layout.submit(bad)
    assert not bad.with_suffix(".pdf").exists()


def test_report_has_a_contents_list_linking_every_section(tmp_path, browser):
    from support.report_form_checks import axe_violations

    html = write_report(tmp_path)
    page = html.read_text()
    nav = re.search(r'<nav class="contents"[^>]*>(.*?)</nav>', page, re.S).group(1)
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', nav)
    assert [text for _, text in links] == SECTIONS
    assert all(f'id="{ident}"' in page for ident, _ in links)
    assert axe_violations(html, browser=browser) == []


def test_axe_finds_what_wcag_forbids(tmp_path, browser):
    """The check can fail: an image without alternative text and grey-on-white text are caught."""
    from support.report_form_checks import axe_violations

    html = write_report(tmp_path, REPORT.replace(
        "<h2>Data coverage and quality</h2>",
        '<h2>Data coverage and quality</h2><p style="color:#bbbbbb">faint</p>'
        '<img src="data:image/png;base64,{{ png }}">'))
    found = {v["id"] for v in axe_violations(html, browser=browser)}
    assert {"image-alt", "color-contrast"} <= found


def test_pdf_is_tagged_with_bookmarks_equal_to_the_sections(tmp_path):
    from support.report_form_checks import pdf_structure

    from csp.reports.pdf import write_pdf

    html = write_report(tmp_path)
    structure = pdf_structure(write_pdf(html))
    assert structure["tagged"] and structure["lang"] == "en-GB"
    assert {"/H1", "/H2", "/Table", "/TH", "/TD", "/Figure"} <= set(structure["roles"])
    assert structure["figures_without_alt"] == 0
    assert [title for level, title in structure["bookmarks"] if level == 1] == SECTIONS


def test_page_fill_and_broken_words_are_measured(tmp_path):
    """The measures the demo-wide test relies on: a page of one line is nearly empty, and a
    header squeezed into a narrow column is found broken inside its word."""
    from support.report_form_checks import broken_table_words, page_fill

    from csp.reports.pdf import write_pdf

    fills = page_fill(write_pdf(write_report(tmp_path)))
    assert len(fills) >= 2 and fills[0] > 0.5
    squeezed = REPORT.replace("<h2>Data coverage and quality</h2>", '<h2>Data coverage and quality</h2>'
                              '<table style="width: 30mm"><thead><tr><th style="overflow-wrap: anywhere">Previousmonths'
                              '</th><th style="overflow-wrap: anywhere">Neighbourhood</th></tr></thead>'
                              '<tbody><tr><td>1</td><td>2</td></tr></tbody></table>')
    html = write_report(tmp_path / "squeezed", squeezed)
    assert broken_table_words(html, write_pdf(html))
    plain = write_report(tmp_path / "plain")
    assert broken_table_words(plain, write_pdf(plain)) == []
