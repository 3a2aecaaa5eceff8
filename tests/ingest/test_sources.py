"""Source adapters: every real file ingests and matches an independent count of the raw file;
contract fixtures quarantine bad rows with the right rule; encodings, .xlsx and refusals."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest

from csp.quarters import Quarter
from csp.registry import DATASETS, SOURCE_FORMATS
from csp.sources import Parsed, SourceError, find_return_files, parse_return
from csp.sources.frames import output_columns

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT_DIR / "docs" / "data-contracts" / "templates"
CONTRACT_FORMATS = [f.id for f in SOURCE_FORMATS.values() if not f.real]
RTC_COUNTS = ["killed_adults", "killed_children", "serious_adults", "serious_children",
              "slight_adults", "slight_children", "casualties_age_unknown"]


def raw(path: Path) -> pd.DataFrame:
    """The independent reading: plain pandas, every cell a string."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def parse(dataset_id: str, format_id: str, paths, quarter=None) -> Parsed:
    return parse_return(DATASETS[dataset_id], {format_id: list(paths)}, quarter)


def assert_record_invariants(parsed: Parsed, dataset_id: str, data_rows: int | None = None) -> None:
    assert parsed.rows_in == parsed.rows_loaded + len(parsed.quarantine)
    if data_rows is not None:
        assert parsed.rows_in + parsed.rows_out_of_scope == data_rows
    assert list(parsed.frame.columns) == list(output_columns(DATASETS[dataset_id]))
    assert list(parsed.quarantine.columns) == ["source_file", "source_line", "rule", "reason"]
    frame = parsed.frame
    if "event_date" in frame:
        assert frame["event_date"].dtype == "datetime64[ns]"
        assert (frame["event_date"].dropna() == frame["event_date"].dropna().dt.normalize()).all()
        times = frame["event_time"].dropna()
        assert all(isinstance(t, dt.time) for t in times)
        assert set(frame["location_precision"]) <= {"point", "lsoa", "outward_postcode", "none"}
        assert frame.loc[frame["location_precision"] != "point", "latitude"].isna().all()


def write(path: Path, text: str, encoding: str = "utf-8", newline: str = "\n") -> Path:
    path.write_bytes(text.replace("\n", newline).encode(encoding))
    return path


def rules(parsed: Parsed) -> dict[int, str]:
    return dict(zip(parsed.quarantine["source_line"], parsed.quarantine["rule"], strict=True))


# --- real files ------------------------------------------------------------------------------

POLICE_FILES = {
    "2020-01-leicestershire-street.csv": Quarter(2020, 1),
    "2016-03-cumbria-street.csv": Quarter(2016, 1),
    "2016-01-city-of-london-street.csv": Quarter(2016, 1),
    "2025-05-city-of-london-street.csv": Quarter(2025, 2),
}


@pytest.mark.parametrize("name", POLICE_FILES)
def test_police_uk_street_files_match_raw_counts(reference_dir, name):
    path = reference_dir / "police_uk" / name
    source = raw(path)
    crimes = parse("police_crimes", "police_uk_street", [path], POLICE_FILES[name])
    incidents = parse("police_incidents", "police_uk_street", [path], POLICE_FILES[name])
    for parsed, dataset_id in ((crimes, "police_crimes"), (incidents, "police_incidents")):
        assert_record_invariants(parsed, dataset_id, len(source))
        assert parsed.quarantine.empty
    assert crimes.rows_in == incidents.rows_out_of_scope
    expected = source["Crime type"].value_counts().sort_index()
    got = pd.concat([crimes.frame, incidents.frame])["category"].value_counts().sort_index()
    pd.testing.assert_series_equal(got, expected, check_names=False, check_dtype=False, check_index_type=False)
    # Rows without any location are kept, with precision "none".
    no_location = (source["LSOA code"] == "") & (source["Longitude"] == "")
    frame = pd.concat([crimes.frame, incidents.frame])
    assert (frame["location_precision"] == "none").sum() == no_location.sum()
    # LSOA codes as supplied (2011 and 2021 codes mixed in recent files), never re-coded.
    assert set(frame["lsoa_code"].dropna()) == set(source.loc[source["LSOA code"] != "", "LSOA code"])
    assert (frame["event_date"] == pd.Timestamp(source["Month"].iloc[0] + "-01")).all()
    assert incidents.frame["source_ref"].isna().all()
    crime_ids = source.loc[source["Crime type"] != "Anti-social behaviour", "Crime ID"]
    assert crimes.frame["source_ref"].notna().sum() == (crime_ids != "").sum()


