"""Persons in drug treatment (contract drug_treatment_counts) -> health_counts (11), measure
persons_in_drug_treatment. One row per period and area; one count per row."""
from __future__ import annotations

from csp.registry import SOURCE_FORMATS
from csp.sources.frames import ISO_DATE, Parsed, Verdicts, canonical_frame, keep, parse_date, parse_number
from csp.sources.reading import read_files

MEASURE = "persons_in_drug_treatment"
MAX_COUNT = 10**9  # more persons than England has: a typo, not a count
AREA_TYPES = ("district", "outward_postcode")
AREA_PATTERNS = {"district": r"[EW]0[6-9]\d{6}", "outward_postcode": r"[A-Z]{1,2}\d[A-Z\d]?"}


def parse(dataset, format_id, paths, quarter) -> Parsed:
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns, allow_xlsx=True)
    rows = table.rows
    verdicts = Verdicts(rows)
    start, end = parse_date(rows["period_start"], ISO_DATE), parse_date(rows["period_end"], ISO_DATE)
    for column, dates in (("period_start", start), ("period_end", end)):
        verdicts.check_dates(dates, rows[column], column, "YYYY-MM-DD", quarter)
    verdicts.flag(end < start, "invalid_period", "period_end is before period_start")
    area_type = rows["area_type"].str.lower()
    verdicts.check_known(area_type.isin(AREA_TYPES), rows["area_type"], "area_type")
    area_code = rows["area_code"].str.upper()
    valid_code = area_code.str.fullmatch(AREA_PATTERNS["district"]).where(area_type.eq("district"),
                                                                          area_code.str.fullmatch(AREA_PATTERNS["outward_postcode"]))
    verdicts.flag(~valid_code, "invalid_value",
                  "area_code is not a district code or outward postcode as area_type says")
    count, not_number = parse_number(rows["persons_in_treatment"])
    # between() is False for NaN and infinity; the bound keeps a typo from overflowing Int64
    valid_count = ~not_number & count.between(0, MAX_COUNT) & count.eq(count.round())
    verdicts.flag(~valid_count, "invalid_count", "persons_in_treatment is not a whole number of zero or more")
    values = {"measure": MEASURE, "period_start": start, "period_end": end, "area_code": area_code,
              "area_type": area_type, "value": count.where(valid_count).round().astype("Int64")}
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    return Parsed(frame, verdicts.quarantine(), len(rows), 0, table.notes)
