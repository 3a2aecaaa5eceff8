"""Fire and rescue incidents outside the LFB stop codes (contract fire_other_incidents):
violence against employees and dwelling fires with no smoke alarm, for fire_incidents (3)."""
from __future__ import annotations

from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, blank_to_null, canonical_frame, keep, when_by_format, where
from csp.sources.reading import read_files

INCIDENT_KINDS = ("Violence against employees", "Dwelling fire - no smoke alarm")


def parse(dataset, format_id, paths, quarter) -> Parsed:
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns, allow_xlsx=True)
    rows = table.rows
    verdicts = Verdicts(rows)
    verdicts.check_known(rows["incident_kind"].isin(INCIDENT_KINDS), rows["incident_kind"], "incident_kind")
    values = {
        **when_by_format(verdicts, rows, format_id, "incident_time", quarter),
        **where(verdicts, rows, lsoa="lsoa_code", latitude="latitude", longitude="longitude"),
        "source_ref": blank_to_null(rows["incident_ref"]),
        "category": rows["incident_kind"],
    }
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    return Parsed(frame, verdicts.quarantine(), len(rows), 0, table.notes)