def test_police_uk_rows_outside_the_quarter_are_quarantined(reference_dir):
    path = reference_dir / "police_uk" / "2020-01-leicestershire-street.csv"
    parsed = parse("police_crimes", "police_uk_street", [path], Quarter(2020, 2))
    assert parsed.frame.empty and set(parsed.quarantine["rule"]) == {"date_outside_quarter"}
    assert_record_invariants(parsed, "police_crimes", len(raw(path)))


def test_lfb_sample_splits_fires_and_malicious_false_alarms(reference_dir):
    path = reference_dir / "fire" / "lfb_incident_records_sample.csv"
    source = raw(path)
    fires = parse("fire_incidents", "lfb_incidents", [path])
    alarms = parse("fire_false_alarms", "lfb_incidents", [path])
    assert_record_invariants(fires, "fire_incidents", len(source))
    assert_record_invariants(alarms, "fire_false_alarms", len(source))
    is_fire = source["StopCodeDescription"].isin(["Primary Fire", "Secondary Fire"])
    assert len(fires.frame) == is_fire.sum() > 0
    assert len(alarms.frame) == (source["StopCodeDescription"] == "False alarm - Malicious").sum()
    # No Motive column: never guessed deliberate.
    assert fires.frame["category"].str.endswith("(motive not recorded)").all()
    assert any("no Motive column" in note for note in fires.notes)
    assert not fires.frame.isin(set(source["Postcode_full"])).any().any()
    assert set(fires.frame["outward_postcode"]) <= set(source["Postcode_district"])
    assert fires.frame["event_time"].notna().all()
    assert (fires.frame["time_precision"] == "minute").all()


def test_lfb_motive_decides_deliberate_and_accidental_is_out_of_scope(tmp_path, reference_dir):
    header = raw(reference_dir / "fire" / "lfb_incident_records_sample.csv").iloc[[2, 10, 10, 2, 2]].copy()
    header["Motive"] = ["Deliberate", "Deliberate", "Accidental", "Not known", "Arson?"]
    header.iloc[1, header.columns.get_loc("PropertyCategory")] = "Road Vehicle"
    path = tmp_path / "lfb_incident_records_q1.csv"
    header.to_csv(path, index=False)
    fires = parse("fire_incidents", "lfb_incidents", [path])
    assert_record_invariants(fires, "fire_incidents", 5)
    assert list(fires.frame["category"]) == [
        "Deliberate secondary fire", "Deliberate vehicle fire", "Secondary fire (motive not recorded)"]
    assert fires.rows_out_of_scope == 1 and rules(fires) == {6: "unknown_category"}


def test_stats19_head_collisions_ingest_without_joining_casualties(reference_dir):
    folder = reference_dir / "road_collisions"
    collisions = folder / "dft-road-casualty-statistics-collision-2021.head.csv"
    casualties = folder / "dft-road-casualty-statistics-casualty-2021.head.csv"
    parsed = parse("road_collisions", "stats19", [collisions, casualties])
    source = raw(collisions)
    assert_record_invariants(parsed, "road_collisions", len(source))
    expected = source["collision_severity"].map({"1": "Fatal", "2": "Serious", "3": "Slight"}).value_counts()
    pd.testing.assert_series_equal(parsed.frame["category"].value_counts().sort_index(), expected.sort_index(),
                                   check_names=False, check_dtype=False, check_index_type=False)
    assert parsed.frame[RTC_COUNTS].isna().all().all()
    assert any(f"{len(source)} collisions have no casualty rows" in note for note in parsed.notes)
    assert parsed.frame["adjusted_serious"].notna().all()


