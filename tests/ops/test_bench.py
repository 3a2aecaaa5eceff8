"""`make bench` at a tiny scale: every stage is measured, the police rows reconcile, the
ratios are positive numbers, and the markdown section is written (PostgreSQL rows when the
server answers, skipped with the reason otherwise)."""
from __future__ import annotations

import math

import pytest

from csp.bench import report, run
from csp.bench.scales import parse_scale


def test_scale_spec():
    assert parse_scale("100k").police_rows == 100_000
    assert parse_scale("1m").police_rows == 1_000_000
    five_years = parse_scale("5m/20q")
    assert (five_years.police_rows, five_years.quarters, five_years.slug) == (5_000_000, 20, "5m_20q")
    with pytest.raises(ValueError):
        parse_scale("lots")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    markdown = folder / "benchmarks.md"
    markdown.write_text("# Benchmarks\n\nnotes before\n\n"
                        "<!-- bench:begin -->\nold\n<!-- bench:end -->\n\nnotes after\n")
    result = run([parse_scale("5k")], folder / "work", isolate=False, dag_parse=False,
                 markdown=markdown, log=lambda message: None)
    return result, markdown


def test_every_stage_has_a_row(tiny):
    result, _ = tiny
    assert [r.stage for r in result["runs"]] == list(report.STAGES)
    for r in result["runs"]:
        if r.skipped:
            # only PostgreSQL's stages, when no server answers
            assert "PostgreSQL" in r.skipped and ("PostgreSQL" in r.stage or "PG" in r.stage or "naive" in r.stage), r
        else:
            assert r.rows > 0 and r.seconds > 0 and r.peak_mib > 0, r


def test_police_rows_reconcile(tiny):
    result, _ = tiny
    generated = result["generated"]["5k"]["police_rows"]
    assert 4_000 < generated < 6_000
    by_stage = {r.stage: r for r in result["runs"]}
    for stage in (report.STAGE, report.INGEST):
        counts = by_stage[stage].extra
        assert counts["rows_staged"] + counts["rows_quarantined"] == generated, stage
        assert set(counts["status"]) == {"accepted"}
    for stage in report.POLICE_STAGES:
        assert by_stage[stage].rows == generated, stage


def test_ratios_are_positive_numbers(tiny):
    result, _ = tiny
    runs = result["runs"]
    for r in runs:
        if r.stage in report.POLICE_STAGES:
            ratios = report.ratios(runs, r)
            values = [ratios.raw_duckdb]
            if not any(x.skipped for x in runs if x.stage == report.RAW_PG):
                values += [ratios.raw_pg, ratios.naive_speedup]
            for value in values:
                assert value is not None and math.isfinite(value) and value > 0, (r.stage, ratios)


def test_markdown_section_replaced_and_prose_kept(tiny):
    result, markdown = tiny
    text = markdown.read_text()
    assert "notes before" in text and "notes after" in text and "\nold\n" not in text
    assert text.count(report.BEGIN) == 1
    for stage in report.STAGES:
        assert f"| {stage} |" in text
    assert "### Machine" in text and "### Scaling" in text and "### Targets" in text
    assert result["machine"]["cores"]
