"""Depersonalisation and validation, fuzzed with Hypothesis.

- Free text laced with personal data of every kind ``csp.pii`` detects (titled names, full
  postcodes, checksum-valid NHS numbers, phone numbers, emails, dates of birth), mixed with
  arbitrary text and formula-injection strings: after ``depersonalise`` none of the planted
  values is left.
- Arbitrary source references (NULs, line ends, huge, formula strings) become 64-hex keyed
  pseudonyms, the same for the same key and never the value in clear.
- ``quality.validate_batch`` (Great Expectations) on frames parsed from hostile rows: always a
  verdict, never an exception, and a stored result with no cell value in it. GX takes about a
  second per validation, so this one runs VALIDATION_EXAMPLES examples and is marked slow.

Budgets (examples per test) are the constants below; the numbers run are printed at the end.
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csp.depersonalise import depersonalise, pseudonymise
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.sources import SourceError, parse_return

REDACTION_EXAMPLES = 300
PSEUDONYM_EXAMPLES = 100
VALIDATION_EXAMPLES = 12
KEY = b"fuzz-only-pseudonymisation-key"
QUICK = settings(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
EXAMPLES = Counter()
PLANTED = Counter()  # kind of personal data -> values planted
DATASET = DATASETS["racial_incidents"]  # the dataset with a declared free-text column
FORMULAS = ["=cmd|' /C calc'!A0", "+SUM(1,2)", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.fixture(scope="module", autouse=True)
def report_examples(request):
    yield
    lines = ["", "Hypothesis examples, depersonalise and validation:",
             *(f"  {name:<34} {n:>4}" for name, n in EXAMPLES.items()),
             "Personal data planted in free text (values per kind): "
             + ", ".join(f"{kind} {n}" for kind, n in sorted(PLANTED.items()))]
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


# --- personal data generators -------------------------------------------------------------

TITLES = ["Mr", "Mrs", "Ms", "Miss", "Dr", "Dr.", "Prof", "Rev"]
FIRST = ["John", "Aisha", "Mary", "Li", "Olumide", "Sean", "Zofia"]
LAST = ["Smith", "Khan", "O'Brien", "Smith-Jones", "Nowak", "Okafor", "Patel"]


def with_check_digit(nine: list[int]) -> str | None:
    """Nine digits and their modulus 11 check digit; None where the check would be 10 (no
    NHS number has those nine digits)."""
    check = 11 - sum(d * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return None if check == 10 else "".join(map(str, nine + [check]))


nhs_numbers = st.builds(
    lambda number, sep: f"{number[:3]}{sep}{number[3:6]}{sep}{number[6:]}",
    st.lists(st.integers(0, 9), min_size=9, max_size=9).map(with_check_digit).filter(bool),
    st.sampled_from(["", " ", "-"]),
)


digits = lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)  # noqa: E731
phones = st.one_of(
    st.builds(lambda a, b: f"07{a} {b}", digits(3), digits(6)),
    st.builds(lambda a, b: f"07{a}{b}", digits(3), digits(6)),
    st.builds(lambda a, b: f"+44 7{a} {b}", digits(3), digits(6)),
    st.builds(lambda a, b: f"(0116) {a} {b}", digits(3), digits(4)),
    st.builds(lambda a, b: f"020 {a} {b}", digits(4), digits(4)),
)
postcodes = st.from_regex(r"\A[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\Z").map(str.strip)
emails = st.builds(lambda user, host, tld: f"{user}@{host}.{tld}",
                   st.from_regex(r"\A[a-z][a-z0-9._+-]{0,12}[a-z0-9]\Z").map(str.strip),
                   st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z]\Z").map(str.strip),
                   st.sampled_from(["com", "co.uk", "org", "nhs.net", "gov.uk"]))
names = st.builds(lambda t, f, s: f"{t} {f} {s}", st.sampled_from(TITLES), st.sampled_from(FIRST),
                  st.sampled_from(LAST))
dates = st.dates(min_value=pd.Timestamp("1930-01-01").date(), max_value=pd.Timestamp("2023-12-31").date())
births = st.builds(lambda label, d, form: f"{label} {d.strftime(form)}",
                   st.sampled_from(["DOB", "DOB:", "D.O.B.", "date of birth", "born", "born on"]), dates,
                   st.sampled_from(["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"]))
PERSONAL = {"name": names, "postcode": postcodes, "nhs_number": nhs_numbers, "phone": phones,
            "email": emails, "date_of_birth": births}

filler = st.one_of(st.text(max_size=15), st.sampled_from(FORMULAS + ["outside the shop", "bus stop", ""]))
separators = st.sampled_from([" ", ", ", "; ", " - ", "\n", " (", ") ", ": "])


@st.composite
def laced_text(draw) -> tuple[str, list[tuple[str, str]]]:
    """Free text with 1-4 planted values, each set apart by a separator, as a person types."""
    parts, planted = [draw(filler)], []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(sorted(PERSONAL)))
        value = draw(PERSONAL[kind])
        planted.append((kind, value))
        parts += [draw(separators), value, draw(separators), draw(filler)]
    return "".join(parts), planted


def the_personal_part(kind: str, value: str) -> list[str]:
    """What must not survive of a planted value: the value itself, and for a name the
    person's name without the title; for a date of birth, the date."""
    if kind == "name":
        return [value, value.split(" ", 1)[1]]
    if kind == "date_of_birth":
        return [value, value.rsplit(" ", 1)[1]]
    return [value]


