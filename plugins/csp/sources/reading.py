"""Reading a landing file into a table of strings, whatever encoding or line ending it came in.

Every cell is read as a stripped string ("" when blank) so that each adapter decides how a
value is parsed and which rule rejects it. Physical line numbers are kept (header = line 1):
quarantine reports cite them. Blank lines are skipped but still counted, so later line
numbers stay physical.
"""
from __future__ import annotations

import contextlib
import csv
import functools
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from csp import limits, safe_paths

LINE = "source_line"
FILE = "source_file"
MAX_LISTED_COLUMNS = 12  # a HES extract has ~200 columns: list a few, count the rest


class SourceError(safe_paths.RefusedFile):
    """A file that cannot be read at all: the message names the file, the line where known,
    and the rule that failed."""

    def __init__(self, path: Path | str, rule: str, detail: str, line: int | None = None):
        where = f"{Path(path).name}" + (f", line {line}" if line else "")
        ValueError.__init__(self, f"{where}: {detail} [{rule}]")
        self.path, self.rule, self.detail, self.line = Path(path), rule, detail, line


@dataclass
class Table:
    """The rows of one or more files of one format: the wanted columns as strings, plus
    ``source_file`` and ``source_line``."""

    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    columns_seen: set[str] = field(default_factory=set)
    rows_out_of_scope: int = 0  # rows left out by the reader's Scope


def decode(path: Path) -> str:
    """UTF-8 (with or without byte-order mark), else Windows-1252; anything else is refused.
    Windows-1252 decodes almost any bytes, so NUL bytes (never in either kind of text, but in
    every UTF-16 file) are refused first rather than read as a garbled header."""
    return _decode(path, safe_paths.read_bytes(path))


def _decode(path: Path, raw: bytes) -> str:
    if b"\x00" in raw:
        raise SourceError(path, "unreadable_encoding",
                          "NUL bytes: UTF-16 or binary, not UTF-8 or Windows-1252 text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SourceError(path, "unreadable_encoding", "neither UTF-8 nor Windows-1252 text")


@contextlib.contextmanager
def _field_size_limit(size: int):
    """The csv module refuses a field longer than 128 KiB; pandas and Arrow do not."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, size))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def check_complete(path: Path, text: str) -> None:
    """A file cut short in transfer ends mid-row: no line end, and a last row with fewer
    fields than the header. Refused whole (what followed the cut is lost too), rather than
    reading the short row's missing cells as blanks."""
    if not text or text.endswith(("\n", "\r")):
        return
    with _field_size_limit(len(text)):  # a long free-text cell is data, not a fault
        records = list(csv.reader(io.StringIO(text, newline="")))
    if len(records) > 1 and len(records[-1]) < len(records[0]):
        raise SourceError(
            path, "truncated_file",
            f"the last row has {len(records[-1])} of {len(records[0])} fields and no line end: "
            "the file looks cut short", line=len(text.splitlines()),
        )


_BOM = b"\xef\xbb\xbf"


def _utf8_bytes(path: Path) -> bytes:
    """The text ``decode`` gives, as UTF-8 bytes (so a Windows-1252 file reads the same
    whichever parser reads it). Pure ASCII, the usual case, already is and is not decoded."""
    raw = safe_paths.read_bytes(path)
    body = raw[len(_BOM):] if raw.startswith(_BOM) else raw
    if body.isascii() and b"\x00" not in body:
        return body
    return _decode(path, raw).encode("utf-8")


def _header_names(data: bytes) -> list[str] | None:
    """The header's column names, or None when its line has a quote (a name might hold a
    comma or a line end) or a lone carriage return."""
    end = data.find(b"\n")
    first = (data if end < 0 else data[:end]).removesuffix(b"\r")
    if b'"' in first or b"\r" in first:
        return None
    return first.decode("utf-8").split(",")


@dataclass
class _ArrowRead:
    names: list[str]  # every name of the header
    table: pa.Table  # the picked columns only, unstripped


def _arrow_table(data: bytes, pick) -> _ArrowRead | None:
    """A plain CSV file read by Arrow's parser, the columns ``pick(names)`` names as strings
    (the others are tokenised, so a ragged row still fails, but never converted): several
    times faster than pandas' C parser on a police.uk file. None for anything else (quoted,
    blank or repeated header names, ragged rows, blank lines, no data row): pandas reads
    those, so its behaviour and its error messages stay the rule. Where both parsers read a
    file they give the same cells (tests/ingest/test_ingest_speedups.py)."""
    names = _header_names(data)
    # pandas renames blank and repeated names ("Unnamed: 2", "a.1") and reads a one-column
    # file's blank lines as rows: left to it.
    if not names or len(names) < 2 or "" in names or len(set(names)) != len(names):
        return None
    picked = [name for name in names if name in set(pick(names))]
    if not picked:
        return None
    converted = list(dict.fromkeys([*picked, names[-1]]))  # the last column: see below
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            # A blank line is then a one-field row, which fails: pandas counts it as a line.
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in converted},
                include_columns=converted,
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException:
        # Arrow refuses the file (a ragged row, a blank line...): pandas reads it, or refuses
        # it with the message, file and line the user is shown.
        return None
    plain = table.column_names == converted and all(pa.types.is_string(t) for t in table.schema.types)
    if not plain or not table.num_rows or _open_quote_at_end(data, table.column(names[-1])):
        return None
    return _ArrowRead(names, table.select(picked))


