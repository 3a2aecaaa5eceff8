"""The retention policy (config/retention.toml), applied by the daily housekeeping DAG.

- A raw return in ``landing/<authority>/<YYYY>Q<n>/`` is deleted ``landing.days_after_staged``
  days after it was staged, and only if the returns ledger shows it staged (accepted, or
  accepted then superseded) from exactly the bytes on disk: the ledger entry's checksum is
  recomputed over its files in the landing folder. A file the ledger does not account for
  (rejected, refused, not yet ingested, changed since, a history input) is kept and listed.
- A quarantine report ``staging/<dataset>/<quarter>/v<k>.quarantine.csv`` is deleted
  ``quarantine.days`` days after it was written (its mtime); the ledger keeps the counts.

Every deletion is logged with its reason, and counted; ``dry_run`` logs and counts the same
without deleting anything.
"""
from __future__ import annotations

import logging
import os
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from pathlib import Path

from csp.config import PROJECT_DIR, Settings
from csp.staging import ACCEPTED, SUPERSEDED, Staging, files_sha256

log = logging.getLogger(__name__)
RETENTION_FILE = PROJECT_DIR / "config" / "retention.toml"
STAGED = (ACCEPTED, SUPERSEDED)


@dataclass(frozen=True)
class RetentionPolicy:
    landing_days: int
    quarantine_days: int


def load_policy(path: Path | None = None) -> RetentionPolicy:
    path = path or Path(os.environ.get("CSP_RETENTION_FILE", RETENTION_FILE))
    with path.open("rb") as fh:
        config = tomllib.load(fh)
    policy = RetentionPolicy(landing_days=int(config["landing"]["days_after_staged"]),
                             quarantine_days=int(config["quarantine"]["days"]))
    if policy.landing_days < 1 or policy.quarantine_days < 1:
        raise ValueError(f"{path}: retention periods must be at least one day: {policy}")
    return policy


@dataclass
class HousekeepingSummary:
    dry_run: bool
    landing_deleted: list[Path] = field(default_factory=list)
    landing_retained: list[Path] = field(default_factory=list)  # staged, within the period
    landing_unaccounted: list[Path] = field(default_factory=list)  # no matching staged version
    quarantine_deleted: list[Path] = field(default_factory=list)
    quarantine_retained: int = 0

    def counts(self) -> dict:
        return {"dry_run": self.dry_run,
                "landing_deleted": len(self.landing_deleted),
                "landing_retained": len(self.landing_retained),
                "landing_unaccounted": len(self.landing_unaccounted),
                "quarantine_deleted": len(self.quarantine_deleted),
                "quarantine_retained": self.quarantine_retained}


def staged_landing_files(settings: Settings) -> dict[Path, datetime]:
    """Landing file -> when it was last staged, for every file whose bytes on disk are those
    of a staged ledger entry (the entry's combined checksum recomputed over its files)."""
    ledger = Staging(settings.staging_dir).ledger()
    staged: dict[Path, datetime] = {}
    if ledger.empty:
        return staged
    for entry in ledger[ledger["status"].isin(STAGED)].itertuples():
        folder = settings.landing_dir / entry.authority / entry.quarter
        paths = [folder / name for name in entry.files]
        if not paths or not all(p.is_file() for p in paths):
            continue
        if files_sha256(paths) != entry.file_sha256:
            continue  # a different file of the same name landed since: not what was staged
        recorded = datetime.fromisoformat(entry.recorded_at)
        for path in paths:
            staged[path] = max(staged.get(path, recorded), recorded)  # a re-staging restarts the clock
    return staged


def landing_files(settings: Settings) -> list[Path]:
    root = settings.landing_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []


def _delete(path: Path, reason: str, dry_run: bool) -> None:
    if dry_run:
        log.info("housekeeping (dry run): would delete %s: %s", path, reason)
        return
    path.unlink()
    log.info("housekeeping: deleted %s: %s", path, reason)


def clean_landing(settings: Settings, policy: RetentionPolicy, now: datetime,
                  summary: HousekeepingSummary) -> None:
    staged = staged_landing_files(settings)
    cutoff = now - timedelta(days=policy.landing_days)
    for path in landing_files(settings):
        when = staged.get(path)
        if when is None:
            summary.landing_unaccounted.append(path)
        elif when <= cutoff:
            _delete(path, f"staged {when.date()}, over {policy.landing_days} days ago", summary.dry_run)
            summary.landing_deleted.append(path)
        else:
            summary.landing_retained.append(path)
    by_folder = defaultdict(int)
    for path in summary.landing_unaccounted:
        by_folder[path.parent] += 1
    for folder, count in sorted(by_folder.items()):
        log.info("housekeeping: kept %d landing file(s) in %s: no staged version matches them", count, folder)


def clean_quarantine(settings: Settings, policy: RetentionPolicy, now: datetime,
                     summary: HousekeepingSummary) -> None:
    cutoff = (now - timedelta(days=policy.quarantine_days)).timestamp()
    root = settings.staging_dir
    reports = sorted(root.glob("*/*/v*.quarantine.csv")) if root.is_dir() else []
    for path in reports:
        written = path.stat().st_mtime
        if written <= cutoff:
            day = datetime.fromtimestamp(written, UTC).date()
            _delete(path, f"written {day}, over {policy.quarantine_days} days ago", summary.dry_run)
            summary.quarantine_deleted.append(path)
        else:
            summary.quarantine_retained += 1


def apply_retention(settings: Settings, policy: RetentionPolicy | None = None, *,
                    now: datetime | None = None, dry_run: bool = False) -> HousekeepingSummary:
    """Apply the retention policy once; ``now`` (UTC) is injectable for tests and replays."""
    policy = policy or load_policy()
    now = now or datetime.now(UTC)
    summary = HousekeepingSummary(dry_run=dry_run)
    clean_landing(settings, policy, now, summary)
    clean_quarantine(settings, policy, now, summary)
    log.info("housekeeping%s: %s", " (dry run)" if dry_run else "", summary.counts())
    return summary