def frame_of(texts: list[str], refs: list[str] | None = None) -> pd.DataFrame:
    n = len(texts)
    columns = {c: pd.Series([pd.NA] * n, dtype="object") for c in DATASET.columns}
    frame = pd.DataFrame(columns)
    frame = frame.drop(columns=["record_key", "return_id", "file_sha256"]).assign(
        source_ref=pd.Series(refs or [f"R{i}" for i in range(n)], dtype="string"),
        location_description=pd.Series(texts, dtype="string"),
    )
    return frame


@settings(QUICK, max_examples=REDACTION_EXAMPLES)
@given(rows=st.lists(laced_text(), min_size=1, max_size=4))
def test_no_planted_personal_data_survives_free_text(rows):
    EXAMPLES["free-text redaction"] += 1
    result = depersonalise(frame_of([text for text, _ in rows]), DATASET, KEY)
    out = result.frame["location_description"]
    for (_, planted), cleaned in zip(rows, out, strict=True):
        for kind, value in planted:
            PLANTED[kind] += 1
            for part in the_personal_part(kind, value):
                assert part not in cleaned, f"{kind} {part!r} survived in {cleaned!r}"
    assert result.rows_redacted == len(rows)


@settings(QUICK, max_examples=PSEUDONYM_EXAMPLES)
@given(refs=st.lists(st.one_of(st.text(min_size=1), st.sampled_from(FORMULAS + ["a\x00b", "x" * 100_000])),
                     min_size=1, max_size=6))
def test_any_source_reference_becomes_a_keyed_pseudonym(refs):
    EXAMPLES["pseudonymisation"] += 1
    out = depersonalise(frame_of(["bus stop"] * len(refs), refs), DATASET, KEY).frame
    assert list(out.columns) == [c for c in DATASET.columns if c not in ("return_id", "file_sha256")]
    keys = out["record_key"]
    assert keys.str.fullmatch(r"[0-9a-f]{64}").all() and not set(refs) & set(keys)
    # same value, same key (repeats stay linkable); another key, other pseudonyms
    assert keys.tolist() == pseudonymise(pd.Series(refs, dtype="string"), KEY, DATASET.id).tolist()
    assert not set(keys) & set(pseudonymise(pd.Series(refs, dtype="string"), b"other", DATASET.id))
    assert (keys.groupby(pd.Series(refs)).nunique() == 1).all()


# --- validation -------------------------------------------------------------------------------

HEADER = ["incident_ref", "incident_date", "incident_time", "incident_type", "lsoa_code", "location_description"]
MARK = "ZQXJ"
hostile = st.one_of(st.text(max_size=12), st.sampled_from([MARK + f for f in FORMULAS]),
                    st.just(MARK + "x" * 5000), st.just(""))
good = {"incident_ref": st.from_regex(r"\ARI-[0-9]{4}\Z").map(str.strip),
        "incident_date": st.dates(pd.Timestamp("2024-01-01").date(), pd.Timestamp("2024-03-31").date()).map(str),
        "incident_time": st.sampled_from(["14:30", "", "0905"]),
        "incident_type": st.sampled_from(["Verbal abuse", "Graffiti", "Other"]),
        "lsoa_code": st.sampled_from(["E01025631", "E01013636", "E01000001", ""]),
        "location_description": st.one_of(laced_text().map(lambda t: t[0]), hostile)}
rows = st.fixed_dictionaries({c: st.one_of(strategy, strategy, hostile) for c, strategy in good.items()})


def parameters() -> dict:
    from csp.area import area_codes
    from csp.config import settings as csp_settings

    codes = area_codes(csp_settings().reference_dir, "E23000021")
    q = Quarter(2024, 1)
    return {"quarter_start": pd.Timestamp(q.start), "quarter_end": pd.Timestamp(q.end),
            "area_lsoas": sorted(codes.lsoas), "area_outward_codes": sorted(codes.outward_codes),
            "min_rows": 0, "max_rows": 1000}


@pytest.mark.slow
def test_validation_gives_a_verdict_for_any_parsed_return():
    from csp import quality

    params = parameters()
    verdicts = Counter()

    @settings(QUICK, max_examples=VALIDATION_EXAMPLES)
    @given(table=st.lists(rows, min_size=1, max_size=8))
    def run(table):
        EXAMPLES["validation (GX)"] += 1
        out = io.StringIO()
        writer = csv.DictWriter(out, HEADER, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "racial_incidents_2024Q1.csv"
            path.write_text(out.getvalue(), encoding="utf-8")
            try:
                parsed = parse_return(DATASET, {"racial_incidents": [path]}, Quarter(2024, 1))
            except SourceError as error:
                assert path.name in str(error)
                verdicts["refused"] += 1
                return
        frame = depersonalise(parsed.frame, DATASET, KEY).frame.assign(
            return_id="racial_incidents/2024Q1/v1", file_sha256="0" * 64)
        outcome = quality.validate_batch(frame, DATASET.id, params)
        assert isinstance(outcome.accepted, bool) and all(isinstance(f, str) for f in outcome.failures)
        assert outcome.accepted == (not outcome.failures)
        stored = json.dumps(outcome.result, default=str)
        assert MARK not in stored and "partial_unexpected_list" not in stored
        page = quality.render_result(DATASET, Quarter(2024, 1), outcome)
        assert MARK not in page
        verdicts["accepted" if outcome.accepted else "rejected"] += 1

    run()
    assert sum(verdicts.values()) == EXAMPLES["validation (GX)"]
    EXAMPLES.update({f"  validation verdict: {k}": v for k, v in verdicts.items()})
