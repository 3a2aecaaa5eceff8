"""The refused-files measurement (csp.bench.refusals) at small sizes, in this process: every
case is refused, by the rule it is there to show. The figures themselves come from `make
bench` (docs/benchmarks.md, "Refused files")."""
from __future__ import annotations

import pytest

from csp.bench import refusals


@pytest.fixture
def isolated_environment(monkeypatch, tmp_path):
    """refusals.refuse sets the data folders and the key in os.environ: restore them after."""
    for name in ("CSP_DATA_DIR", "CSP_OUT_DIR", "CSP_TODAY", "CSP_PSEUDONYM_KEY"):
        monkeypatch.setenv(name, "unset")
    monkeypatch.delenv("CSP_TODAY")
    limits = tmp_path / "limits.toml"
    limits.write_text("[default]\nmax_file_mib = 64\nmax_return_rows = 250_000\n"
                      "[formats.police_uk_street]\nmax_file_mib = 2\n")
    monkeypatch.setenv("CSP_LIMITS_FILE", str(limits))
    return tmp_path


@pytest.mark.parametrize("case, size_mib, rule", [
    ("xlsx zip bomb (ingest)", 8, "archive_ratio"),
    ("sparse file (ingest)", 64, "sparse_file"),
    ("sparse file (csp resubmit)", 64, "sparse_file"),
    ("sparse file (csp history)", 64, "sparse_file"),
    ("CSV over its size limit (ingest)", 3, "file_too_large"),
    ("CSV with a NUL byte at its end (csp resubmit)", 1, "nul_bytes"),
])
def test_each_worst_case_is_refused_by_its_rule(isolated_environment, case, size_mib, rule):
    root = isolated_environment / "run"
    root.mkdir()
    result = refusals.refuse(case, size_mib, str(root))
    assert result["rule"] == rule, result["refused"]
    assert result["seconds"] >= 0 and result["peak_mib"] > 0


def test_the_table_has_a_row_per_case(tmp_path):
    results = [{"case": c.name, "size_mib": c.size_mib, "seconds": 0.01, "peak_mib": 100.0, "added_mib": 0.0,
                "refused": "x [r]", "rule": "r"} for c in refusals.CASES]
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")
    refusals.write_markdown(doc, refusals.markdown(results, "cmd"))
    refusals.write_markdown(doc, refusals.markdown(results, "cmd"))  # replaced, not appended
    text = doc.read_text()
    assert text.count(refusals.BEGIN) == 1 and all(f"| {c.name} |" in text for c in refusals.CASES)