def test_stats19_older_names_join_casualties_by_age_and_severity(tmp_path):
    write(tmp_path / "accidents_2015.csv",
          "accident_index,date,time,accident_severity,lsoa_of_accident_location,longitude,latitude\n"
          "A1,05/01/2015,08:15,2,E01011992,-1.2155,54.7054\n"
          "A2,06/01/2015,23:05,3,-1,,\n"
          "A3,32/01/2015,10:00,3,E01011992,-1.2,54.7\n"
          "A4,07/01/2015,10:00,7,E01011992,-1.2,54.7\n")
    write(tmp_path / "casualty_2015.csv",
          "accident_index,age_of_casualty,casualty_severity\n"
          "A1,34,2\nA1,15,3\nA1,16,3\nA1,-1,3\nA2,9,1\n")
    parsed = parse("road_collisions", "stats19", sorted(tmp_path.glob("*.csv")), Quarter(2015, 1))
    assert_record_invariants(parsed, "road_collisions", 4)
    assert rules(parsed) == {4: "unparseable_date", 5: "unknown_category"}
    a1, a2 = parsed.frame.set_index("source_ref").loc[["A1", "A2"]].to_dict("records")
    casualties = ("serious_adults", "slight_children", "slight_adults", "casualties_age_unknown")
    assert tuple(a1[c] for c in casualties) == (1, 1, 1, 1)
    assert (a2["killed_children"], a2["killed_adults"], a2["location_precision"]) == (1, 0, "none")
    assert pd.isna(a1["adjusted_serious"])


def test_leeds_rtc_casualty_totals_match_raw_file(reference_dir):
    path = reference_dir / "road_collisions" / "leeds-rtc-casualties-2015.csv"
    source = raw(path)
    parsed = parse("road_collisions", "council_rtc_casualties", [path])
    assert parsed.rows_in == len(source) and parsed.rows_out_of_scope == 0
    assert parsed.rows_loaded == int(parsed.frame[RTC_COUNTS].sum().sum())
    age = pd.to_numeric(source["Age of Casualty"], errors="coerce")
    child = age <= 15
    for severity, prefix in (("Fatal", "killed"), ("Serious", "serious"), ("Slight", "slight")):
        is_severity = source["Casualty Severity"] == severity
        assert parsed.frame[f"{prefix}_adults"].sum() == (is_severity & ~child & age.notna()).sum()
        assert parsed.frame[f"{prefix}_children"].sum() == (is_severity & child).sum()
    assert len(parsed.frame) == len(source[["Reference Number", "Accident Date"]].drop_duplicates())
    assert parsed.frame["lsoa_code"].str.startswith("E01").all()  # resolved from the grid reference
    assert parsed.frame["latitude"].between(53.6, 54.0).all()
    first = parsed.frame.set_index("source_ref").loc["21K0978"]
    assert first["event_time"] == dt.time(16, 45) and first["category"] == "Slight"


def _hes_codes(source: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in source if c.startswith("DIAG_4_")] + ["CAUSE_4"]
    cells = source[columns].stack().str.upper().str.split(",").explode().str.strip()
    return cells.rename("code").reset_index(level=1, drop=True).reset_index()


def test_hes_apc_admissions_match_independent_selection(reference_dir):
    path = reference_dir / "health" / "artificial_hes_apc_0102.csv"
    source = raw(path)
    code_list = raw(reference_dir / "health" / "icd10_csp_admission_codes_who2019.csv")
    categories = set(code_list.loc[code_list["level"] == "category", "code"])
    first = source[source["EPIORDER"] == "1"]
    cells = _hes_codes(first)
    selected = first.loc[sorted(set(cells.loc[cells["code"].str[:3].isin(categories), "index"]))]
    parsed = parse("hospital_admissions", "hes_apc", [path])
    assert_record_invariants(parsed, "hospital_admissions", len(source))
    assert sorted(parsed.frame["source_ref"]) == sorted(selected["EPIKEY"])
    assert (parsed.frame["location_precision"] == "none").all()
    assert parsed.frame["lsoa_code"].isna().all()
    assert any("no outward postcode" in note for note in parsed.notes)
    assert set(parsed.frame["category"]) <= set(code_list["csp_group"])
    abuse = parse("domestic_abuse_admissions", "hes_apc", [path])
    assert_record_invariants(abuse, "domestic_abuse_admissions", len(source))
    assert len(abuse.frame) == cells["code"].str[:4].isin(["Y070", "Y071", "Y072"]).groupby(cells["index"]).any().sum()


