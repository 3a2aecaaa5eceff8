"""Bad input, table-driven: each case lands a small file in the 2024Q1 landing folder and runs
the real ingest path (parse, depersonalise, validate, stage). Every case ends in one of three
outcomes: accepted with N quarantined rows, rejected with a named failure, or refused before
staging with an error that names the file (or the folder when no file is part of the return)."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from csp.ingest import MultiQuarterFile, ingest_return
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.sources import SourceError
from csp.staging import Staging

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT_DIR / "docs" / "data-contracts" / "templates"
Q = Quarter(2024, 1)
LEICESTER, BLABY, CITY_OF_LONDON = "E01013636", "E01025631", "E01000001"


# --- expected outcomes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    quarantined: int = 0
    rules: frozenset[str] = frozenset()  # quarantine rules seen
    notes: tuple[str, ...] = ()  # substrings each found in some ledger note
    absent: tuple[str, ...] = ()  # values (or column names) that must not reach the staged parquet
    rows_in: int | None = None
    staged: tuple[tuple[str, str], ...] = ()  # (column, the value every staged row holds)


@dataclass(frozen=True)
class Rejected:
    failure: str  # substring of one of entry.failures


@dataclass(frozen=True)
class Refused:
    error: type[Exception]
    match: str  # regex; "{folder}" stands for the escaped landing folder


def quarantined(n: int, *rules: str) -> Accepted:
    return Accepted(quarantined=n, rules=frozenset(rules))


@dataclass(frozen=True)
class Case:
    id: str
    dataset: str
    files: dict[str, bytes | Callable[[Path], None]]  # name -> content, or a writer of the path
    expect: Accepted | Rejected | Refused


# --- builders ---------------------------------------------------------------------------------

Row = dict[str, str]


def template(format_id: str) -> Row:
    """The first example row of a contract template (docs/data-contracts/templates)."""
    with (TEMPLATES / f"{format_id}.csv").open(newline="", encoding="utf-8") as handle:
        return next(csv.DictReader(handle))


POLICE_UK = {"Crime ID": "a1b2", "Month": "2024-01", "Reported by": "Leicestershire Police",
             "Falls within": "Leicestershire Police", "Longitude": "-1.133", "Latitude": "52.634",
             "Location": "On or near High Street", "LSOA code": LEICESTER, "LSOA name": "Leicester 001A",
             "Crime type": "Burglary", "Last outcome category": "Under investigation", "Context": ""}
HES_APC = {"EPIKEY": "9001", "ADMIDATE": "2024-01-03", "EPIORDER": "1", "DIAG_4_01": "S001",
           "CAUSE_4": "X991", "POSTCODE_OUTWARD": "LE1"}
STATS19 = {"collision_index": "2024330001", "date": "05/01/2024", "time": "08:15", "collision_severity": "3",
           "lsoa_of_accident_location": BLABY, "longitude": "-1.2100", "latitude": "52.6214"}
DRUG_COUNTS = {**template("drug_treatment_counts"), "area_type": "outward_postcode"}
HES_AE = {"AEKEY": "7001", "ARRIVALDATE": "2024-02-09", "ARRIVALTIME": "2310", "AEPATGROUP": "20",
          "AEARRIVALMODE": "1", "POSTCODE_OUTWARD": "LE1"}


def rows(base: Row, n: int = 5, *, ref: bool = True, **columns: str | dict[int, str]) -> list[Row]:
    """``n`` copies of ``base``, the first column (the record reference) made unique unless
    ``ref`` is false. A column given as a value is set on every row; as ``{row: value}`` on
    those rows only."""
    key = next(iter(base))
    table = [{**base, key: f"{base[key]}-{i}"} if ref else dict(base) for i in range(n)]
    for column, value in columns.items():
        for i, row in enumerate(table):
            if not isinstance(value, dict):
                row[column] = value
            elif i in value:
                row[column] = value[i]
    return table


def text(table: list[Row], header: Row, *, drop: tuple[str, ...] = (), sep: str = ",") -> str:
    """CSV text of ``table`` with the columns of ``header`` (less ``drop``): a header-only
    file when the table is empty."""
    columns = [c for c in (table[0] if table else header) if c not in drop]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, delimiter=sep, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue()


def contract(format_id: str, n: int = 5, *, drop=(), sep=",", encoding="utf-8", **columns) -> dict[str, bytes]:
    """A contract file from its template, named as the contract's glob expects."""
    base = template(format_id)
    return {f"{format_id}_2024Q1.csv": text(rows(base, n, **columns), base, drop=drop, sep=sep).encode(encoding)}


