"""No personal data anywhere: a synthetic partnership's returns are laced with names, full
postcodes, dates of birth, checksum-valid NHS numbers, phone numbers and emails, in the
free-text column and in the columns a partner might add or misuse (a victim's name, a reporter's
phone, the full postcode, the pupil's date of birth, the NHS number of a HES extract). The
whole cycle then runs through the real DAGs (ingest -> staging -> warehouse -> analysis ->
reports, with PDFs), and every place the platform writes is scanned for the planted values:
every table of every warehouse schema, every staging file (parquet, ledger, quarantine report,
Data Docs page, validation result), every report (HTML, manifest, PDF text via pdftotext),
the Airflow home (task logs and the metadata database, which holds XComs and asset events),
and every line of Python logging and console output. None may be found.
"""
from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from csp.pii import is_nhs_number
from csp.quarters import Quarter
from csp.warehouse.engine import make_engine

pytestmark = pytest.mark.slow
LACED = Quarter(2024, 4)  # the quarter whose returns carry personal data (every authority)

# kind -> the values planted, each as a partner would type it
NHS = ["943 476 5919", "401 023 2137", "9876543210"]
PLANTED = {
    "name": ["Zebedee Quartermaine", "Persephone Wigglesworth", "Ignatius Fotheringay"],
    "postcode": ["LE3 9QP", "LE1 7RH", "LE11 3TU", "LE2 8XW"],
    "date_of_birth": ["17/04/1985", "1979-11-02", "2011-03-23"],
    "nhs_number": NHS,
    "phone": ["07700 900461", "0116 496 0734", "+44 7700 900982"],
    "email": ["zebedee.quartermaine@example.org", "p.wigglesworth@example.net"],
}


def forms(kind: str, value: str) -> set[str]:
    """The spellings to search for: the value, and without its spaces; a name's surname on
    its own; a number's digits alone."""
    out = {value, value.replace(" ", "")}
    if kind == "name":
        out.add(value.split()[-1])
    if kind in ("nhs_number", "phone"):
        out.add("".join(c for c in value if c.isdigit()))
    return out


FREE_TEXT = [  # location_description of racial incidents: redacted by csp.pii
    "victim Mr Zebedee Quartermaine DOB 17/04/1985 lives at LE3 9QP",
    "reported by Ms Persephone Wigglesworth, tel 07700 900461, p.wigglesworth@example.net",
    "NHS 943 476 5919; call 0116 496 0734 or zebedee.quartermaine@example.org",
    "outside LE1 7RH, witness Dr Ignatius Fotheringay (+44 7700 900982), NHS no 401 023 2137",
    "date of birth 1979-11-02, born 2011-03-23, NHS 9876543210, postcode LE11 3TU / LE2 8XW",
]


def csv_of(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def lace(landing: Path) -> int:
    """Put personal data into the LACED quarter's returns; -> rows laced."""
    names, phones, emails = PLANTED["name"], PLANTED["phone"], PLANTED["email"]
    dobs, postcodes = PLANTED["date_of_birth"], PLANTED["postcode"]
    laced = 0

    def cycle(values, n):
        return [values[i % len(values)] for i in range(n)]

    def edit(path: Path, change) -> None:
        nonlocal laced
        frame = csv_of(path)
        n = min(len(frame), 12)
        head = frame.iloc[:n].copy()
        change(head, n)
        frame = pd.concat([head, frame.iloc[n:]], ignore_index=True).fillna("")
        frame.to_csv(path, index=False)
        laced += n

    folder = lambda authority: landing / authority / LACED.label  # noqa: E731

    def racial(rows, n):
        rows["location_description"] = cycle(FREE_TEXT, n)
        rows["victim_name"], rows["victim_dob"] = cycle(names, n), cycle(dobs, n)
        rows["victim_phone"], rows["victim_email"] = cycle(phones, n), cycle(emails, n)
        rows["victim_nhs_number"], rows["victim_postcode"] = cycle(NHS, n), cycle(postcodes, n)
    edit(folder("local_authority") / f"racial_incidents_{LACED}.csv", racial)

    def exclusions(rows, n):
        rows["pupil_name"] = cycle(names, n)
        rows["parent_phone"], rows["parent_email"] = cycle(phones, n), cycle(emails, n)
        rows["pupil_date_of_birth"] = "2011-03-23"  # becomes the age at the exclusion, then goes
    edit(folder("local_authority") / f"school_exclusions_{LACED}.csv", exclusions)

    def asb(rows, n):
        rows["reporter_name"], rows["reporter_phone"] = cycle(names, n), cycle(phones, n)
        rows["reporter_email"], rows["reporter_postcode"] = cycle(emails, n), cycle(postcodes, n)
    edit(folder("local_authority") / f"council_asb_{LACED}.csv", asb)

    def crimes(rows, n):
        rows["victim_name"], rows["victim_postcode"] = cycle(names, n), cycle(postcodes, n)
        rows["victim_dob"] = cycle(dobs, n)
    edit(folder("police") / f"force_crimes_{LACED}.csv", crimes)

    def fires(rows, n):
        rows["Postcode_full"] = cycle(postcodes, n)  # a real LFB column, not in the contract
        rows["caller_phone"] = cycle(phones, n)
    edit(folder("fire") / f"lfb_incident_records_{LACED}.csv", fires)

    def admissions(rows, n):
        # A full postcode where the outward code is due: cut to its outward code as it is read.
        rows["POSTCODE_OUTWARD"] = cycle([p for p in postcodes if p.startswith("LE")], n)
        rows["NEWNHSNO"], rows["DOB"] = cycle(NHS, n), cycle(dobs, n)
    edit(folder("health") / f"hes_apc_{LACED}.csv", admissions)
    return laced


def warehouse_text(url: str) -> dict[str, str]:
    """Every table of every schema as CSV text, all columns."""
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog')")).all()
        for schema, table in tables:
            frame = pd.read_sql(sa.text(f'SELECT * FROM "{schema}"."{table}"'), conn)
            out[f"warehouse {schema}.{table}"] = frame.to_csv(index=False)
    engine.dispose()
    return out


def calendar(kind: str, where: str) -> bool:
    """The date dimension holds every day of its range by design: a date found there is a
    calendar day, not someone's birth date."""
    return kind == "date_of_birth" and where == "warehouse core.dim_date"


def file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_csv(index=False)
    if path.suffix == ".pdf":
        return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                              capture_output=True, text=True).stdout
    return path.read_bytes().decode("utf-8", errors="replace")


