"""Reading a landing file into a table of strings, whatever encoding or line ending it came in.

Every cell is read as a stripped string ("" when blank) so that each adapter decides how a
value is parsed and which rule rejects it. Physical line numbers are kept (header = line 1):
quarantine reports cite them. Blank lines are skipped but still counted, so later line
numbers stay physical.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

LINE = "source_line"
FILE = "source_file"
MAX_LISTED_COLUMNS = 12  # a HES extract has ~200 columns: list a few, count the rest


class SourceError(ValueError):
    """A file that cannot be read at all: the message names the file, the line where known,
    and the rule that failed."""

    def __init__(self, path: Path | str, rule: str, detail: str, line: int | None = None):
        where = f"{Path(path).name}" + (f", line {line}" if line else "")
        super().__init__(f"{where}: {detail} [{rule}]")
        self.path, self.rule, self.line = Path(path), rule, line


@dataclass
class Table:
    """The rows of one or more files of one format: the wanted columns as strings, plus
    ``source_file`` and ``source_line``."""

    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    columns_seen: set[str] = field(default_factory=set)


def decode(path: Path) -> str:
    """UTF-8 (with or without byte-order mark), else Windows-1252; anything else is refused.
    Windows-1252 decodes almost any bytes, so NUL bytes (never in either kind of text, but in
    every UTF-16 file) are refused first rather than read as a garbled header."""
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise SourceError(path, "unreadable_encoding",
                          "NUL bytes: UTF-16 or binary, not UTF-8 or Windows-1252 text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError(path, "unreadable_encoding", "neither UTF-8 nor Windows-1252 text")


def check_complete(path: Path, text: str) -> None:
    """A file cut short in transfer ends mid-row: no line end, and a last row with fewer
    fields than the header. Refused whole (what followed the cut is lost too), rather than
    reading the short row's missing cells as blanks."""
    if not text or text.endswith(("\n", "\r")):
        return
    records = list(csv.reader(io.StringIO(text, newline="")))
    if len(records) > 1 and len(records[-1]) < len(records[0]):
        raise SourceError(
            path, "truncated_file",
            f"the last row has {len(records[-1])} of {len(records[0])} fields and no line end: "
            "the file looks cut short", line=len(text.splitlines()),
        )


def _read_raw(path: Path, allow_xlsx: bool) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = decode(path)
        check_complete(path, text)
        try:
            # skip_blank_lines=False keeps the row index aligned with physical lines.
            frame = pd.read_csv(
                io.StringIO(text, newline=""),
                dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False,
            )
        except pd.errors.ParserError as error:
            raise SourceError(path, "malformed_csv", f"not a well-formed CSV file ({str(error).strip()})") from None
        except pd.errors.EmptyDataError:
            raise SourceError(path, "missing_header", "the file is empty (no header row)") from None
        if not isinstance(frame.index, pd.RangeIndex):
            # pandas reads rows that all have one field more than the header as an index
            # column, shifting every value one column to the left: refuse, never misalign.
            raise SourceError(path, "malformed_csv", "every row has more fields than the header "
                              "(an unquoted delimiter in a value, or one at the end of each row?)")
        return frame
    if suffix == ".xlsx" and allow_xlsx:
        frame = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl")
        return frame.fillna("")
    accepted = ".csv or .xlsx" if allow_xlsx else ".csv"
    raise SourceError(path, "unsupported_file_type", f"unsupported file type {suffix!r} (expected {accepted})")


def _listing(names: Iterable[str]) -> str:
    names = sorted(names)
    shown = ", ".join(names[:MAX_LISTED_COLUMNS])
    more = len(names) - MAX_LISTED_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")


def read_file(
    path: Path,
    required: Iterable[str],
    optional: Iterable[str] = (),
    *,
    aliases: dict[str, str] | None = None,
    allow_xlsx: bool = False,
    used: Iterable[str] | None = None,
) -> Table:
    """Read one file, keeping the required and optional columns (renamed by ``aliases``,
    e.g. older STATS19 names), or only ``used`` ones when a published column is required but
    not carried. A missing required column is a SourceError; other columns are dropped and
    listed in the notes."""
    raw = _read_raw(path, allow_xlsx)
    raw.columns = [str(c).strip() for c in raw.columns]
    raw = raw.rename(columns=aliases or {})
    required, optional = list(required), list(optional)
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise SourceError(path, "missing_column", f"missing required columns: {', '.join(missing)}", line=1)
    wanted = required + optional if used is None else list(used) + optional
    kept = [c for c in dict.fromkeys(wanted) if c in raw.columns]
    rows = raw[kept].apply(lambda column: column.astype(str).str.strip())
    rows[FILE] = path.name
    rows[LINE] = pd.Series(range(2, len(rows) + 2), index=rows.index, dtype="Int64")
    rows = rows[rows[kept].ne("").any(axis=1)] if kept else rows.iloc[0:0]
    for absent in (c for c in optional if c not in rows.columns):
        rows[absent] = ""  # Table.columns_seen tells whether the file had it
    dropped = [c for c in raw.columns if c not in kept]
    notes = [f"{path.name}: dropped columns not in the contract: {_listing(dropped)}"] if dropped else []
    return Table(rows.reset_index(drop=True), notes, set(raw.columns))


def read_files(paths: Iterable[Path], required, optional=(), **kwargs) -> Table:
    """Read several files of one format into one table."""
    tables = [read_file(p, required, optional, **kwargs) for p in paths]
    if not tables:
        return Table(pd.DataFrame(columns=[*required, FILE, LINE]))
    rows = pd.concat([t.rows for t in tables], ignore_index=True)
    return Table(
        rows,
        [note for t in tables for note in t.notes],
        set().union(*(t.columns_seen for t in tables)),
    )
