"""Source adapters: one module per input format, turning a return's files into a dataset's
canonical frame plus a quarantine report.

Conventions of ``Parsed.frame`` (every adapter):

- columns: the dataset's canonical schema (``registry.Dataset.columns``) in schema order,
  without ``return_id`` / ``file_sha256`` (stamped at staging) and with ``source_ref`` (the
  raw source record reference as a string, or null) in place of ``record_key``.
- dtypes: string -> pandas "string"; int -> "Int64"; float -> "float64"; date ->
  ``datetime64[ns]`` at midnight (day precision; the month's first day for month precision);
  time -> ``datetime.time`` objects (minute precision) or None, in an object column.
- ``source_line`` is the 1-based physical line of the file (header = line 1).

Row accounting, for every format: ``rows_in == rows_loaded + len(quarantine)`` and
``rows_in + rows_out_of_scope`` = data rows in the files (staging refuses a return that does
not reconcile). ``rows_loaded`` counts input rows represented in the frame:

- record formats: one input row per frame row (``rows_loaded == len(frame)``). STATS19
  counts collision rows (the casualty files only enrich them).
- ``council_rtc_casualties``: rows are casualties and the frame holds one row per collision,
  so ``rows_loaded`` = casualties counted in the frame (killed + serious + slight + age unknown).
- ``hes_op`` (a count): ``rows_loaded`` = attendance rows counted (the sum of ``value``).
  ``drug_treatment_counts``: one row per count, as for record formats.

Quarantine rules: unparseable_date, impossible_date (after today, or before the platform's
first quarter: csp.quarters.possible_days), date_outside_quarter (when a quarter is given),
unparseable_time, unknown_category, invalid_lsoa, invalid_coordinates,
invalid_postcode, invalid_value, invalid_count, invalid_period. Reasons never quote the cell.

Full postcodes are cut to their outward code as they are read (the row is kept). Rows with
coordinates but no LSOA get one from a boundary polygon or the nearest LSOA centroid
(``csp.locate``).
"""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from csp import limits, safe_paths
from csp.config import settings
from csp.locate import fill_missing_lsoa
from csp.quarters import Quarter
from csp.registry import SOURCE_FORMATS, Dataset
from csp.sources.frames import Parsed, combine
from csp.sources.reading import SourceError

__all__ = ["Parsed", "SourceError", "find_return_files", "parse_return"]

def find_return_files(dataset: Dataset, folder: Path) -> dict[str, list[Path]]:
    """Source format id -> the files in ``folder`` matching its patterns (sorted); formats
    with no file are left out. Listed inside the folder's jail (csp.safe_paths), following no
    link: a link, FIFO or device under a matching name is listed, to be refused by name when
    read; a folder that is itself a link is refused here (UnsafePath)."""
    folder = Path(folder)
    jail = safe_paths.jail_of(folder) or safe_paths.Jail(folder)
    found = {}
    for format_id in dataset.source_formats:
        paths = jail.files(folder, SOURCE_FORMATS[format_id].file_globs)
        if paths:
            found[format_id] = paths
    return found


def parse_return(dataset: Dataset, files: dict[str, list[Path]], quarter: Quarter | None) -> Parsed:
    """Parse every file of the return (one or more formats) into one ``Parsed``."""
    if len(files) > 1 and not dataset.formats_combine:
        first = next(iter(files.values()))[0]
        raise SourceError(
            first, "alternative_formats",
            f"the {dataset.id} return holds files in {len(files)} alternative formats "
            f"({', '.join(sorted(files))}): they describe the same records, so send one",
        )
    parts = []
    for format_id, paths in files.items():
        if format_id not in dataset.source_formats:
            raise ValueError(f"{dataset.id} does not arrive in format {format_id!r}")
        adapter = import_module(f"csp.sources.{SOURCE_FORMATS[format_id].adapter}")
        part = adapter.parse(dataset, format_id, sorted(paths), quarter)
        limits.check_rows(" ".join(p.name for p in sorted(paths)), part.rows_in + part.rows_out_of_scope, format_id)
        parts.append(part)
    parsed = combine(parts, dataset)
    if dataset.kind == "record" and len(parsed.frame):
        parsed.frame, notes = fill_missing_lsoa(parsed.frame, settings().reference_dir)
        parsed.notes.extend(notes)
    return parsed
