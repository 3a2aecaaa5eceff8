"""Hostile and malformed input, fuzzed with Hypothesis, through every source adapter
(``csp.sources.parse_return``) and on to depersonalisation.

Each adapter gets two kinds of file: arbitrary bytes under its file name, and rows under its
real header whose cells are valid values, arbitrary text, huge fields, wrong types, embedded
NULs / line ends / quotes and formula-injection strings, written in several encodings and line
endings, quoted properly or not at all. Whatever arrives, the adapter must either return a
``Parsed`` that reconciles (rows_in == rows_loaded + rows_quarantined) in the canonical
columns, with quarantine reasons that never quote a cell, or refuse the file with the project's
own ``SourceError`` naming it. Any other exception fails the test.

Budget: EXAMPLES_PER_ADAPTER examples of each kind for each of the 15 formats (about a
minute on one core); the number run per adapter is printed at the end of the module and
recorded in docs/reliability.md.
"""
from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csp.depersonalise import depersonalise
from csp.quarters import Quarter
from csp.registry import DATASETS, SOURCE_FORMATS
from csp.sources import SourceError, parse_return
from csp.sources.frames import QUARANTINE_COLUMNS, output_columns

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT_DIR / "docs" / "data-contracts" / "templates"
EXAMPLES_PER_ADAPTER = 60
BYTES_EXAMPLES_PER_ADAPTER = 30
KEY = b"fuzz-only-pseudonymisation-key"
FUZZ = settings(max_examples=EXAMPLES_PER_ADAPTER, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ_BYTES = settings(FUZZ, max_examples=BYTES_EXAMPLES_PER_ADAPTER)

# A marker in every hostile string, so a quarantine reason that quotes a cell is caught.
MARK = "ZQXJ"
FORMULAS = [
    f"=cmd|' /C calc'!A0{MARK}", f"+1+1{MARK}", f"-2+3{MARK}", f"@SUM(A1){MARK}",
    f"\t=1+1{MARK}", f"\r=1+1{MARK}", f'=HYPERLINK("http://x.test/?{MARK}","click")',
]
AWKWARD = [
    f"a\x00b{MARK}", f"line\nbreak{MARK}", f'quote"in{MARK}', f'"{MARK}', f"comma,{MARK}",
    f"{MARK}\r\n", f"<script>alert('{MARK}')</script>", f"Mr John Smith {MARK}",
    f"9434765919 {MARK}", f"LE1 5AB {MARK}", "1e308", "-0", "NaN", "inf", "None", "null",
    "9" * 40, "-1", "3.5", "2024-02-30", "0000-00-00", "24:00", "99:99", "E0102563",
    "\ufeff", "\u202e", "é", "😀",
]


def template_row(format_id: str) -> dict[str, str]:
    with (TEMPLATES / f"{format_id}.csv").open(newline="", encoding="utf-8") as handle:
        return next(csv.DictReader(handle))


# Valid rows of the real formats (the contract formats take their template's first row).
REAL_ROWS = {
    "police_uk_street": {
        "Crime ID": "a1b2", "Month": "2024-01", "Reported by": "Leicestershire Police",
        "Falls within": "Leicestershire Police", "Longitude": "-1.133", "Latitude": "52.634",
        "Location": "On or near High Street", "LSOA code": "E01013636", "LSOA name": "Leicester 001A",
        "Crime type": "Burglary", "Last outcome category": "Under investigation", "Context": ""},
    "lfb_incidents": {
        "IncidentNumber": "240001", "DateOfCall": "05 Jan 2024", "TimeOfCall": "21:40:00",
        "IncidentGroup": "Fire", "StopCodeDescription": "Secondary Fire", "PropertyCategory": "Outdoor",
        "Postcode_district": "LE1", "Latitude": "52.634", "Longitude": "-1.133", "Motive": "Deliberate"},
    "stats19": {
        "collision_index": "2024330001", "date": "05/01/2024", "time": "08:15", "collision_severity": "3",
        "lsoa_of_accident_location": "E01025631", "longitude": "-1.2100", "latitude": "52.6214"},
    "council_rtc_casualties": {
        "Reference Number": "21K0978", "Grid Ref: Easting": "437531", "Grid Ref: Northing": "431994",
        "Accident Date": "20/01/2024", "Time (24hr)": "1645", "Casualty Severity": "Slight",
        "Age of Casualty": "21"},
    "hes_apc": {"EPIKEY": "9001", "ADMIDATE": "2024-01-03", "EPIORDER": "1", "DIAG_4_01": "S001",
                "CAUSE_4": "X991", "POSTCODE_OUTWARD": "LE1"},
    "hes_op": {"APPTDATE": "2024-01-09", "FIRSTATT": "1", "TRETSPEF": "715", "POSTCODE_OUTWARD": "LE1"},
    "hes_ae": {"AEKEY": "7001", "ARRIVALDATE": "2024-02-09", "ARRIVALTIME": "2310", "AEPATGROUP": "20",
               "AEARRIVALMODE": "1", "POSTCODE_OUTWARD": "LE1"},
}
# format -> (a dataset it feeds, a file name its globs match)
FORMATS = {
    "police_uk_street": ("police_crimes", "2024-01-leicestershire-street.csv"),
    "force_crimes": ("police_crimes", "force_crimes_2024Q1.csv"),
    "force_incidents": ("police_incidents", "force_incidents_2024Q1.csv"),
    "lfb_incidents": ("fire_incidents", "lfb_incident_records_2024Q1.csv"),
    "fire_other_incidents": ("fire_incidents", "fire_other_incidents_2024Q1.csv"),
    "stats19": ("road_collisions", "dft-road-casualty-statistics-collision-2024.csv"),
    "council_rtc_casualties": ("road_collisions", "leeds-rtc-casualties-2024.csv"),
    "school_exclusions": ("school_exclusions", "school_exclusions_2024Q1.csv"),
    "racial_incidents": ("racial_incidents", "racial_incidents_2024Q1.csv"),
    "council_asb": ("council_asb", "council_asb_2024Q1.csv"),
    "hes_apc": ("hospital_admissions", "icb_hes_apc_2024q1.csv"),
    "hes_op": ("health_counts", "icb_hes_op_2024q1.csv"),
    "hes_ae": ("ed_assault_attendances", "trust_hes_ae_2024q1.csv"),
    "drug_treatment_counts": ("health_counts", "drug_treatment_counts_2024Q1.csv"),
    "ambulance_callouts": ("ambulance_callouts", "ambulance_callouts_2024Q1.csv"),
}
BASE_ROWS = {f: REAL_ROWS[f] if f in REAL_ROWS else template_row(f) for f in FORMATS}
EXAMPLES = Counter()  # (format, kind) -> examples run
OUTCOMES = Counter()  # refused / rows quarantined / all rows loaded -> examples


def test_every_format_is_fuzzed():
    assert set(FORMATS) == set(SOURCE_FORMATS)
    for format_id, (dataset_id, name) in FORMATS.items():
        assert format_id in DATASETS[dataset_id].source_formats
        assert any(Path(name).match(glob) for glob in SOURCE_FORMATS[format_id].file_globs), name


@pytest.fixture(scope="module", autouse=True)
def report_examples(request):
    yield
    lines = [f"  {f:<24} {EXAMPLES[f, 'rows']:>4} row examples, {EXAMPLES[f, 'bytes']:>4} byte examples"
             for f in FORMATS]
    total = sum(EXAMPLES.values())
    outcomes = [f"  {outcome}: {n}" for outcome, n in sorted(OUTCOMES.items())]
    show(request, ["", f"Hypothesis examples per source adapter (total {total}):", *lines,
                   "Outcomes:", *outcomes])


def show(request, lines: list[str]) -> None:
    """Print past pytest's output capture, so the numbers appear in a plain CI run."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


# --- strategies ---------------------------------------------------------------------------

hostile_text = st.one_of(
    st.sampled_from(FORMULAS + AWKWARD),
    st.text(max_size=30),
    st.integers(min_value=10_000, max_value=300_000).map(lambda n: MARK + "x" * n),  # huge field
    st.floats(allow_nan=True, allow_infinity=True).map(repr),  # numbers where text is due
    st.builds(lambda a, b: a + MARK + b, st.text(max_size=5), st.sampled_from([",", '"', "\n", "\r", "\t"])),
)


def cell(valid: str) -> st.SearchStrategy[str]:
    """Mostly the valid value (so rows get past the first rule), else hostile."""
    return st.one_of(st.just(valid), st.just(valid), st.just(""), hostile_text)


def row_strategy(base: dict[str, str]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({column: cell(value) for column, value in base.items()})


@st.composite
def csv_files(draw, format_id: str) -> bytes:
    """Rows under the real header, in a drawn encoding, line ending and quoting."""
    base = BASE_ROWS[format_id]
    header = list(base)
    if draw(st.booleans()):
        header = draw(st.permutations(header))  # column order is not part of the contract
    rows = draw(st.lists(row_strategy(base), max_size=6))
    terminator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, None]))
    out = io.StringIO()
    if quoting is None:  # a hand-made export: values joined with commas, nothing quoted
        lines = [dict(zip(header, header, strict=True)), *rows]
        out.write(terminator.join(",".join(r[c] for c in header) for r in lines))
        if draw(st.booleans()):
            out.write(terminator)
    else:
        writer = csv.DictWriter(out, header, quoting=quoting, lineterminator=terminator)
        writer.writeheader()
        writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]))
    return out.getvalue().encode(encoding, errors="replace")


# --- the property -------------------------------------------------------------------------


def check_adapter(format_id: str, content: bytes, quarter: Quarter | None) -> None:
    dataset_id, name = FORMATS[format_id]
    dataset = DATASETS[dataset_id]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            parsed = parse_return(dataset, {format_id: [path]}, quarter)
        except SourceError as error:
            assert name in str(error), f"the refusal does not name the file: {error}"
            assert error.rule and f"[{error.rule}]" in str(error)
            OUTCOMES[f"refused ({error.rule})"] += 1
            return
    assert parsed.rows_in == parsed.rows_loaded + len(parsed.quarantine)
    assert parsed.rows_in >= 0 and parsed.rows_out_of_scope >= 0
    assert list(parsed.frame.columns) == list(output_columns(dataset))
    assert list(parsed.quarantine.columns) == QUARANTINE_COLUMNS
    assert parsed.quarantine["rule"].notna().all()
    OUTCOMES["parsed, some rows quarantined" if len(parsed.quarantine) else "parsed, no row quarantined"] += 1
    assert not parsed.quarantine["reason"].str.contains(MARK, regex=False).any(), "a reason quotes a cell"
    clean = depersonalise(parsed.frame, dataset, KEY).frame
    assert len(clean) == len(parsed.frame)
    assert "source_ref" not in clean.columns
    if dataset.kind == "record" and len(clean):
        refs = set(parsed.frame["source_ref"].dropna())
        assert not refs & set(clean["record_key"].dropna()), "a source reference survived in clear"
        assert clean["record_key"].dropna().str.fullmatch(r"[0-9a-f]{64}").all()
    for column in dataset.free_text:
        # formula strings pass as text (neutralised on CSV export), planted PII never does
        assert not clean[column].astype("string").str.contains("9434765919|LE1 5AB|John Smith", regex=True).any()


QUARTERS = st.sampled_from([Quarter(2024, 1), None])


@pytest.mark.parametrize("format_id", list(FORMATS))
def test_hostile_rows_under_the_real_header(format_id):
    @FUZZ
    @given(data=st.data(), quarter=QUARTERS)
    def run(data, quarter):
        content = data.draw(csv_files(format_id))
        EXAMPLES[format_id, "rows"] += 1
        check_adapter(format_id, content, quarter)

    run()


@pytest.mark.parametrize("format_id", list(FORMATS))
def test_arbitrary_bytes(format_id):
    header = ",".join(BASE_ROWS[format_id]).encode()

    @FUZZ_BYTES
    @given(body=st.binary(max_size=400), with_header=st.booleans())
    def run(body, with_header):
        EXAMPLES[format_id, "bytes"] += 1
        check_adapter(format_id, (header + b"\n" if with_header else b"") + body, Quarter(2024, 1))

    run()


def test_a_valid_file_still_loads():
    """The baseline the fuzzing varies: each format's valid row ingests without quarantine."""
    for format_id, (dataset_id, name) in FORMATS.items():
        base = BASE_ROWS[format_id]
        out = io.StringIO()
        writer = csv.DictWriter(out, list(base), lineterminator="\n")
        writer.writeheader()
        writer.writerow(base)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_text(out.getvalue())
            parsed = parse_return(DATASETS[dataset_id], {format_id: [path]}, Quarter(2024, 1))
        assert parsed.quarantine.empty, (format_id, parsed.quarantine.to_dict("records"))
        assert parsed.rows_in == 1 and parsed.rows_loaded == 1, format_id
        assert isinstance(parsed.frame, pd.DataFrame)
