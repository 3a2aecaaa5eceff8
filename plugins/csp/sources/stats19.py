"""DfT STATS19: collision rows (one per collision) for road_collisions (5), with killed /
serious / slight adults and children counted from the casualty file(s).

Both the 2024+ names (collision_*) and the older ones (accident_*) are read; the 2025 raw
files renamed collision_ref_no to collision_reference, which is not used (collision_index is
the key in every vintage). A collision with no casualty rows in the return keeps null
casualty counts (the DfT head samples do not join) and a note counts them.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from csp.registry import SOURCE_FORMATS
from csp.sources.frames import (Parsed, Verdicts, blank_to_null, canonical_frame, keep, parse_number, when_by_format,
                                where)
from csp.sources.reading import read_files

ALIASES = {
    "accident_index": "collision_index",
    "accident_severity": "collision_severity",
    "accident_reference": "collision_ref_no",
    "collision_reference": "collision_ref_no",
}
SEVERITIES = {"1": "Fatal", "2": "Serious", "3": "Slight"}
CASUALTY_COLUMNS = ("collision_index", "age_of_casualty", "casualty_severity")
ADJUSTED = {"adjusted_serious": "collision_adjusted_severity_serious",
            "adjusted_slight": "collision_adjusted_severity_slight"}
COUNT_COLUMNS = ("killed_adults", "killed_children", "serious_adults", "serious_children",
                 "slight_adults", "slight_children", "casualties_age_unknown")
CHILD_MAX_AGE = 15  # STATS19: children are casualties aged 0-15
MISSING_CODES = ("-1", "NULL")  # DfT's "data missing or out of range"


def is_casualty_file(path) -> bool:
    # Every DfT file name says "road-casualty-statistics"; the table name follows it.
    return re.search("collision|accident", path.name, re.IGNORECASE) is None


def casualty_counts(severity: pd.Series, age: pd.Series, key: pd.Series) -> pd.DataFrame:
    """Per collision key: the six severity x adult/child counts and casualties of unknown age.
    ``severity`` is 'killed' / 'serious' / 'slight'; ``age`` numeric, negative or null when
    unknown."""
    known_age = age.notna() & (age >= 0)
    group = np.where(known_age, severity + np.where(age <= CHILD_MAX_AGE, "_children", "_adults"),
                     "casualties_age_unknown")
    counts = pd.crosstab(key, pd.Series(group, index=key.index)).reindex(columns=list(COUNT_COLUMNS), fill_value=0)
    return counts.astype("Int64")


def _casualties(paths) -> tuple[pd.DataFrame, list[str]]:
    table = read_files(paths, CASUALTY_COLUMNS, aliases=ALIASES)
    rows = table.rows
    severity = rows["casualty_severity"].map({"1": "killed", "2": "serious", "3": "slight"})
    age, _ = parse_number(rows["age_of_casualty"])
    notes = []
    if severity.isna().any():
        notes.append(f"{int(severity.isna().sum())} casualty rows with no valid casualty_severity are not counted")
    valid = severity.notna()
    return casualty_counts(severity[valid], age[valid], rows.loc[valid, "collision_index"]), notes


def parse(dataset, format_id, paths, quarter) -> Parsed:
    collision_files = [p for p in paths if not is_casualty_file(p)]
    casualty_files = [p for p in paths if is_casualty_file(p)]
    table = read_files(collision_files, SOURCE_FORMATS[format_id].required_columns,
                       tuple(ADJUSTED.values()), aliases=ALIASES)
    rows = table.rows
    for column in ("lsoa_of_accident_location", "latitude", "longitude"):
        rows[column] = rows[column].where(~rows[column].isin(MISSING_CODES), "")
    verdicts = Verdicts(rows)
    category = rows["collision_severity"].map(SEVERITIES)
    verdicts.check_known(category.notna(), rows["collision_severity"], "collision_severity")
    values = {
        **when_by_format(verdicts, rows, format_id, "time", quarter),
        **where(verdicts, rows, lsoa="lsoa_of_accident_location", latitude="latitude", longitude="longitude"),
        "source_ref": blank_to_null(rows["collision_index"]),
        "category": category,
        "category_code": rows["collision_severity"],
    }
    for canonical, source in ADJUSTED.items():
        adjusted, _ = parse_number(rows[source])
        values[canonical] = adjusted.where(adjusted >= 0)  # -1 = not applicable

    notes = list(table.notes)
    counts, casualty_notes = _casualties(casualty_files) if casualty_files else (None, [])
    notes += casualty_notes
    if counts is None:
        notes.append("no casualty file in the return: casualty counts are null for every collision")
    else:
        joined = counts.reindex(rows["collision_index"])
        for column in COUNT_COLUMNS:
            values[column] = pd.Series(joined[column].to_numpy(), index=rows.index, dtype="Int64")
        unmatched = int(joined[COUNT_COLUMNS[0]].isna().sum())
        if unmatched:
            notes.append(f"{unmatched} collisions have no casualty rows in the return: their casualty counts are null")
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    return Parsed(frame, verdicts.quarantine(), len(rows), 0, notes)
