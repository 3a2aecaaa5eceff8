"""Builders shared by the warehouse, CLI, schedule and report tests: canonical frames of small
staged returns, and a build of the warehouse over them."""
from __future__ import annotations

import os
from datetime import date, datetime, time

import pandas as pd
import sqlalchemy as sa

from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.staging import Staging
from csp.warehouse import models
from csp.warehouse.engine import make_engine
from csp.warehouse.load import load_returns


Q = Quarter(2024, 1)
CRIMES = DATASETS["police_crimes"]


def events_frame(dataset_id: str, rows: list[dict]) -> pd.DataFrame:
    """Canonical rows of a record dataset: each row gives category, date and a location
    (lsoa_code or outward_postcode), and may give the dataset's extra columns; every other
    column takes a plain default."""
    n = len(rows)
    frame = pd.DataFrame({
        "source_file": [f"{dataset_id}.csv"] * n,
        "source_line": pd.array(range(2, n + 2), dtype="Int64"),
        "record_key": [f"k{i}" for i in range(n)],
        "event_date": [r["date"] for r in rows],
        "event_time": [r.get("time", time(22, 30)) for r in rows],
        "time_precision": ["minute"] * n,
        "category": [r["category"] for r in rows],
        "category_code": [r.get("code") for r in rows],
        "lsoa_code": [r.get("lsoa") for r in rows],
        "outward_postcode": [r.get("outward") for r in rows],
        "latitude": [None] * n,
        "longitude": [None] * n,
        "location_precision": ["outward_postcode" if r.get("outward") else "lsoa" for r in rows],
    })
    for column in DATASETS[dataset_id].extra_columns:  # a row may give one (casualty counts)
        frame[column] = [r.get(column) for r in rows]
    return frame


def crimes_frame(rows: list[tuple[str, str, date]]) -> pd.DataFrame:
    """Canonical police_crimes rows: (crime type, LSOA code, date)."""
    return events_frame("police_crimes", [{"category": c, "lsoa": lsoa, "date": d} for c, lsoa, d in rows])


def stage_events(settings, tmp_path, dataset_id: str, rows: list[dict], quarter: Quarter = Q,
                 received: datetime = datetime(2024, 4, 15, 9, 0)) -> None:
    path = tmp_path / f"{dataset_id}_{quarter}_{len(rows)}.csv"
    path.write_text(f"{dataset_id}\n{rows}\n")
    os.utime(path, (received.timestamp(), received.timestamp()))  # the ledger's received time
    quarantine = pd.DataFrame(columns=["source_file", "source_line", "rule", "reason"])
    Staging(settings.staging_dir).stage(DATASETS[dataset_id], quarter, [path], events_frame(dataset_id, rows),
                                        quarantine, rows_in=len(rows), rows_loaded=len(rows))


def stage(settings, tmp_path, name: str, rows) -> None:
    landing = tmp_path / "landing"
    landing.mkdir(exist_ok=True)
    path = landing / name
    path.write_text(f"{name}\n{rows}\n")  # distinct bytes -> distinct checksum -> new version
    frame = crimes_frame(rows)
    quarantine = pd.DataFrame(columns=["source_file", "source_line", "rule", "reason"])
    Staging(settings.staging_dir).stage(CRIMES, Q, [path], frame, quarantine,
                                        rows_in=len(frame), rows_loaded=len(frame))


LEICESTER_COUNTS = [("persons_in_drug_treatment", "E06000016", "district", 120),
                    ("mental_illness_op_first_attendances", "LE1", "outward_postcode", 7)]


def stage_counts(settings, tmp_path, counts: list[tuple[str, str, str, int]] = LEICESTER_COUNTS) -> None:
    """A health_counts return of January 2024: (measure, area code, area type, value) per row;
    by default one district count and one outward-code count in Leicester."""
    path = tmp_path / "drug_treatment_counts_2024Q1.csv"
    path.write_text(f"counts\n{counts}\n")
    n = len(counts)
    measures, areas, area_types, values = zip(*counts, strict=True)
    frame = pd.DataFrame({
        "source_file": [path.name] * n, "source_line": pd.array(range(2, n + 2), dtype="Int64"),
        "measure": list(measures), "period_start": [date(2024, 1, 1)] * n, "period_end": [date(2024, 1, 31)] * n,
        "area_code": list(areas), "area_type": list(area_types), "value": pd.array(values, dtype="Int64"),
    })
    quarantine = pd.DataFrame(columns=["source_file", "source_line", "rule", "reason"])
    Staging(settings.staging_dir).stage(DATASETS["health_counts"], Q, [path], frame, quarantine,
                                        rows_in=n, rows_loaded=n)


def marts(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text(
            "SELECT csp_code, theme, category, SUM(events) AS events FROM marts.monthly_counts "
            "GROUP BY csp_code, theme, category ORDER BY csp_code, category"), conn)


def build(settings):
    engine = make_engine(settings.warehouse_url)
    summary = load_returns(engine, settings)
    with engine.begin() as conn:
        models.build(conn)
    return engine, summary


LEICESTER, BLABY = "E01013636", "E01025631"  # LSOAs of the Leicester and Blaby CSPs
LEICESTER_2021 = "E01013636"

ONE_EVENT = {  # one plausible row per record dataset, located in Leicester
    "police_incidents": {"category": "Anti-social behaviour", "lsoa": LEICESTER},
    "police_crimes": {"category": "Burglary", "lsoa": LEICESTER},
    "fire_incidents": {"category": "Deliberate secondary fire", "lsoa": LEICESTER},
    "fire_false_alarms": {"category": "False alarm - Malicious", "lsoa": LEICESTER},
    "road_collisions": {"category": "Serious", "lsoa": LEICESTER},
    "school_exclusions": {"category": "Physical assault against a pupil", "lsoa": LEICESTER},
    "racial_incidents": {"category": "Verbal abuse", "lsoa": LEICESTER},
    "council_asb": {"category": "Noise", "lsoa": LEICESTER},
    "hospital_admissions": {"category": "assault_X85_Y09", "outward": "LE1"},
    "domestic_abuse_admissions": {"category": "Maltreatment by spouse or partner", "outward": "LE1"},
}


def stage_authority(settings, tmp_path, authority: str, received=datetime(2024, 4, 15, 9, 0)) -> None:
    for dataset_id, row in ONE_EVENT.items():
        if DATASETS[dataset_id].authority == authority:
            stage_events(settings, tmp_path, dataset_id, [{**row, "date": date(2024, 2, 10)}], received=received)
    if authority == "health":
        stage_counts(settings, tmp_path)