def drug_counts(n: int = 5, **columns) -> dict[str, bytes]:
    """Persons in drug treatment, one count per outward code LE1..LEn unless told otherwise."""
    columns.setdefault("area_code", {i: f"LE{i + 1}" for i in range(n)})
    return {"drug_treatment_counts_2024Q1.csv": text(rows(DRUG_COUNTS, n, ref=False, **columns), DRUG_COUNTS).encode()}


def file(name: str, base: Row, n: int = 5, *, drop=(), **columns) -> dict[str, bytes]:
    return {name: text(rows(base, n, **columns), base, drop=drop).encode()}


def xlsx_with_merged_header(format_id: str, first: str, second: str) -> Callable[[Path], None]:
    """An .xlsx of the template where the header cells of ``first`` and ``second`` are merged,
    as a spreadsheet user does for a heading: the second name is lost."""
    def write(path: Path) -> None:
        from openpyxl import Workbook
        from openpyxl.utils import get_column_letter

        table = rows(template(format_id))
        header = list(table[0])
        sheet = (book := Workbook()).active
        sheet.append(header)
        for row in table:
            sheet.append(list(row.values()))
        a, b = (get_column_letter(header.index(c) + 1) for c in (first, second))
        sheet.merge_cells(f"{a}1:{b}1")
        book.save(path)
    return write


def unquoted(files: dict[str, bytes]) -> dict[str, bytes]:
    """The file as a hand-made export writes it: values with a comma left unquoted."""
    return {name: content.replace(b'"', b"") for name, content in files.items()}


def truncated(files: dict[str, bytes], cut: int) -> dict[str, bytes]:
    """The file cut ``cut`` bytes before its end, mid-way through the last row."""
    return {name: content[:-cut] for name, content in files.items()}


ALL_BUT_ONE_IN_2023Q4 = {i: "2023-12-31" for i in range(1, 5)}
SCHOOL = "École Saint-Hélène"
PERSONAL_NAMES = {0: "Jane Smith", 1: "Ahmed Khan", 2: "Li Wei", 3: "Mary Jones", 4: "Tom Brown"}

