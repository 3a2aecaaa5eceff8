"""Ambulance call-outs to crime and disorder (contract ambulance_callouts) -> dataset 12.
Fields follow the dispatch (CAD) extract: call number, call time stamp, chief complaint,
priority, pick-up postcode (cut to its outward code by the ambulance service)."""
from __future__ import annotations

from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, blank_to_null, canonical_frame, keep, when_by_format, where
from csp.sources.reading import read_files

CHIEF_COMPLAINTS = (
    "Assault / sexual assault",
    "Stab / gunshot / penetrating trauma",
    "Overdose / poisoning",
    "Unconscious / fainting (alcohol)",
    "Traffic / transportation incident",
)
NATURES_OF_CALL = ("Emergency", "Urgent", "Routine")


def parse(dataset, format_id, paths, quarter) -> Parsed:
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns, allow_xlsx=True)
    rows = table.rows
    verdicts = Verdicts(rows)
    verdicts.check_known(rows["chief_complaint"].isin(CHIEF_COMPLAINTS), rows["chief_complaint"], "chief_complaint")
    verdicts.check_known(rows["nature_of_call"].isin(NATURES_OF_CALL), rows["nature_of_call"], "nature_of_call",
                         allow_blank=True)
    values = {
        **when_by_format(verdicts, rows, format_id, "call_time", quarter),
        **where(verdicts, rows, lsoa="lsoa_code", outward="outward_postcode"),
        "source_ref": blank_to_null(rows["incident_ref"]),
        "category": rows["chief_complaint"],
    }
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    return Parsed(frame, verdicts.quarantine(), len(rows), 0, table.notes)