def _open_quote_at_end(data: bytes, last_column: pa.ChunkedArray) -> bool:
    """Whether the file may end inside a quoted value, which Arrow takes as the last cell and
    pandas refuses ("EOF inside string"). Such a value runs from its quote to the end of the
    file, so it is the last cell and holds the final line end; without a final line end, any
    quote in the file is left to pandas."""
    if not data.endswith((b"\n", b"\r")):
        return b'"' in data
    last = last_column[-1].as_py()
    return "\n" in last or "\r" in last


def _read_csv_pandas(path: Path, text: str) -> pd.DataFrame:
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


def _read_raw(path: Path, allow_xlsx: bool, pick=lambda names: names) -> pd.DataFrame | _ArrowRead:
    """The file's cells as unstripped strings: Arrow's read of the ``pick``ed columns for a
    plain CSV file, else a DataFrame of every column."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = _utf8_bytes(path)
        if not data.endswith((b"\n", b"\r")):
            check_complete(path, data.decode("utf-8"))
        read = _arrow_table(data, pick)
        return read if read is not None else _read_csv_pandas(path, data.decode("utf-8"))
    if suffix == ".xlsx" and allow_xlsx:
        data = safe_paths.read_bytes(path)
        limits.check_archive_bytes(path, data)  # a zip bomb is refused before it is opened
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=str, engine="openpyxl")
        return frame.fillna("")
    accepted = ".csv or .xlsx" if allow_xlsx else ".csv"
    raise SourceError(path, "unsupported_file_type", f"unsupported file type {suffix!r} (expected {accepted})")


@dataclass(frozen=True)
class Scope:
    """The rows a dataset takes from files it shares with another (police.uk street files:
    ASB rows for one, crimes for the other): those for which ``keep(stripped cells of
    column)`` is true. The others are counted (``Table.rows_out_of_scope``), not kept."""

    column: str
    keep: Callable[[pd.Series], pd.Series]


def _kept_rows(raw: pd.DataFrame, kept: list[str], name: str, scope: Scope | None) -> tuple[pd.DataFrame, int]:
    """The kept columns stripped, with file and line, less the rows blank in all of them
    (and those out of scope, counted)."""
    rows = raw[kept].apply(lambda column: column.astype(str).str.strip())
    rows[FILE] = name
    rows[LINE] = pd.Series(range(2, len(rows) + 2), index=rows.index, dtype="Int64")
    rows = rows[rows[kept].ne("").any(axis=1)] if kept else rows.iloc[0:0]
    if scope is None:
        return rows, 0
    in_scope = scope.keep(rows[scope.column])
    return rows[in_scope], int((~in_scope).sum())


def _kept_rows_arrow(raw: pa.Table, kept: list[str], name: str, scope: Scope | None) -> tuple[pd.DataFrame, int] | None:
    """``_kept_rows`` done in Arrow (pandas' ``str.strip`` is Arrow's
    ``utf8_trim_whitespace``), rows dropped before pandas sees them. None when no row is
    left, whose empty frame's dtypes are pandas' to decide."""
    if not kept:
        return None
    columns = {column: pc.utf8_trim_whitespace(raw.column(column)) for column in kept}
    wanted = functools.reduce(pc.or_, (pc.not_equal(column, "") for column in columns.values()))
    out_of_scope = 0
    if scope is not None:
        in_scope = scope.keep(_as_series(columns[scope.column])).to_numpy(dtype=bool)
        out_of_scope = int(pc.sum(pc.and_(wanted, pa.array(~in_scope))).as_py() or 0)
        wanted = pc.and_(wanted, pa.array(in_scope))
    lines = np.arange(2, raw.num_rows + 2, dtype="int64")
    if not pc.all(wanted).as_py():
        columns = {column: values.filter(wanted) for column, values in columns.items()}
        lines = lines[wanted.to_numpy(zero_copy_only=False)]
    if not len(lines):
        return None
    rows = pa.table(columns).to_pandas()
    rows[FILE] = name
    rows[LINE] = pd.array(lines, dtype="Int64")
    return rows, out_of_scope


def _as_series(values: pa.ChunkedArray) -> pd.Series:
    """Arrow strings as the pandas column ``_kept_rows`` would hold (no copy)."""
    return pa.table({"values": values}).to_pandas()["values"]


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
    scope: Scope | None = None,
) -> Table:
    """Read one file, keeping the required and optional columns (renamed by ``aliases``,
    e.g. older STATS19 names), or only ``used`` ones when a published column is required but
    not carried. A missing required column is a SourceError; other columns are dropped and
    listed in the notes. With a ``scope``, only the rows in it are kept."""
    aliases = aliases or {}
    required, optional = list(required), list(optional)
    wanted = required + optional if used is None else list(used) + optional

    def renamed(names) -> list[str]:
        return [aliases.get(c, c) for c in (str(c).strip() for c in names)]

    def pick(names: list[str]) -> list[str]:
        """The header names of the wanted columns: the only ones Arrow converts."""
        return [name for name, column in zip(names, renamed(names), strict=True) if column in wanted]

    raw = _read_raw(path, allow_xlsx, pick)
    columns = renamed(raw.names if isinstance(raw, _ArrowRead) else raw.columns)
    missing = [c for c in required if c not in columns]
    if missing:
        raise SourceError(path, "missing_column", f"missing required columns: {', '.join(missing)}", line=1)
    kept = [c for c in dict.fromkeys(wanted) if c in columns]
    picked = None
    if isinstance(raw, _ArrowRead):
        if len(set(columns)) == len(columns):  # else an alias repeats a name: pandas' rules
            picked = _kept_rows_arrow(raw.table.rename_columns(renamed(raw.table.column_names)), kept, path.name, scope)
        if picked is None:  # the rare files left to pandas after all: read again, whole
            raw = _read_csv_pandas(path, _utf8_bytes(path).decode("utf-8"))
    if picked is None:
        raw.columns = columns
        picked = _kept_rows(raw, kept, path.name, scope)
    rows, out_of_scope = picked
    for absent in (c for c in optional if c not in rows.columns):
        rows[absent] = ""  # Table.columns_seen tells whether the file had it
    dropped = [c for c in columns if c not in kept]
    notes = [f"{path.name}: dropped columns not in the contract: {_listing(dropped)}"] if dropped else []
    return Table(rows.reset_index(drop=True), notes, set(columns), out_of_scope)


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
        sum(t.rows_out_of_scope for t in tables),
    )
