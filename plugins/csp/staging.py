"""Versioned, immutable staging of returns, and the returns ledger.

Layout under the staging directory::

    <dataset>/<quarter>/v<k>.parquet          accepted rows (canonical schema, depersonalised)
    <dataset>/<quarter>/v<k>.quarantine.csv   file, line, rule, reason per refused row (no raw values)
    <dataset>/<quarter>/v<k>.validation.json  the Great Expectations result (no sample values)
    <dataset>/<quarter>/v<k>.json             the ledger entry: written last, so it commits the version
    <dataset>/<quarter>/status.json           a quarter with no return: not held / not received

Authority DAGs write only here; the warehouse DAG reads the ledger to decide what to load
(one writer to the database). "Superseded" is never written: a version is superseded when
a later accepted version exists, so a resubmission supersedes atomically by existing.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, UTC
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from csp import csv_safety, provenance as audit, safe_paths
from csp.quarters import Quarter
from csp.registry import Dataset
from csp.schema import to_arrow

ACCEPTED, REJECTED, SUPERSEDED = "accepted", "rejected", "superseded"
_ENTRY = re.compile(r"^v\d+\.json$")  # v3.json, not v3.validation.json
NOT_HELD, NOT_RECEIVED = "not_held", "not_received"


@dataclass
class LedgerEntry:
    authority: str
    dataset: str
    quarter: str
    version: int | None
    status: str
    due_date: str
    file_sha256: str | None = None
    files: list[str] = field(default_factory=list)
    received_at: str | None = None  # when the newest file of the return landed (UTC)
    recorded_at: str = ""
    rows_in: int = 0
    # Every entry reconciles: rows_in = rows_loaded + rows_quarantined + rows_rejected.
    rows_loaded: int = 0  # input rows loaded
    rows_quarantined: int = 0  # rows refused one by one (quarantine report)
    rows_rejected: int = 0  # rows of a rejected return that were not quarantined
    rows_staged: int = 0  # rows of the staged table (fewer when a format aggregates)
    rows_out_of_scope: int = 0
    rows_redacted: int = 0
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # why the batch was rejected
    validation_report: str | None = None  # Data Docs page of the validation, beside the version
    # Provenance (csp.provenance): who/what recorded this entry. Entries written before these
    # fields existed load with None.
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    try_number: int | None = None
    hostname: str | None = None
    os_user: str | None = None
    code_version: str | None = None

    @property
    def return_id(self) -> str:
        return f"{self.dataset}/{self.quarter}/v{self.version}"

    @property
    def days_late(self) -> int | None:
        """Days from the statutory deadline to the return's arrival (UTC date, as the
        compliance matrix counts them); 0 when on time, None when nothing arrived."""
        if self.received_at is None:
            return None
        received = datetime.fromisoformat(self.received_at).astimezone(UTC).date()
        return max(0, (received - date.fromisoformat(self.due_date)).days)

    def asset_extra(self) -> dict:
        """The figures shown on the dataset's Asset event in the Airflow UI."""
        return {
            "authority": self.authority,
            "dataset": self.dataset,
            "quarter": self.quarter,
            "version": self.version,
            "status": self.status,
            "rows_in": self.rows_in,
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "received_at": self.received_at,
            "days_late": self.days_late,
        }


