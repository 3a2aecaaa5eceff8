"""A council's road traffic casualty share (Leeds City Council layout): one row per casualty,
rolled up to one road_collisions (5) row per collision (Reference Number + Accident Date).

Row accounting differs from the record formats: ``rows_in`` counts casualty rows, and equals
the casualties counted in the frame plus the quarantined casualty rows. A casualty row that
fails a check is quarantined on its own; its collision keeps the other casualties.
"""
from __future__ import annotations

import pandas as pd

from csp.geometry import to_wgs84
from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, canonical_frame, parse_number, when_by_format
from csp.sources.reading import FILE, LINE, read_files
from csp.sources.stats19 import COUNT_COLUMNS, casualty_counts

SEVERITIES = {"Fatal": "killed", "Serious": "serious", "Slight": "slight"}
KEY = ["Reference Number", "Accident Date"]
# The British National Grid's extent in metres: anything else (a typo, 'inf') is no place.
GRID_EASTINGS, GRID_NORTHINGS = (0, 700_000), (0, 1_300_000)


def parse(dataset, format_id, paths, quarter) -> Parsed:
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns)
    rows = table.rows
    verdicts = Verdicts(rows)
    severity = rows["Casualty Severity"].str.capitalize().map(SEVERITIES)
    verdicts.check_known(severity.notna(), rows["Casualty Severity"], "Casualty Severity")
    age, bad_age = parse_number(rows["Age of Casualty"])
    verdicts.flag(bad_age, "invalid_value", "Age of Casualty is not a number")
    # "Time (24hr)" is HHMM without leading zeros (e.g. 905 = 09:05).
    rows = rows.assign(**{"Time (24hr)": rows["Time (24hr)"].where(rows["Time (24hr)"].eq(""),
                                                                 rows["Time (24hr)"].str.zfill(4))})
    timing = when_by_format(verdicts, rows, format_id, "Time (24hr)", quarter)
    easting, bad_east = parse_number(rows["Grid Ref: Easting"])
    northing, bad_north = parse_number(rows["Grid Ref: Northing"])
    off_grid = easting.notna() & ~(easting.between(*GRID_EASTINGS) & northing.between(*GRID_NORTHINGS))
    verdicts.flag(bad_east | bad_north | (easting.isna() != northing.isna()) | off_grid,
                  "invalid_coordinates", "Grid Ref: Easting/Northing are not British National Grid metres")
    verdicts.flag(rows["Reference Number"].eq(""), "invalid_value", "Reference Number is blank")

    ok = verdicts.ok
    casualties = rows[ok].assign(
        event_date=timing["event_date"][ok], event_time=timing["event_time"][ok],
        easting=easting[ok], northing=northing[ok], severity=severity[ok], age=age[ok],
    )
    key = casualties["Reference Number"] + "|" + casualties["Accident Date"]
    counts = casualty_counts(casualties["severity"], casualties["age"], key)
    # The collision's when and where: its first casualty row (they repeat per casualty).
    collisions = casualties.assign(key=key).drop_duplicates("key").set_index("key")
    collisions = collisions.join(counts)
    # Collision severity = its worst casualty's severity (ages play no part in it).
    rank = casualties["severity"].map({"killed": 0, "serious": 1, "slight": 2})
    category = rank.groupby(key).min().map({0: "Fatal", 1: "Serious", 2: "Slight"}).reindex(collisions.index)
    located = collisions["easting"].notna()
    longitude, latitude = to_wgs84(easting=collisions["easting"], northing=collisions["northing"])
    values = {
        "source_ref": collisions["Reference Number"],
        "event_date": collisions["event_date"],
        "event_time": collisions["event_time"],
        "time_precision": collisions["event_time"].notna().map({True: "minute", False: "day"}),
        "category": category,
        "latitude": pd.Series(latitude, index=collisions.index).where(located),
        "longitude": pd.Series(longitude, index=collisions.index).where(located),
        "location_precision": located.map({True: "point", False: "none"}),
        **{column: collisions[column] for column in COUNT_COLUMNS},
    }
    frame = canonical_frame(dataset, collisions[[FILE, LINE]], **values)
    notes = table.notes + [f"{ok.sum()} casualty rows rolled up into {len(frame)} collisions"]
    return Parsed(frame, verdicts.quarantine(), len(rows), 0, notes, rows_loaded=int(ok.sum()))
