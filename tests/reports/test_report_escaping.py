"""Values that reach people are escaped: HTML reports autoescape (a partner's text is shown,
never run), and CSV files analysts open in a spreadsheet neutralise formula prefixes (OWASP
CSV injection: =, +, -, @, tab, carriage return get a leading single quote)."""
from __future__ import annotations

import csv
import io

import pandas as pd

from csp import csv_safety
from csp.quality import BatchOutcome, render_result
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.templating import environment, render

SCRIPT = "<script>alert('x')</script>"
FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1"]
HOSTILE = f'{SCRIPT} "quoted" & {FORMULAS[0]}'
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;quoted&#34; &amp; =cmd|&#39; /C calc&#39;!A0"


def test_every_report_template_autoescapes():
    env = environment()
    templates = env.list_templates(filter_func=lambda name: name.endswith(".html.j2"))
    assert len(templates) >= 8
    assert all(env.autoescape(name) for name in templates), templates


def test_a_hostile_value_through_the_report_index_is_shown_not_run(tmp_path):
    report = {"title": HOSTILE, "theme": None, "period": "2024", "html_href": "a.html", "pdf_href": None, "pack": [],
              "provisional": False, "generated": "today"}
    page = render("index.html.j2", {
        "columns": [{"kind": "strategic", "name": HOSTILE}],
        "rows": [{"code": "E22000165", "name": HOSTILE, "cells": [[report]]}],
        "earlier": [], "report_count": 1, "generated_at": "now",
    }, tmp_path / "index.html").read_text()
    assert SCRIPT not in page and "<script" not in page
    assert page.count(ESCAPED) == 3  # column heading, row heading, the link's accessible name


def test_a_hostile_failure_through_the_data_docs_page_is_escaped():
    outcome = BatchOutcome(accepted=False, failures=[HOSTILE], result={"results": [{
        "expectation_config": {"type": "expect_column_values_to_be_in_set",
                               "kwargs": {"column": HOSTILE}, "meta": {"reason": HOSTILE}},
        "success": False, "result": {"unexpected_count": 1, "element_count": 2}}]})
    page = render_result(DATASETS["racial_incidents"], Quarter(2024, 1), outcome)
    assert "<script" not in page and page.count(ESCAPED) == 3


# --- CSV -----------------------------------------------------------------------------------


def read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_formula_prefixes_are_neutralised_and_numbers_left_alone():
    frame = pd.DataFrame({
        "source_file": pd.Series([*FORMULAS, "ok.csv", None], dtype="string"),
        "source_line": pd.array([1, -2, 3, 4, 5, 6, 7, 8], dtype="Int64"),
        "reason": [*FORMULAS[::-1], "plain - text", "x"],
    })
    out = io.StringIO()
    csv_safety.to_csv(frame, out)
    header, *rows = read_back(out.getvalue())
    assert header == ["source_file", "source_line", "reason"]
    assert [r[0] for r in rows] == [f"'{f}" for f in FORMULAS] + ["ok.csv", ""]
    assert [r[1] for r in rows] == ["1", "-2", "3", "4", "5", "6", "7", "8"]  # a number, not a formula
    assert [r[2] for r in rows] == [f"'{f}" for f in FORMULAS[::-1]] + ["plain - text", "x"]
    # nothing a spreadsheet would evaluate is left at the start of a text cell
    assert not any(cell.startswith(tuple(csv_safety.FORMULA_PREFIXES)) for r in rows for cell in (r[0], r[2]))
    assert frame["source_file"].iloc[0] == FORMULAS[0]  # the caller's frame is not changed


def test_neutralise_keeps_dtypes_and_headers():
    frame = pd.DataFrame({"=SUM(A1)": pd.Series(["=1"], dtype="string"), "n": [1.5]})
    out = csv_safety.neutralise(frame)
    assert list(out.columns) == ["'=SUM(A1)", "n"]
    assert out.dtypes.tolist() == [pd.StringDtype(), frame["n"].dtype]


def test_the_quarantine_report_neutralises_a_hostile_file_name(tmp_path):
    from csp.staging import Staging

    dataset = DATASETS["council_asb"]
    landed = tmp_path / "=1+2-council_asb_2024Q1.csv"
    landed.write_text("x")
    frame = pd.DataFrame({c: [] for c in dataset.columns if c not in ("return_id", "file_sha256")})
    quarantine = pd.DataFrame({"source_file": [landed.name, "@SUM(A1).csv"], "source_line": [2, 3],
                               "rule": ["unparseable_date"] * 2, "reason": ["incident_date is not a date"] * 2})
    # every row quarantined: the return is rejected, its quarantine report written all the same
    entry = Staging(tmp_path / "staging").stage(dataset, Quarter(2024, 1), [landed], frame, quarantine,
                                                rows_in=2, rows_loaded=0, status="rejected")
    report = tmp_path / "staging" / "council_asb" / "2024Q1" / f"v{entry.version}.quarantine.csv"
    cells = [row[0] for row in read_back(report.read_text())[1:]]
    assert cells == ["'=1+2-council_asb_2024Q1.csv", "'@SUM(A1).csv"]