def files_sha256(files: list[Path]) -> str:
    """One checksum for a return made of several files (names and contents, order-free)."""
    outer = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        inner = hashlib.sha256()
        with safe_paths.open_file(path) as fh:
            for chunk in safe_paths.stream(fh):
                inner.update(chunk)
        outer.update(f"{path.name}:{inner.hexdigest()}\n".encode())
    return outer.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Staging:
    """The staging folder, read and written inside its jail (csp.safe_paths): every file is
    written through a temporary sibling and a rename, so readers never see half a file, and
    no link planted in the folder is followed."""

    def __init__(self, root: Path):
        self.root = root
        self.jail = safe_paths.Jail(root)

    def folder(self, dataset: str, quarter: Quarter) -> Path:
        return self.root / dataset / quarter.label

    def _write(self, path: Path, write) -> None:
        self.jail.write_atomically(path, write)

    def _read_entry(self, path: Path) -> LedgerEntry:
        return LedgerEntry(**json.loads(self.jail.read_bytes(path)))

    def versions(self, dataset: str, quarter: Quarter) -> list[LedgerEntry]:
        folder = self.folder(dataset, quarter)
        entries = [self._read_entry(p) for p in self.jail.files(folder, ("v*.json",)) if _ENTRY.match(p.name)]
        return sorted(entries, key=lambda e: e.version)

    def unchanged(self, dataset: str, quarter: Quarter, files: list[Path],
                  checksum: str | None = None) -> LedgerEntry | None:
        """The newest version, if it was staged from exactly these files (a re-run).
        ``checksum``: their ``files_sha256``, when the caller has it already."""
        newest = self.versions(dataset, quarter)[-1:]
        if not newest:
            return None  # nothing staged yet: no need to read the files
        return newest[0] if newest[0].file_sha256 == (checksum or files_sha256(files)) else None

    def latest_accepted(self, dataset: str, quarter: Quarter) -> LedgerEntry | None:
        accepted = [e for e in self.versions(dataset, quarter) if e.status == ACCEPTED]
        return accepted[-1] if accepted else None

    def stage(
        self,
        dataset: Dataset,
        quarter: Quarter,
        files: list[Path],
        frame: pd.DataFrame,
        quarantine: pd.DataFrame,
        *,
        rows_in: int,
        rows_loaded: int,
        rows_out_of_scope: int = 0,
        rows_redacted: int = 0,
        notes: list[str] | None = None,
        status: str = ACCEPTED,
        failures: list[str] | None = None,
        validation: dict | None = None,
        validation_html: str | None = None,
        provenance: dict | None = None,
        checksum: str | None = None,
    ) -> LedgerEntry:
        """Write a return as the next version, unless the same files are already the newest
        version (re-running a task is a no-op that returns it; re-sending an older version's
        files makes them the newest again). Only an accepted
        return gets a parquet file: a rejected one keeps its ledger entry, quarantine and
        validation result, and nothing to load. ``provenance`` gives the task fields of
        csp.provenance (dag_id, run_id, task_id, try_number); host, OS user and code version
        are this process's (recorded_at says when). ``checksum``: the files' ``files_sha256``
        when the caller has computed it (each file is then read once, not twice)."""
        checksum = checksum or files_sha256(files)
        if existing := self.unchanged(dataset.id, quarter, files, checksum):
            return existing
        if rows_in != rows_loaded + len(quarantine):
            raise ValueError(
                f"{dataset.id} {quarter}: rows do not reconcile: {rows_in} in != "
                f"{rows_loaded} loaded + {len(quarantine)} quarantined"
            )
        folder = self.jail.make_folders(self.folder(dataset.id, quarter))
        version = max((e.version for e in self.versions(dataset.id, quarter)), default=0) + 1
        entry = LedgerEntry(
            authority=dataset.authority,
            dataset=dataset.id,
            quarter=quarter.label,
            version=version,
            status=status,
            due_date=quarter.deadline.isoformat(),
            file_sha256=checksum,
            files=sorted(p.name for p in files),
            received_at=_received_at(files),
            recorded_at=_now(),
            rows_in=rows_in,
            rows_loaded=rows_loaded if status == ACCEPTED else 0,
            rows_quarantined=len(quarantine),
            rows_rejected=0 if status == ACCEPTED else rows_loaded,
            rows_staged=len(frame) if status == ACCEPTED else 0,
            rows_redacted=rows_redacted,
            rows_out_of_scope=rows_out_of_scope,
            notes=list(notes or []),
            failures=list(failures or []),
            validation_report=f"v{version}.validation.html" if validation_html else None,
            **audit.complete(provenance),
        )
        if status == ACCEPTED:
            stamped = frame.assign(return_id=entry.return_id, file_sha256=checksum)
            table = to_arrow(stamped, dataset)
            self._write(folder / f"v{version}.parquet", lambda fh: pq.write_table(table, fh))
        if validation is not None:
            self._write(
                folder / f"v{version}.validation.json",
                lambda fh: fh.write(json.dumps(validation, indent=1, default=str).encode()),
            )
        if validation_html is not None:
            self._write(folder / f"v{version}.validation.html", lambda fh: fh.write(validation_html.encode()))
        self._write(
            folder / f"v{version}.quarantine.csv",
            lambda fh: csv_safety.to_csv(quarantine, fh),  # a file name can carry a formula
        )
        self._write(folder / f"v{version}.json", lambda fh: _write_entry(entry, fh))
        # A return that arrives after being recorded "not received" replaces that record;
        # lateness stays visible from received_at against due_date.
        self.jail.unlink(folder / "status.json", missing_ok=True)
        return entry

    def record_status(self, dataset: Dataset, quarter: Quarter, status: str, note: str, *,
                      provenance: dict | None = None) -> LedgerEntry:
        """Record a quarter with no return (not held / not received)."""
        entry = LedgerEntry(
            authority=dataset.authority,
            dataset=dataset.id,
            quarter=quarter.label,
            version=None,
            status=status,
            due_date=quarter.deadline.isoformat(),
            recorded_at=_now(),
            notes=[note],
            **audit.complete(provenance),
        )
        self._write(self.folder(dataset.id, quarter) / "status.json", lambda fh: _write_entry(entry, fh))
        return entry

    def ledger(self) -> pd.DataFrame:
        """Every ledger entry, with superseded versions marked as such."""
        paths = [
            path for dataset, mode in self.jail.entries(self.root) if stat.S_ISDIR(mode)
            for quarter, mode in self.jail.entries(dataset) if stat.S_ISDIR(mode)
            for path in self.jail.files(quarter, ("v*.json", "status.json"))
            if path.name == "status.json" or _ENTRY.match(path.name)
        ]
        rows = [asdict(self._read_entry(p)) for p in paths]
        columns = list(LedgerEntry.__dataclass_fields__)
        ledger = pd.DataFrame(rows, columns=columns)
        if ledger.empty:
            return ledger
        ledger["version"] = ledger["version"].astype("Int64")
        accepted = ledger["status"].eq(ACCEPTED)
        newest = (
            ledger["version"].where(accepted)
            .groupby([ledger["dataset"], ledger["quarter"]]).transform("max")
        )
        ledger.loc[accepted & ledger["version"].lt(newest), "status"] = SUPERSEDED
        return ledger.sort_values(["dataset", "quarter", "version"]).reset_index(drop=True)


def _received_at(files: list[Path]) -> str:
    newest = max(_mtime(p) for p in files)
    return datetime.fromtimestamp(newest, UTC).isoformat(timespec="seconds")


def _mtime(path: Path) -> float:
    with safe_paths.open_file(path) as fh:
        return os.fstat(fh.fileno()).st_mtime


def _write_entry(entry: LedgerEntry, fh) -> None:
    fh.write(json.dumps(asdict(entry), indent=2, sort_keys=True).encode())