def test_hes_apc_outward_postcode_and_domestic_abuse(tmp_path):
    path = write(tmp_path / "ccg_hes_apc_2024q1.csv",
                 "EPIKEY,ADMIDATE,EPIORDER,DIAG_4_01,DIAG_4_02,CAUSE_4,POSTCODE_OUTWARD,LSOA11\n"
                 "1,2024-01-03,1,S001,,Y070,LE1,E01025631\n"
                 "2,2024-01-04,2,S001,,Y070,LE1,E01025631\n"
                 "3,2024-02-10,1,S001,T510,Y071,LE1 5WW,E01025631\n"
                 "4,2024-02-11,1,F101,,,LE19,\n"
                 "5,2024-13-01,1,X991,,Y072,LE2,\n"
                 "6,2024-03-01,1,J22X,,,LE2,\n")
    abuse = parse("domestic_abuse_admissions", "hes_apc", [path], Quarter(2024, 1))
    assert_record_invariants(abuse, "domestic_abuse_admissions", 6)
    assert rules(abuse) == {6: "unparseable_date"}
    assert abuse.frame.loc[abuse.frame["source_line"] == 4, "outward_postcode"].tolist() == ["LE1"]
    assert abuse.frame.iloc[0][["category", "category_code", "outward_postcode"]].tolist() == [
        "Maltreatment by spouse or partner", "Y070", "LE1"]
    admissions = parse("hospital_admissions", "hes_apc", [path], Quarter(2024, 1))
    assert_record_invariants(admissions, "hospital_admissions", 6)
    assert list(admissions.frame["category_code"]) == ["Y070", "T510", "F101"]
    assert "5WW" not in admissions.frame.to_string()
    assert "E01025631" not in admissions.frame.to_string()


def test_hes_op_counts_match_independent_count(reference_dir):
    path = reference_dir / "health" / "artificial_hes_op_0304_truncated.csv"
    source = raw(path)
    specialty = pd.to_numeric(source["TRETSPEF"], errors="coerce")
    wanted = source[source["FIRSTATT"].isin(["1", "3"]) & (specialty.between(710, 715) | specialty.between(720, 729))]
    parsed = parse("health_counts", "hes_op", [path])
    assert parsed.rows_loaded == int(parsed.frame["value"].sum())
    assert parsed.rows_in == len(wanted)
    assert parsed.rows_in + parsed.rows_out_of_scope == len(source)
    expected = wanted["APPTDATE"].str[:7].value_counts().sort_index()
    got = parsed.frame.set_index(parsed.frame["period_start"].dt.strftime("%Y-%m"))["value"].sort_index()
    assert got.to_dict() == expected.to_dict()
    assert set(parsed.frame["area_code"]) == {"unknown"} and set(parsed.frame["area_type"]) == {"none"}
    assert (parsed.frame["period_end"] == parsed.frame["period_start"] + pd.offsets.MonthEnd(0)).all()


# --- contract formats ------------------------------------------------------------------------

