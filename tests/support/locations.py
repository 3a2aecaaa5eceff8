"""Located events staged for repeat-location, near-repeat and key-rotation tests."""

import hashlib
import os
from datetime import date, datetime, time

import pandas as pd

from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.staging import Staging
from csp.warehouse import models
from csp.warehouse.engine import make_engine
from csp.warehouse.load import load_returns



LEICESTER_LSOA, BLABY_LSOA = "E01013636", "E01025631"
LEICESTER, BLABY = "E22000168", "E22000164"
REFERENCE_MONTH = pd.Timestamp("2024-03-01")  # window: 2023-04-01 .. 2024-03-31

P1, P2, P3 = (52.634567, -1.133), (52.64, -1.12), (52.645, -1.125)  # points in Leicester
P4 = (52.58, -1.2)  # a point in Blaby
SNAP = (52.636, -1.131)  # a police.uk map point


def event(category, day, point=None, lsoa=LEICESTER_LSOA, precision="day", ref=None):
    return {"category": category, "date": day, "point": point, "lsoa": lsoa, "precision": precision,
            "ref": ref}


def staged_frame(dataset_id: str, rows: list[dict]) -> pd.DataFrame:
    """Canonical rows as an adapter + depersonalisation would stage them: a point where given
    (with its LSOA), else the LSOA only; the record key a pseudonym-like hex string."""
    n = len(rows)
    point = [r["point"] for r in rows]
    frame = pd.DataFrame({
        "source_file": [f"{dataset_id}.csv"] * n,
        "source_line": pd.array(range(2, n + 2), dtype="Int64"),
        "record_key": [r["ref"] or hashlib.sha256(f"{dataset_id}{i}{r}".encode()).hexdigest()
                       for i, r in enumerate(rows)],
        "event_date": [r["date"] for r in rows],
        "event_time": [time(21, 15) if r["precision"] == "minute" else None for r in rows],
        "time_precision": [r["precision"] for r in rows],
        "category": [r["category"] for r in rows],
        "category_code": [None] * n,
        "lsoa_code": [r["lsoa"] for r in rows],
        "outward_postcode": [None] * n,
        "latitude": [p[0] if p else None for p in point],
        "longitude": [p[1] if p else None for p in point],
        "location_precision": ["point" if p else "lsoa" for p in point],
    })
    for column in DATASETS[dataset_id].extra_columns:
        frame[column] = None
    return frame


def stage_rows(settings, tmp_path, dataset_id: str, rows: list[dict]) -> None:
    """One return per quarter the rows fall in."""
    frame = staged_frame(dataset_id, rows)
    quarters = pd.to_datetime(frame["event_date"]).dt.to_period("Q")
    for period, part in frame.groupby(quarters):
        quarter = Quarter(period.year, period.quarter)
        path = tmp_path / f"{dataset_id}_{quarter}.csv"
        path.write_text(f"{dataset_id} {quarter} {len(part)}\n")
        received = datetime(2024, 4, 15, 9, 0).timestamp()
        os.utime(path, (received, received))
        quarantine = pd.DataFrame(columns=["source_file", "source_line", "rule", "reason"])
        Staging(settings.staging_dir).stage(DATASETS[dataset_id], quarter, [path], part.reset_index(drop=True),
                                            quarantine, rows_in=len(part), rows_loaded=len(part))


def build(settings):
    engine = make_engine(settings.warehouse_url)
    load_returns(engine, settings)
    with engine.begin() as conn:
        models.build(conn)
    return engine


def plant_repeats(settings, tmp_path) -> None:
    """Leicester burglaries: P1 four times in the window (and once before it), P2 twice, P3
    once, two at LSOA precision only; one violent crime at P1; two police.uk ASB rows at one map
    point; Blaby: criminal damage twice at P4."""
    crimes = [
        *[event("Burglary", d, P1) for d in (date(2023, 5, 10), date(2024, 1, 3), date(2024, 2, 9),
                                             date(2024, 3, 30))],
        event("Burglary", date(2023, 3, 15), P1),  # before the window
        *[event("Burglary", d, P2) for d in (date(2023, 11, 1), date(2024, 2, 2))],
        event("Burglary", date(2024, 1, 20), P3),
        *[event("Burglary", d) for d in (date(2024, 1, 4), date(2024, 1, 5))],  # LSOA only
        event("Violence and sexual offences", date(2024, 2, 1), P1),
        *[event("Criminal damage and arson", d, P4, lsoa=BLABY_LSOA) for d in (date(2023, 6, 1), date(2023, 9, 9))],
        event("Burglary", date(2024, 2, 1), SNAP),  # the map point's coordinates, but precise
    ]
    asb = [event("Anti-social behaviour", d, SNAP, precision="month") for d in (date(2024, 1, 1), date(2024, 3, 1))]
    stage_rows(settings, tmp_path, "police_crimes", crimes)
    stage_rows(settings, tmp_path, "police_incidents", asb)


def point_key(kind: str, point) -> str:
    """The documented key: md5 of '<kind>:<lat>,<lon>' at 6 decimal places."""
    return hashlib.md5(f"{kind}:{point[0]:.6f},{point[1]:.6f}".encode()).hexdigest()

