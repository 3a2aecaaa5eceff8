"""HES outpatient attendances -> health_counts (11), measure
mental_illness_op_first_attendances: first attendances (FIRSTATT 1 or 3) in the mental
illness specialties (TRETSPEF 710-715 and 720-729; 700, learning disability, is not mental
illness), counted per calendar month and outward postcode of residence.

``rows_in`` = attendance rows counted (the sum of ``value``) + quarantined rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, canonical_frame, check_outward, month_end, parse_date
from csp.sources.hes_apc import NO_POSTCODE_NOTE, POSTCODE
from csp.sources.reading import FILE, LINE, read_files

MEASURE = "mental_illness_op_first_attendances"
FIRST_ATTENDANCE = ("1", "3")  # first attendance, face to face / by telephone or video


def mental_illness_specialty(codes: pd.Series) -> pd.Series:
    number = pd.to_numeric(codes, errors="coerce")
    return number.between(710, 715) | number.between(720, 729)


def parse(dataset, format_id, paths, quarter) -> Parsed:
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns, (POSTCODE,))
    rows = table.rows
    in_scope = rows["FIRSTATT"].isin(FIRST_ATTENDANCE) & mental_illness_specialty(rows["TRETSPEF"])
    rows = rows[in_scope]
    verdicts = Verdicts(rows)
    dates = parse_date(rows[SOURCE_FORMATS[format_id].date_column], SOURCE_FORMATS[format_id].date_format)
    verdicts.check_dates(dates, rows["APPTDATE"], "APPTDATE", "YYYY-MM-DD", quarter)
    outward = check_outward(verdicts, rows[POSTCODE], POSTCODE)
    ok = verdicts.ok
    attendances = pd.DataFrame({
        FILE: rows[FILE], LINE: rows[LINE],
        "period_start": dates.dt.to_period("M").dt.start_time.astype("datetime64[ns]"),
        "area_code": outward.fillna("unknown"),
        "area_type": np.where(outward.notna(), "outward_postcode", "none"),
    })[ok]
    # One count per month and area; lineage points at its first contributing row.
    counts = (attendances.groupby(["period_start", "area_code", "area_type"], as_index=False, sort=True)
              .agg(**{FILE: (FILE, "first"), LINE: (LINE, "first"), "value": (LINE, "size")}))
    frame = canonical_frame(
        dataset, counts, measure=MEASURE, period_start=counts["period_start"],
        period_end=month_end(counts["period_start"]), area_code=counts["area_code"],
        area_type=counts["area_type"], value=counts["value"],
    )
    notes = table.notes + ([] if POSTCODE in table.columns_seen else [NO_POSTCODE_NOTE])
    return Parsed(frame, verdicts.quarantine(), len(rows), len(table.rows) - len(rows), notes,
                  rows_loaded=int(counts["value"].sum()))
