"""police.uk street-level files: ASB rows feed police_incidents (1), the other 13 crime types
police_crimes (2). Month precision only; Crime IDs repeat and are never de-duplicated."""
from __future__ import annotations


from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, blank_to_null, canonical_frame, keep, parse_date, where
from csp.sources.reading import FILE, LINE, Scope, read_files

ASB = "Anti-social behaviour"
CRIME_TYPES = (
    "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs", "Other crime", "Other theft",
    "Possession of weapons", "Public order", "Robbery", "Shoplifting", "Theft from the person",
    "Vehicle crime", "Violence and sexual offences",
)
USED = ("Crime ID", "Month", "Longitude", "Latitude", "LSOA code", "Crime type")
SNAPPED_NOTE = ("police.uk coordinates are snapped to anonymisation points ('On or near ...'), "
                "not the exact place of the crime")


def parse(dataset, format_id, paths, quarter) -> Parsed:
    # Every published column is required (so a wrong file is refused) but only the used ones
    # are kept; the notes list the dropped ones.
    # Each dataset keeps its rows as the files are read (ASB rows are a tenth of them).
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns, used=USED,
                       scope=Scope("Crime type", _asb if dataset.id == "police_incidents" else _not_asb))
    rows = table.rows
    verdicts = Verdicts(rows)
    if dataset.id == "police_crimes":
        verdicts.check_known(rows["Crime type"].isin(CRIME_TYPES), rows["Crime type"], "Crime type")
    month = parse_date(rows[SOURCE_FORMATS[format_id].date_column], SOURCE_FORMATS[format_id].date_format)
    verdicts.check_dates(month, rows["Month"], "Month", "YYYY-MM", quarter)
    location = where(verdicts, rows, lsoa="LSOA code", latitude="Latitude", longitude="Longitude")
    ok = verdicts.ok
    values = keep({
        **location,
        "source_ref": blank_to_null(rows["Crime ID"]),
        "event_date": month,
        "time_precision": "month",
        "category": rows["Crime type"],
    }, ok)
    # Only the lineage columns of the kept rows are needed: no copy of the others.
    frame = canonical_frame(dataset, rows.loc[ok, [FILE, LINE]], **values)
    notes = [*table.notes, SNAPPED_NOTE] if len(frame) else table.notes
    return Parsed(frame, verdicts.quarantine(), len(rows), table.rows_out_of_scope, notes)


def _asb(crime_type):
    return crime_type.eq(ASB)


def _not_asb(crime_type):
    return ~crime_type.eq(ASB)