CASES = [
    # --- columns: missing, personal, delimiter ---
    Case("missing-column-force-crimes", "police_crimes", contract("force_crimes", drop=("ho_offence_code",)),
         Refused(SourceError, r"force_crimes_2024Q1\.csv, line 1: missing required columns: ho_offence_code")),
    Case("missing-column-police-uk", "police_incidents",
         file("2024-01-leicestershire-street.csv", POLICE_UK, drop=("LSOA code",)),
         Refused(SourceError, r"2024-01-leicestershire-street\.csv.*missing required columns: LSOA code")),
    Case("missing-column-hes-apc", "hospital_admissions", file("icb_hes_apc_2024q1.csv", HES_APC, drop=("ADMIDATE",)),
         Refused(SourceError, r"icb_hes_apc_2024q1\.csv.*missing required columns: ADMIDATE")),
    Case("missing-column-stats19", "road_collisions",
         file("dft-road-casualty-statistics-collision-2024.csv", STATS19, drop=("date", "time")),
         Refused(SourceError, r"collision-2024\.csv.*missing required columns: date, time")),
    Case("personal-column-date-of-birth", "school_exclusions",
         contract("school_exclusions", date_of_birth="2011-04-17"),
         Accepted(notes=("dropped columns not in the contract: date_of_birth",),
                  absent=("date_of_birth", "2011-04-17"))),
    # Free text is scanned: a checksum-valid NHS number and a phone number are redacted, the
    # rows kept, and the ledger counts the rows redacted.
    Case("nhs-number-in-free-text", "racial_incidents",
         contract("racial_incidents", location_description={0: "victim NHS 943 476 5919 at the shop",
                                                             2: "call 07700 900123"}),
         Accepted(notes=("personal data redacted from free text in 2 rows: 1 nhs number, 1 phone",),
                  absent=("943 476 5919", "07700 900123"))),
    Case("personal-column-victim-name", "racial_incidents", contract("racial_incidents", victim_name=PERSONAL_NAMES),
         Accepted(notes=("dropped columns not in the contract: victim_name",), absent=("victim_name", "Jane Smith"))),
    Case("semicolon-delimiter", "police_incidents", contract("force_incidents", sep=";"),
         Refused(SourceError, r"force_incidents_2024Q1\.csv, line 1: missing required columns: incident_ref, ")),
    Case("unquoted-comma-in-every-row", "school_exclusions",
         unquoted(contract("school_exclusions", school_address="1 School Lane, Leicester")),
         Refused(SourceError,
                 r"school_exclusions_2024Q1\.csv: every row has more fields than the header.*\[malformed_csv\]")),
    Case("unquoted-comma-in-one-row", "school_exclusions",
         unquoted(contract("school_exclusions", school_address={i: "1 School Lane" + ", Leicester" * (i == 2)
                                                                for i in range(5)})),
         Refused(SourceError,
                 r"school_exclusions_2024Q1\.csv: not a well-formed CSV .*line 4, saw 10.*\[malformed_csv\]")),
    # --- encodings ---
    *(Case(f"encoding-{encoding}", "school_exclusions",
           contract("school_exclusions", encoding=encoding, school_name=SCHOOL),
           Accepted(rows_in=5, staged=(("school_name", SCHOOL),)))
      for encoding in ("utf-8", "utf-8-sig", "cp1252")),
    Case("encoding-utf16-refused", "school_exclusions", contract("school_exclusions", encoding="utf-16"),
         Refused(SourceError, r"school_exclusions_2024Q1\.csv: .*UTF-16.*\[unreadable_encoding\]")),
    # --- truncated, empty, nil ---
    Case("truncated-mid-row", "police_crimes", truncated(contract("force_crimes"), 70),
         Refused(SourceError,
                 r"force_crimes_2024Q1\.csv, line 6: the last row has 2 of 8 fields .* \[truncated_file\]")),
    Case("truncated-in-lsoa-code", "fire_incidents", truncated(contract("fire_other_incidents"), 4),
         Refused(SourceError, r"fire_other_incidents_2024Q1\.csv, line 6: .*cut short \[truncated_file\]")),
    Case("empty-file", "racial_incidents", {"racial_incidents_2024Q1.csv": b""},
         Refused(SourceError, r"racial_incidents_2024Q1\.csv: the file is empty \(no header row\) \[missing_header\]")),
    Case("header-only-nil-return", "council_asb", contract("council_asb", n=0),
         Accepted(rows_in=0, notes=("nil return",))),
    # --- duplicates ---
    Case("duplicate-incident-ref", "police_incidents",
         contract("force_incidents", incident_ref={1: "CAD-240105-0042-0"}),
         Rejected("duplicate records")),
    Case("duplicate-exclusion-ref", "school_exclusions",
         contract("school_exclusions", exclusion_ref={4: "EXC-2024-0012-0"}),
         Rejected("duplicate records")),
    Case("duplicate-drug-count", "health_counts", drug_counts(area_code={i: "LE1" for i in range(5)}),
         Rejected("the same count reported twice")),
    # --- dates and times ---
    Case("date-outside-quarter", "ambulance_callouts", contract("ambulance_callouts", call_date={0: "2024-04-01"}),
         quarantined(1, "date_outside_quarter")),
    Case("most-dates-outside-quarter", "police_crimes", contract("force_crimes", offence_date=ALL_BUT_ONE_IN_2023Q4),
         Refused(MultiQuarterFile,
                 r"4 of 5 police_crimes rows in .*force_crimes_2024Q1\.csv are dated outside 2024Q1")),
    Case("every-date-outside-quarter", "racial_incidents", contract("racial_incidents", incident_date="2023-11-20"),
         Refused(MultiQuarterFile, r"5 of 5 racial_incidents rows .* `csp history ")),
    Case("every-row-quarantined", "school_exclusions", contract("school_exclusions", reason_code="ZZ"),
         Rejected("most rows quarantined (5 of 5 rows")),
    Case("unparseable-date", "council_asb", contract("council_asb", incident_date={0: "10/01/2024", 1: "2024-02-30"}),
         quarantined(2, "unparseable_date")),
    Case("unparseable-time", "fire_incidents", contract("fire_other_incidents", incident_time={2: "25:61"}),
         quarantined(1, "unparseable_time")),
    Case("lfb-iso-date", "fire_false_alarms",
         file("lfb_incident_records_2024Q1.csv",
              {"IncidentNumber": "240001", "DateOfCall": "05 Jan 2024", "TimeOfCall": "21:40:00",
               "IncidentGroup": "False Alarm", "StopCodeDescription": "False alarm - Malicious",
               "PropertyCategory": "Dwelling", "Postcode_district": "LE1", "Latitude": "52.634",
               "Longitude": "-1.133"}, DateOfCall={0: "2024-01-05"}),
         quarantined(1, "unparseable_date")),
    Case("police-uk-wrong-month", "police_crimes",
         {**file("2024-01-leicestershire-street.csv", POLICE_UK, 4),
          **file("2023-12-leicestershire-street.csv", POLICE_UK, 2, Month="2023-12")},
         Accepted(quarantined=2, rules=frozenset({"date_outside_quarter"}), rows_in=6)),
    # --- locations ---
    Case("invalid-lsoa-format", "racial_incidents", contract("racial_incidents", lsoa_code={0: "E0102563", 1: "LE1"}),
         quarantined(2, "invalid_lsoa")),
    Case("out-of-area-lsoa", "council_asb", contract("council_asb", lsoa_code={i: CITY_OF_LONDON for i in range(4)}),
         Rejected("too few rows located inside the partnership area")),
    Case("full-postcode-hes-apc", "hospital_admissions",
         file("icb_hes_apc_2024q1.csv", HES_APC, POSTCODE_OUTWARD={0: "LE1 5AB"}),
         # Cut to the outward code, row kept: the inward part never reaches staging.
         Accepted(absent=("LE1 5AB", "5AB"))),
    Case("full-postcode-ambulance", "ambulance_callouts",
         contract("ambulance_callouts", outward_postcode={3: "LE2 7LX"}),
         Accepted(absent=("LE2 7LX", "7LX"))),
    Case("ed-assault-full-postcode-and-bad-time", "ed_assault_attendances",
         file("trust_hes_ae_2024q1.csv", HES_AE, POSTCODE_OUTWARD={0: "LE1 6XY"}, ARRIVALTIME={1: "2575"}),
         Accepted(quarantined=1, rules=frozenset({"unparseable_time"}), absent=("6XY",))),
    Case("ed-non-assault-attendances-out-of-scope", "ed_assault_attendances",
         file("trust_hes_ae_2024q1.csv", HES_AE, AEPATGROUP={0: "60", 1: "80"}),
         Accepted(rows_in=3)),
    Case("invalid-outward-code", "domestic_abuse_admissions",
         file("icb_hes_apc_2024q1.csv", HES_APC, CAUSE_4="Y070", POSTCODE_OUTWARD={1: "LEICS"}),
         quarantined(1, "invalid_postcode")),
    Case("coordinates-in-paris", "police_crimes",
         contract("force_crimes", latitude={0: "48.85"}, longitude={0: "2.35"}),
         quarantined(1, "invalid_coordinates")),
    Case("half-coordinates", "fire_incidents",
         contract("fire_other_incidents", latitude={1: "52.6"}, longitude={1: ""}),
         quarantined(1, "invalid_coordinates")),
    # --- counts ---
    Case("non-numeric-count", "health_counts", drug_counts(persons_in_treatment={0: "twelve"}),
         quarantined(1, "invalid_count")),
    Case("negative-count", "health_counts", drug_counts(persons_in_treatment={2: "-3"}),
         quarantined(1, "invalid_count")),
    Case("count-period-outside-quarter", "health_counts", drug_counts(period_start={0: "2023-10-01"}),
         quarantined(1, "date_outside_quarter")),
    # --- code lists ---
    Case("unknown-ho-offence-code", "police_crimes", contract("force_crimes", ho_offence_code={0: "999Z"}),
         quarantined(1, "unknown_category")),
    Case("unknown-nsir-category", "police_incidents", contract("force_incidents", nsir_category={0: "Made up"}),
         quarantined(1, "unknown_category")),
    Case("unknown-exclusion-reason", "school_exclusions", contract("school_exclusions", reason_code={0: "ZZ"}),
         quarantined(1, "unknown_category")),
    Case("unknown-asb-category", "council_asb", contract("council_asb", asb_category={1: "Loud music"}),
         quarantined(1, "unknown_category")),
    Case("unknown-incident-kind", "fire_incidents",
         contract("fire_other_incidents", incident_kind={0: "Chip pan fire"}),
         quarantined(1, "unknown_category")),
    Case("unknown-collision-severity", "road_collisions",
         file("dft-road-casualty-statistics-collision-2024.csv", STATS19, collision_severity={0: "7"}),
         Accepted(quarantined=1, rules=frozenset({"unknown_category"}), notes=("no casualty file",))),
    # --- file formats and names ---
    Case("xlsx-merged-header-cells", "police_crimes",
         {"force_crimes_2024Q1.xlsx": xlsx_with_merged_header("force_crimes", "ho_offence_code", "crime_type")},
         Refused(SourceError, r"force_crimes_2024Q1\.xlsx, line 1: missing required columns: crime_type")),
    Case("txt-extension-not-part-of-return", "police_crimes",
         {"force_crimes_2024Q1.txt": contract("force_crimes")["force_crimes_2024Q1.csv"]},
         Refused(FileNotFoundError, r"no police_crimes return in {folder}")),
    Case("json-file-not-part-of-return", "police_crimes", {"force_crimes_2024Q1.json": b'[{"crime_ref": "LE-1"}]'},
         Refused(FileNotFoundError, r"no police_crimes return in {folder}")),
    Case("stats19-without-casualty-file", "road_collisions",
         file("dft-road-casualty-statistics-collision-2024.csv", STATS19),
         Accepted(rows_in=5, notes=("no casualty file in the return: casualty counts are null",))),
]