CONTRACT_CASES = {
    "force_crimes": ("police_crimes",
        "crime_ref,offence_date,offence_time,ho_offence_code,crime_type,lsoa_code,latitude,longitude\n"
        "C1,2024-01-05,23:10,8N,Violence and sexual offences,E01025631,,\n"
        "C2,2024-02-29,,56B,Criminal damage and arson,,52.62,-1.21\n"
        "C3,2024-01-05,10:00,ZZZ,Burglary,E01025631,,\n"
        "C4,05/01/2024,10:00,8N,Violence and sexual offences,E01025631,,\n"
        "C5,2024-04-01,10:00,8N,Violence and sexual offences,E01025631,,\n"
        "C6,2024-01-05,25:00,8N,Violence and sexual offences,E01025631,,\n"
        "C7,2024-01-05,10:00,8N,Violence and sexual offences,LE1 5WW,,\n",
        {4: "unknown_category", 5: "unparseable_date", 6: "date_outside_quarter", 7: "unparseable_time",
         8: "invalid_lsoa"}),
    "force_incidents": ("police_incidents",
        "incident_ref,incident_date,incident_time,nsir_category,nsir_qualifier,lsoa_code,latitude,longitude\n"
        "I1,2024-01-05,21:00,Rowdy Or Inconsiderate Behaviour,Personal,E01025631,,\n"
        "I2,2024-01-06,,Concern For Safety,,,,\n"
        "I3,2024-01-06,10:00,Burglary Dwelling,,E01025631,,\n"
        "I4,2024-01-06,10:00,Alien Landing,,E01025631,,\n"
        "I5,2024-01-06,10:00,Noise,Loud,E01025631,,\n"
        "I6,2024-01-06,10:00,Noise,Environmental,,91.0,-1.2\n",
        {5: "unknown_category", 6: "unknown_category", 7: "invalid_coordinates"}),
    "fire_other_incidents": ("fire_incidents",
        "incident_ref,incident_date,incident_time,incident_kind,lsoa_code,latitude,longitude\n"
        "F1,2024-03-31,23:59,Violence against employees,E01025631,,\n"
        "F2,2024-01-01,00:00,Dwelling fire - no smoke alarm,,52.62,-1.21\n"
        "F3,2024-01-01,00:00,Chip pan fire,,52.62,-1.21\n",
        {4: "unknown_category"}),
    "school_exclusions": ("school_exclusions",
        "exclusion_ref,start_date,exclusion_type,reason_code,pupil_age,pupil_gender,school_name,school_address,school_lsoa\n"
        "X1,2024-01-10,fixed,PP,13,M,Oak Academy,1 School Lane,E01025631\n"
        "X2,2024-02-10,permanent,pd,15,F,Oak Academy,1 School Lane,E01025631\n"
        "X3,2024-02-10,fixed,ZZ,15,F,Oak Academy,1 School Lane,E01025631\n"
        "X4,2024-02-10,fixed,BU,fifteen,F,Oak Academy,1 School Lane,E01025631\n"
        "X5,2024-02-10,expelled,BU,15,F,Oak Academy,1 School Lane,E01025631\n",
        {4: "unknown_category", 5: "invalid_value", 6: "unknown_category"}),
    "racial_incidents": ("racial_incidents",
        "incident_ref,incident_date,incident_time,incident_type,lsoa_code,location_description\n"
        "R1,2024-01-10,14:30,Verbal abuse,E01025631,outside 4 Acacia Avenue\n"
        "R2,2024-01-11,,Graffiti,W01000001,bus shelter\n"
        "R3,2024-01-11,,Shouting,E01025631,\n",
        {4: "unknown_category"}),
    "council_asb": ("council_asb",
        "incident_ref,incident_date,incident_time,nsir_qualifier,asb_category,lsoa_code\n"
        "A1,2024-01-10,22:00,Environmental,Noise,E01025631\n"
        "A2,2024-01-12,,Personal,rowdy / nuisance neighbours,\n"
        "A3,2024-01-12,,Personal,Burglary Dwelling,E01025631\n",
        {4: "unknown_category"}),
    "drug_treatment_counts": ("health_counts",
        "period_start,period_end,area_code,area_type,persons_in_treatment\n"
        "2024-01-01,2024-03-31,E06000016,district,412\n"
        "2024-01-01,2024-03-31,LE1,outward_postcode,0\n"
        "2024-01-01,2024-03-31,E06000016,district,-3\n"
        "2024-01-01,2024-03-31,E06000016,district,x\n"
        "2024-03-01,2024-01-31,E06000016,district,5\n"
        "2024-01-01,2024-03-31,E06000016,county,5\n",
        {4: "invalid_count", 5: "invalid_count", 6: "invalid_period", 7: "unknown_category"}),
    "ambulance_callouts": ("ambulance_callouts",
        "incident_ref,call_date,call_time,chief_complaint,nature_of_call,lsoa_code,outward_postcode\n"
        "M1,2024-01-10,01:15,Assault / sexual assault,Emergency,E01025631,LE1\n"
        "M2,2024-01-10,02:15,Overdose / poisoning,Urgent,,LE2\n"
        "M3,2024-01-10,02:15,Chest pain,Urgent,,LE2\n"
        "M4,2024-01-10,02:15,Overdose / poisoning,Urgent,,LE2 7AA\n",
        {4: "unknown_category"}),
}


@pytest.mark.parametrize("format_id", CONTRACT_CASES)
def test_contract_fixture_quarantines_bad_rows(tmp_path, format_id):
    dataset_id, text, expected_rules = CONTRACT_CASES[format_id]
    path = write(tmp_path / f"{format_id}_2024Q1.csv", text)
    parsed = parse(dataset_id, format_id, [path], Quarter(2024, 1))
    data_rows = text.count("\n") - 1
    if format_id != "force_incidents":
        assert parsed.rows_out_of_scope == 0
    assert_record_invariants(parsed, dataset_id, data_rows)
    assert rules(parsed) == expected_rules
    assert not parsed.quarantine["reason"].str.contains("Acacia|ZZZ|fifteen|Chest pain").any()


