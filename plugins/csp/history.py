"""Loading history: a file that spans several quarters (a council's year of collisions, a
financial year of HES) is split into per-quarter files in the landing folders, then each
quarter is ingested by the same task callable the authority DAG runs (csp.ingest). The
quarterly path itself refuses such a file and names this command (``csp history``).

Rows are split by the date column of their format (registry.SourceFormat.date_column, the one
the adapter reads). A row whose date cannot be read goes to the earliest quarter of the file,
where the ingest quarantines it with its reason: nothing is dropped here. A date that cannot be
(after today, or before the platform's first quarter, ``csp.quarters.possible_days``) is treated
the same way: it never makes a quarter of its own. STATS19 casualty rows follow their collision.
"""
from __future__ import annotations

import fnmatch
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from csp import clock, limits, safe_paths
from csp.config import Settings
from csp.quarters import Quarter, possible_days
from csp.registry import DATASETS, SOURCE_FORMATS
from csp.staging import LedgerEntry

STATS19_KEYS = ("collision_index", "accident_index")
# HES writes 1800-01-01 for a null date and 1801-01-01 for an invalid one (HES data
# dictionary): sentinels, not dates, so they are treated as unreadable.
SENTINEL_DATES = {fid: {"1800-01-01", "1801-01-01"} for fid in ("hes_apc", "hes_op", "hes_ae")}


@dataclass(frozen=True)
class SplitFile:
    quarter: Quarter
    path: Path
    rows: int


def format_of(path: Path) -> str:
    """The source format whose file pattern the file name matches."""
    matches = [
        fid for fid, fmt in SOURCE_FORMATS.items()
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in fmt.file_globs)
    ]
    if len(matches) != 1:
        raise ValueError(
            f"{path.name}: its name must match the file pattern of exactly one source format "
            f"(docs/data-contracts/README.md); it matches {matches or 'none'}"
        )
    return matches[0]


def authority_of(format_id: str) -> str:
    return next(d.authority for d in DATASETS.values() if format_id in d.source_formats)


def _read(path: Path, format_id: str) -> pd.DataFrame:
    from csp.sources.reading import decode

    limits.check_file(path, format_id)  # too large: refused before it is read
    return pd.read_csv(io.StringIO(decode(path), newline=""), dtype=str, keep_default_na=False)


def _quarters(dates: pd.Series, date_format: str, sentinels: set[str]) -> pd.Series:
    dates = dates.str.strip()
    parsed = pd.to_datetime(dates.mask(dates.isin(sentinels)), format=date_format, errors="coerce")
    # A date that cannot be (after today, or before the platform's first quarter) makes no
    # quarter of its own: like an unreadable one it goes to the file's earliest quarter, whose
    # ingest quarantines it with its reason (impossible_date).
    earliest, today = possible_days(clock.today())
    parsed = parsed.mask((parsed > pd.Timestamp(today)) | (parsed < pd.Timestamp(earliest)))
    labels = parsed.dt.year.astype("Int64").astype("string") + "Q" + parsed.dt.quarter.astype("Int64").astype("string")
    placed = labels.dropna()
    if placed.empty:
        raise ValueError("no row has a readable date that can be (after the platform's first "
                         "quarter, not after today): nothing to place in a quarter")
    return labels.fillna(min(placed))  # unreadable dates: earliest quarter, quarantined there


def split(paths: list[Path], landing_dir: Path) -> list[SplitFile]:
    """Write one file per quarter (same columns, same rows) into landing/<authority>/<quarter>/."""
    format_id = format_of(paths[0])
    if any(format_of(p) != format_id for p in paths):
        raise ValueError("history files must all be of one source format")
    column, date_format = SOURCE_FORMATS[format_id].date_column, SOURCE_FORMATS[format_id].date_format
    tables = {p: _read(p, format_id) for p in paths}
    quarters = {}
    for path, table in tables.items():
        if column in table.columns:
            quarters[path] = _quarters(table[column], date_format, SENTINEL_DATES.get(format_id, set()))
    if format_id == "stats19":  # casualty files carry no date: they follow their collision
        key_of = {
            p: next(k for k in STATS19_KEYS if k in t.columns) for p, t in tables.items()
        }
        collision_quarter = pd.concat(
            [pd.Series(quarters[p].values, index=tables[p][key_of[p]]) for p in quarters]
        )
        collision_quarter = collision_quarter[~collision_quarter.index.duplicated()]
        earliest = min(collision_quarter)
        for path in set(tables) - set(quarters):
            keys = tables[path][key_of[path]]
            quarters[path] = keys.map(collision_quarter).fillna(earliest)
    missing = [p.name for p in paths if p not in quarters]
    if missing:
        raise ValueError(f"{', '.join(missing)}: no {column!r} column to split by")

    authority, written = authority_of(format_id), []
    targets = {
        (path, label): landing_dir / authority / label / f"{path.stem}_{label}.csv"
        for path in tables for label in quarters[path].unique()
    }
    for target in targets.values():
        # Re-running history rewrites its own files; any other file of the format (except the
        # inputs themselves, moved aside below) would make the return two copies of the records.
        others = [p for p in find_format_files(format_id, target.parent)
                  if p not in targets.values() and p not in tables]
        if others:
            raise ValueError(
                f"{target.parent} already holds a {format_id} return ({others[0].name}): "
                "history would add a second copy"
            )
    jail = safe_paths.Jail(landing_dir)
    for path, table in tables.items():
        for label, rows in table.groupby(quarters[path].to_numpy(), sort=True):
            target = targets[(path, label)]
            jail.write_atomically(target, lambda fh, rows=rows: rows.to_csv(fh, index=False))
            written.append(SplitFile(Quarter.parse(label), target, len(rows)))
    for path in tables:
        _move_out_of_landing(path, landing_dir / authority, jail)
    return written


def _move_out_of_landing(path: Path, authority_dir: Path, jail: safe_paths.Jail) -> None:
    """An input that sat in a quarter's landing folder (where the quarterly run refused it) is
    kept, but moved to landing/<authority>/history/ so no quarter reads it twice."""
    if Path(os.path.abspath(path)).parent.parent != Path(os.path.abspath(authority_dir)):
        return
    jail.rename(path, authority_dir / "history" / path.name)


def find_format_files(format_id: str, folder: Path) -> list[Path]:
    jail = safe_paths.jail_of(folder) or safe_paths.Jail(folder)
    return jail.files(folder, SOURCE_FORMATS[format_id].file_globs)


def load_history(settings: Settings, paths: list[Path]) -> list[LedgerEntry]:
    """Split the files into quarterly returns and ingest every quarter of every dataset the
    format serves, through the authority DAG's own task callable."""
    from csp import ingest

    format_id = format_of(paths[0])
    quarters = sorted({f.quarter for f in split(paths, settings.landing_dir)})
    datasets = [d.id for d in DATASETS.values() if format_id in d.source_formats]
    return [ingest.ingest_return(settings, d, q) for q in quarters for d in datasets]