# --- the table --------------------------------------------------------------------------------


def staged_version(settings, dataset: str, suffix: str) -> Path:
    return settings.staging_dir / dataset / Q.label / f"v1{suffix}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input(workspace, case):
    folder = workspace.landing_dir / DATASETS[case.dataset].authority / Q.label
    folder.mkdir(parents=True)
    for name, content in case.files.items():
        content(folder / name) if callable(content) else (folder / name).write_bytes(content)
    expect = case.expect

    if isinstance(expect, Refused):
        with pytest.raises(expect.error, match=expect.match.replace("{folder}", re.escape(str(folder)))):
            ingest_return(workspace, case.dataset, Q)
        assert Staging(workspace.staging_dir).ledger().empty  # refused before anything is staged
        return

    entry = ingest_return(workspace, case.dataset, Q)
    assert entry.rows_in == entry.rows_loaded + entry.rows_quarantined + entry.rows_rejected
    if isinstance(expect, Rejected):
        assert entry.status == "rejected" and entry.rows_in > 0, entry
        assert any(expect.failure in failure for failure in entry.failures), entry.failures
        return

    assert entry.status == "accepted" and entry.rows_rejected == 0, entry.failures
    assert entry.rows_quarantined == expect.quarantined
    if expect.rows_in is not None:
        assert entry.rows_in == expect.rows_in
    quarantine = pd.read_csv(staged_version(workspace, case.dataset, ".quarantine.csv"))
    assert set(quarantine["rule"]) == set(expect.rules)
    for note in expect.notes:
        assert any(note in n for n in entry.notes), entry.notes
    staged = pd.read_parquet(staged_version(workspace, case.dataset, ".parquet"))
    assert len(staged) == entry.rows_staged
    dump = staged.to_csv(index=False)
    for value in expect.absent:
        assert value not in dump, f"{value!r} reached the staged table"
    for column, value in expect.staged:
        assert set(staged[column]) == {value}


def test_the_table_covers_every_dataset():
    assert {c.dataset for c in CASES} == set(DATASETS)
    assert len({c.id for c in CASES}) == len(CASES) >= 32