def test_contract_fixtures_carry_the_mandated_fields(tmp_path):
    def run(format_id):
        dataset_id, text, _ = CONTRACT_CASES[format_id]
        return parse(dataset_id, format_id, [write(tmp_path / f"{format_id}.csv", text)], Quarter(2024, 1)).frame

    crimes = run("force_crimes")
    assert crimes.iloc[0][["category_code", "offence_group", "time_precision"]].tolist() == [
        "8N", "violence against the person", "minute"]
    assert crimes.iloc[0]["event_time"] == dt.time(23, 10) and crimes.iloc[1]["time_precision"] == "day"
    incidents = run("force_incidents")
    assert incidents["category_code"].tolist() == ["202", "309"]
    assert incidents["nsir_qualifier"].tolist()[0] == "Personal"
    exclusions = run("school_exclusions")
    assert exclusions["category"].tolist() == ["Physical assault against a pupil", "Persistent disruptive behaviour"]
    assert exclusions["pupil_age"].dtype == "Int64" and exclusions["lsoa_code"].notna().all()
    racial = run("racial_incidents")
    # Free text is carried to depersonalisation (which redacts it: tests/ingest/test_depersonalise.py).
    assert racial["location_description"].notna().all()
    asb = run("council_asb")
    assert asb["category"].tolist() == ["Noise", "Rowdy / Nuisance Neighbours"]
    counts = run("drug_treatment_counts")
    assert counts["value"].tolist() == [412, 0] and set(counts["measure"]) == {"persons_in_drug_treatment"}


def test_incident_extract_crime_codes_are_out_of_scope(tmp_path):
    dataset_id, text, _ = CONTRACT_CASES["force_incidents"]
    parsed = parse(dataset_id, "force_incidents", [write(tmp_path / "force_incidents.csv", text)], None)
    assert parsed.rows_out_of_scope == 1 and 4 not in rules(parsed)


@pytest.mark.parametrize("format_id", CONTRACT_FORMATS)
def test_templates_ingest_cleanly(tmp_path, format_id):
    template = TEMPLATES / f"{format_id}.csv"
    dataset_id = next(d.id for d in DATASETS.values() if format_id in d.source_formats)
    path = tmp_path / f"{format_id}_template.csv"
    shutil.copy(template, path)
    parsed = parse(dataset_id, format_id, [path])
    assert parsed.quarantine.empty and len(parsed.frame) == 2 == parsed.rows_in
    assert (PROJECT_DIR / "docs" / "data-contracts" / f"{format_id}.md").is_file()


# --- reading ---------------------------------------------------------------------------------

EXCLUSION_TEXT = (
    "exclusion_ref,start_date,exclusion_type,reason_code,pupil_age,pupil_gender,school_name,school_address,school_lsoa\n"
    "X1,2024-01-10,fixed,PP,13,M,École Saint-Hélène,1 School Lane,E01025631\n"
    "\n"
    "X2,2024-01-11,fixed,BU,12,F,Oak Academy,\"2 Park Road, Leicester\",E01025632\n"
)


