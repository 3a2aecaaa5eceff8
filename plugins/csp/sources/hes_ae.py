"""HES A&E attendances -> ed_assault_attendances, the emergency-department assault picture of
the Cardiff model (Information Sharing to Tackle Violence, ISB 1594). Not a mandated dataset:
an extra health source, ingested when the trust supplies it.

An attendance is in scope when its patient group (AEPATGROUP) is 20, assault, in the HES A&E
data dictionary (10 road traffic accident, 30 deliberate self-harm, ... 80 other than above,
99 not known). Arrival time is HHMM; arrival by ambulance (AEARRIVALMODE 1) is kept for the
cross-agency picture. Location is the outward postcode of residence only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, blank_to_null, canonical_frame, check_outward, keep, when_by_format
from csp.sources.hes_apc import NO_POSTCODE_NOTE, POSTCODE
from csp.sources.reading import read_files

ASSAULT = "20"
ARRIVAL_MODES = {"1": "ambulance", "2": "other"}  # 9: not known


def parse(dataset, format_id, paths, quarter) -> Parsed:
    source = SOURCE_FORMATS[format_id]
    table = read_files(paths, source.required_columns, source.optional_columns)
    rows = table.rows[table.rows["AEPATGROUP"].eq(ASSAULT)]
    verdicts = Verdicts(rows)
    outward = check_outward(verdicts, rows[POSTCODE], POSTCODE)
    values = {
        **when_by_format(verdicts, rows, format_id, "ARRIVALTIME", quarter),
        "source_ref": blank_to_null(rows["AEKEY"]),
        "category": "Assault",
        "category_code": ASSAULT,
        "arrival_mode": rows["AEARRIVALMODE"].map(ARRIVAL_MODES).fillna("not known"),
        "outward_postcode": outward,
        "location_precision": pd.Series(np.where(outward.notna(), "outward_postcode", "none"), index=rows.index),
    }
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    notes = table.notes + ([] if POSTCODE in table.columns_seen else [NO_POSTCODE_NOTE])
    return Parsed(frame, verdicts.quarantine(), len(rows), len(table.rows) - len(rows), notes)