def test_no_planted_personal_data_reaches_any_output(workspace, runner, caplog, capfd, monkeypatch):
    from conftest import AIRFLOW_HOME
    from csp.synth import generate

    assert all(is_nhs_number(n) for n in NHS)
    # Eight quarters: the reports need the 24 months a year-on-year comparison reads.
    manifest = generate(workspace.data_dir, seed=11, first_quarter=Quarter(2023, 1), quarters=8, scale=0.1)
    laced_rows = lace(workspace.landing_dir)
    landed = "".join(p.read_text() for p in (workspace.landing_dir).rglob(f"{LACED}/*.csv"))
    searched = {(kind, form) for kind, values in PLANTED.items() for v in values for form in forms(kind, v)}
    missing = [v for values in PLANTED.values() for v in values if v not in landed]
    assert not missing, f"not planted: {missing}"

    caplog.set_level(logging.INFO)
    quarters = [Quarter.parse(q) for q in manifest["quarters"]]
    monkeypatch.setenv("CSP_TODAY", "2025-04-01")  # the day after 2024Q4's deadline
    results = runner.run_cycle(quarters, progress=lambda _: None)
    assert {r.state for r in results} == {"success"}, results

    # The laced returns went all the way: accepted, redactions and dropped columns recorded.
    ledger = pd.read_sql("SELECT * FROM staging.returns", make_engine(workspace.warehouse_url).connect())
    laced = ledger[ledger["quarter"] == LACED.label].set_index("dataset")
    for dataset in ("racial_incidents", "school_exclusions", "council_asb", "police_crimes",
                    "fire_incidents", "hospital_admissions"):
        assert laced.loc[dataset, "status"] == "accepted", (dataset, laced.loc[dataset, "failures"])
    assert laced.loc["racial_incidents", "rows_redacted"] > 0
    assert "dropped columns not in the contract" in laced.loc["racial_incidents", "notes"]

    places = warehouse_text(workspace.warehouse_url)
    outputs = [*workspace.staging_dir.rglob("*"), *workspace.out_dir.rglob("*"), *Path(AIRFLOW_HOME).rglob("*")]
    files = [p for p in outputs if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".parquet", ".json", ".csv", ".html", ".pdf", ".db"} <= kinds, kinds
    places.update({str(p): file_text(p) for p in files})
    captured = capfd.readouterr()
    places["python logging"] = caplog.text
    places["console"] = captured.out + captured.err
    assert len(caplog.records) > 0

    found = sorted({(kind, form, where) for where, text in places.items()
                    for kind, form in searched if form in text and not calendar(kind, where)})
    patterns = len(PLANTED)
    values = sum(len(v) for v in PLANTED.values())
    message = (f"PII planted: {values} values of {patterns} patterns in {laced_rows} rows; "
               f"searched {len(searched)} spellings in {len(places)} places "
               f"({sum(1 for p in places if p.startswith('warehouse'))} warehouse tables, {len(files)} files); "
               f"found downstream: {len(found)}")
    with capfd.disabled():
        print("\n" + message)
    assert not found, found[:20]