@pytest.mark.parametrize("encoding,newline",
                         [("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("cp1252", "\r\n"), ("cp1252", "\r")])
def test_encodings_and_line_endings(tmp_path, encoding, newline):
    path = write(tmp_path / "school_exclusions_q1.csv", EXCLUSION_TEXT, encoding, newline)
    parsed = parse("school_exclusions", "school_exclusions", [path], Quarter(2024, 1))
    assert parsed.quarantine.empty and parsed.rows_in == 2
    assert parsed.frame["school_name"].tolist() == ["École Saint-Hélène", "Oak Academy"]
    assert parsed.frame["source_line"].tolist() == [2, 4]  # physical lines, blank line counted
    assert parsed.frame["school_address"].tolist()[1] == "2 Park Road, Leicester"


def test_xlsx_contract_file(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(CONTRACT_CASES["force_crimes"][1]), dtype=str, keep_default_na=False)
    # Real date cells where the text is a valid date, the malformed text left as typed.
    dates = pd.to_datetime(frame["offence_date"], format="%Y-%m-%d", errors="coerce")
    frame["offence_date"] = [d if pd.notna(d) else text for d, text in zip(dates, frame["offence_date"], strict=True)]
    path = tmp_path / "force_crimes_2024Q1.xlsx"
    frame.to_excel(path, index=False)
    parsed = parse("police_crimes", "force_crimes", [path], Quarter(2024, 1))
    assert_record_invariants(parsed, "police_crimes", len(frame))
    assert rules(parsed) == CONTRACT_CASES["force_crimes"][2]
    assert parsed.frame["event_date"].tolist()[0] == pd.Timestamp("2024-01-05")


def test_unknown_extension_and_missing_column_name_the_file(tmp_path):
    odd = write(tmp_path / "force_crimes_2024Q1.txt", CONTRACT_CASES["force_crimes"][1])
    with pytest.raises(SourceError, match=r"force_crimes_2024Q1\.txt.*unsupported_file_type"):
        parse("police_crimes", "force_crimes", [odd])
    broken = write(tmp_path / "racial_incidents_q1.csv", "incident_ref,incident_date\nR1,2024-01-01\n")
    with pytest.raises(SourceError, match=r"racial_incidents_q1\.csv, line 1: missing required columns: incident_time"):
        parse("racial_incidents", "racial_incidents", [broken])
    real_xlsx = write(tmp_path / "x-street.xlsx", "")
    with pytest.raises(SourceError, match=r"x-street\.xlsx"):
        parse("police_crimes", "police_uk_street", [real_xlsx])


def test_find_return_files_groups_by_format(tmp_path):
    for name in ["force_crimes_a.csv", "force_crimes_b.xlsx", "2024-01-leics-street.csv", "notes.txt"]:
        (tmp_path / name).write_text("")
    found = find_return_files(DATASETS["police_crimes"], tmp_path)
    assert found == {
        "force_crimes": [tmp_path / "force_crimes_a.csv", tmp_path / "force_crimes_b.xlsx"],
        "police_uk_street": [tmp_path / "2024-01-leics-street.csv"],
    }
    assert find_return_files(DATASETS["police_crimes"], tmp_path / "absent") == {}


def test_alternative_formats_of_one_dataset_are_refused_together(tmp_path, reference_dir):
    shutil.copy(reference_dir / "police_uk" / "2020-01-leicestershire-street.csv", tmp_path)
    (tmp_path / "force_crimes_2020Q1.csv").write_text(
        "crime_ref,offence_date,offence_time,ho_offence_code,crime_type,lsoa_code,latitude,longitude\n")
    files = find_return_files(DATASETS["police_crimes"], tmp_path)
    assert set(files) == {"police_uk_street", "force_crimes"}
    with pytest.raises(SourceError, match="alternative formats .*send one"):
        parse_return(DATASETS["police_crimes"], files, None)


def test_a_date_of_birth_becomes_the_age_at_the_exclusion_and_goes_no_further(tmp_path):
    header = ("exclusion_ref,start_date,exclusion_type,reason_code,pupil_date_of_birth,pupil_gender,"
              "school_name,school_address,school_lsoa\n")
    path = tmp_path / "school_exclusions_2024Q1.csv"
    path.write_text(header
                    # birthday: 14
                    + "X1,2024-02-10,fixed,PD,2010-02-10,M,Beaumont School,\"1 Road, Leicester\",E01025631\n"
                    # day before: 13
                    + "X2,2024-02-10,fixed,PD,2010-02-11,F,Beaumont School,\"1 Road, Leicester\",E01025631\n"
                    + "X3,2024-02-10,fixed,PD,10/02/2010,F,Beaumont School,\"1 Road, Leicester\",E01025631\n")
    parsed = parse("school_exclusions", "school_exclusions", [path], Quarter(2024, 1))
    assert parsed.frame["pupil_age"].tolist() == [14, 13]
    assert rules(parsed) == {4: "invalid_value"}
    assert "2010-02" not in parsed.frame.to_string() and "pupil_date_of_birth" not in parsed.frame

    neither = tmp_path / "other" / "school_exclusions_2024Q1.csv"
    neither.parent.mkdir()
    neither.write_text(header.replace("pupil_date_of_birth,", "") + "X1,2024-02-10,fixed,PD,M,S,A,E01025631\n")
    with pytest.raises(SourceError, match="missing required columns: one of pupil_age, pupil_date_of_birth"):
        parse("school_exclusions", "school_exclusions", [neither], Quarter(2024, 1))
