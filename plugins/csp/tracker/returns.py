"""What the Returns and Reports pages show.

The state of each return is the compliance matrix `csp status` prints (marts.compliance_matrix,
csp.status.compliance); its versions come from the staging ledger (csp.staging), which also
says which version is in use and which were superseded or rejected. Nothing personal is read:
the ledger's OS user and host are left out, and a quarantine summary counts rules and lines,
never values (the quarantine report holds none).
"""
from __future__ import annotations

import csv
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from csp.config import Settings
from csp.registry import AUTHORITIES, DATASETS

# The compliance matrix's states, as the page words them (csp.status: IN_STATES, PENDING_STATES
# and the states that need action).
STATE_LABELS = {
    "on_time": "received",
    "late": "late",
    "not_held": "not held",
    "awaited": "awaited",
    "not_received": "not received",
    "rejected": "rejected",
}
# How many line numbers a quarantine summary lists per rule (the count is always complete).
LINES_SHOWN = 20


@dataclass(frozen=True)
class Version:
    number: int
    status: str  # accepted / rejected / superseded
    received_at: str | None
    days_late: int | None
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    failures: tuple[str, ...]
    staged_by: str | None  # "<dag_id>/<run_id>" of the run that staged it

    @property
    def reconciles(self) -> bool:
        return self.rows_in >= self.rows_loaded + self.rows_quarantined


@dataclass(frozen=True)
class Cell:
    authority: str
    dataset: str
    quarter: str
    state: str
    due_date: date
    days_late: int | None
    versions: tuple[Version, ...]  # oldest first
    notes: tuple[str, ...]  # a quarter with no version: why (not held, not received, refused)

    @property
    def label(self) -> str:
        return STATE_LABELS.get(self.state, self.state.replace("_", " "))

    @property
    def in_use(self) -> Version | None:
        """The newest accepted version (the one the warehouse loads), else the newest."""
        accepted = [v for v in self.versions if v.status == "accepted"]
        return (accepted or list(self.versions) or [None])[-1]


@dataclass(frozen=True)
class Row:
    authority: str
    authority_name: str
    dataset: str
    title: str
    number: int | None


@dataclass(frozen=True)
class Tracker:
    as_of: date
    quarters: tuple[str, ...]
    rows: tuple[Row, ...]
    cells: dict[tuple[str, str], Cell]  # (dataset, quarter) -> cell

    def cell(self, dataset: str, quarter: str) -> Cell | None:
        return self.cells.get((dataset, quarter))

    def counts(self) -> dict[str, int]:
        counted = Counter(c.label for c in self.cells.values())
        return {label: counted[label] for label in STATE_LABELS.values() if counted[label]}

    def needs_action(self) -> list[Cell]:
        from csp.status import IN_STATES, PENDING_STATES

        waiting = [c for c in self.cells.values() if c.state not in IN_STATES + PENDING_STATES]
        return sorted(waiting, key=lambda c: (c.quarter, c.authority, c.dataset))


def _ledger_entries(settings: Settings):
    """Every ledger entry (superseded versions marked as such by csp.staging)."""
    import pandas as pd

    from csp.staging import LedgerEntry, Staging

    ledger = Staging(settings.staging_dir).ledger()
    for record in ledger.to_dict("records"):
        clean = {k: (None if not isinstance(v, (list, tuple)) and pd.isna(v) else v) for k, v in record.items()}
        yield LedgerEntry(**clean)


def _versions_and_notes(settings: Settings):
    versions, notes = defaultdict(list), {}
    for entry in _ledger_entries(settings):
        key = (entry.dataset, entry.quarter)
        if entry.version is None:  # a quarter with no return: not held, not received, refused
            notes[key] = tuple(entry.notes or ())
            continue
        versions[key].append(Version(
            number=int(entry.version),
            status=entry.status,
            received_at=entry.received_at,
            days_late=entry.days_late,
            rows_in=int(entry.rows_in),
            rows_loaded=int(entry.rows_loaded),
            rows_quarantined=int(entry.rows_quarantined),
            failures=tuple(entry.failures or ()),
            staged_by=f"{entry.dag_id}/{entry.run_id}" if entry.dag_id and entry.run_id else None,
        ))
    return versions, notes


def tracker(settings: Settings, last: int | None = None) -> Tracker:
    """The compliance matrix with every return's versions. Raises
    ``csp.status.WarehouseUnavailable`` when the matrix cannot be read."""
    from csp.status import compliance

    matrix = compliance(settings.warehouse_url)
    if last:
        matrix = matrix.last(last)
    versions, notes = _versions_and_notes(settings)
    cells = {}
    for entry in matrix.matrix.itertuples(index=False):
        key = (entry.dataset, entry.quarter)
        cells[key] = Cell(
            authority=entry.authority, dataset=entry.dataset, quarter=entry.quarter, state=entry.state,
            due_date=_date(entry.due_date),
            days_late=None if _missing(entry.days_late) else int(entry.days_late),
            versions=tuple(sorted(versions.get(key, []), key=lambda v: v.number)),
            notes=notes.get(key, ()))
    listed = {c.dataset for c in cells.values()}
    rows = tuple(
        Row(d.authority, AUTHORITIES[d.authority].name, d.id, d.title, d.number)
        for d in sorted(DATASETS.values(), key=lambda d: (list(AUTHORITIES).index(d.authority),
                                                         d.number is None, d.number or 0, d.id))
        if d.id in listed)
    quarters = tuple(sorted({c.quarter for c in cells.values()}))
    return Tracker(as_of=matrix.as_of, quarters=quarters, rows=rows, cells=cells)


def _missing(value) -> bool:
    return value is None or value != value  # None, NaN, NA


def _date(value) -> date:
    import pandas as pd

    return pd.Timestamp(value).date()


@dataclass(frozen=True)
class QuarantineRule:
    file: str
    rule: str
    reason: str
    rows: int
    lines: tuple[int, ...]  # the first LINES_SHOWN line numbers


def quarantine_summary(path: Path) -> list[QuarantineRule]:
    """Rows quarantined per file, rule and reason, with the first line numbers of each (the
    report cites file, line, rule and reason, never a value)."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as fh:
        for record in csv.DictReader(fh):  # csp.staging: source_file, source_line, rule, reason
            line = record.get("source_line") or ""
            groups[(record.get("source_file", ""), record.get("rule", ""), record.get("reason", ""))].append(
                int(line) if line.isdigit() else 0)
    return [QuarantineRule(file, rule, reason, len(lines), tuple(sorted(lines)[:LINES_SHOWN]))
            for (file, rule, reason), lines in sorted(groups.items(), key=lambda kv: -len(kv[1]))]
