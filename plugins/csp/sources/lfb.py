"""London Fire Brigade style incident records: deliberate fires feed fire_incidents (3),
malicious false alarms fire_false_alarms (4). AFAs, good-intent alarms, special services,
chimney fires, late calls and accidental fires belong to neither."""
from __future__ import annotations

import numpy as np
import pandas as pd

from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, blank_to_null, canonical_frame, keep, when_by_format, where
from csp.sources.reading import read_files

FIRE_STOP_CODES = {"Primary Fire": "primary", "Secondary Fire": "secondary"}
MALICIOUS = "False alarm - Malicious"
VEHICLE = "Road Vehicle"
MOTIVES = ("Deliberate", "Accidental", "Not known")
NO_MOTIVE_NOTE = ("the file has no Motive column: fires are recorded as 'motive not recorded', "
                  "not assumed deliberate")


def fire_categories(rows: pd.DataFrame, has_motive: bool) -> pd.Series:
    """'Deliberate primary fire', 'Deliberate vehicle fire', ... or '... (motive not recorded)'
    when the motive is not known; null for accidental fires and non-fire rows."""
    kind = rows["StopCodeDescription"].map(FIRE_STOP_CODES)
    kind = kind.where(~(kind.notna() & rows["PropertyCategory"].eq(VEHICLE)), "vehicle")
    motive = rows["Motive"] if has_motive else pd.Series("", index=rows.index)
    deliberate = "Deliberate " + kind + " fire"
    unrecorded = kind.str.capitalize() + " fire (motive not recorded)"
    label = np.select(
        [kind.isna() | motive.eq("Accidental"), motive.eq("Deliberate"), motive.isin(["", "Not known"])],
        [None, deliberate, unrecorded],
        default="unknown motive",
    )
    return pd.Series(label, index=rows.index, dtype="string")


def parse(dataset, format_id, paths, quarter) -> Parsed:
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns, ("Motive",))
    rows = table.rows
    has_motive = "Motive" in table.columns_seen
    if dataset.id == "fire_false_alarms":
        category = pd.Series(MALICIOUS, index=rows.index, dtype="string").where(
            rows["StopCodeDescription"].eq(MALICIOUS))
    else:
        category = fire_categories(rows, has_motive)
    in_scope = category.notna()
    rows, category = rows[in_scope], category[in_scope]
    verdicts = Verdicts(rows)
    if dataset.id == "fire_incidents":
        verdicts.check_known(rows["Motive"].isin(MOTIVES), rows["Motive"], "Motive", allow_blank=True)
    values = {
        **when_by_format(verdicts, rows, format_id, "TimeOfCall", quarter),
        **where(verdicts, rows, latitude="Latitude", longitude="Longitude", outward="Postcode_district"),
        "source_ref": blank_to_null(rows["IncidentNumber"]),
        "category": category,
    }
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    notes = table.notes + ([NO_MOTIVE_NOTE] if not has_motive and dataset.id == "fire_incidents" else [])
    return Parsed(frame, verdicts.quarantine(), len(rows), len(table.rows) - len(rows), notes)
