"""A corrected return: its files replace the dataset's files in the landing folder (the old
ones are kept aside), and the authority's DAG is triggered for that quarter, whose ingest
then stages the return as a new version that supersedes the old one."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime, UTC
from fnmatch import fnmatch
from pathlib import Path

from csp import clock, limits, safe_paths
from csp.config import Settings
from csp.ingest import landing_folder, return_files
from csp.quarters import Quarter, impossible_quarter
from csp.registry import AUTHORITIES, DATASETS, SOURCE_FORMATS, Dataset
from csp.safe_paths import RefusedFile

TIMEZONE = "Europe/London"
SUPERSEDED_FOLDER = "superseded"  # landing/<authority>/<quarter>/superseded/<UTC time>/


class ResubmissionRefused(ValueError):
    """The names or files given do not make a return of that dataset (a usage error)."""


@dataclass(frozen=True)
class Placement:
    folder: Path
    placed: list[Path]
    set_aside: list[Path]  # the files the corrected ones replace, kept under superseded/
    also_read_by: list[str]  # other datasets that read the same files (they re-stage too)


def check_request(authority: str, dataset_id: str, quarter_label: str, files: list[Path]) -> tuple[Dataset, Quarter]:
    if authority not in AUTHORITIES:
        raise ResubmissionRefused(f"unknown authority {authority!r} (one of: {', '.join(AUTHORITIES)})")
    dataset = DATASETS.get(dataset_id)
    if dataset is None or dataset.authority != authority:
        own = ", ".join(d.id for d in DATASETS.values() if d.authority == authority)
        raise ResubmissionRefused(f"{authority} has no dataset {dataset_id!r} (its datasets: {own})")
    quarter = Quarter.parse(quarter_label)
    if reason := impossible_quarter(quarter, clock.today()):  # the rule csp history and ingest apply
        raise ResubmissionRefused(f"{reason}: there is no return to correct")
    if quarter.end >= clock.today():
        raise ResubmissionRefused(f"{quarter} has not ended yet: there is no return to correct")
    patterns = [g for f in dataset.source_formats for g in SOURCE_FORMATS[f].file_globs]
    for path in files:
        try:  # a link, FIFO, device or sparse file is refused, never copied by its content
            os.close(safe_paths.open_fd(path))
        except FileNotFoundError:
            raise ResubmissionRefused(f"{path}: no such file") from None
        except RefusedFile as refused:
            raise ResubmissionRefused(str(refused)) from None
        if not any(fnmatch(path.name, pattern) for pattern in patterns):
            raise ResubmissionRefused(
                f"{path.name} is not a {dataset.id} file: its name must match one of "
                f"{', '.join(patterns)} (docs/data-contracts/)")
    return dataset, quarter


def _format_of(dataset: Dataset, path: Path) -> str:
    return next(f for f in dataset.source_formats
                if any(fnmatch(path.name, g) for g in SOURCE_FORMATS[f].file_globs))


def place_files(settings: Settings, dataset: Dataset, quarter: Quarter, files: list[Path]) -> Placement:
    """Copy the corrected files in, checked (csp.limits: size, NUL bytes; csp.safe_paths: no
    link followed anywhere under landing/), then set the dataset's current files aside and
    put the copies in their place. The copies are made first, in a hidden folder beside the
    return, so a refused file (ResubmissionRefused) leaves the landing folder as it was.
    Copies get a new modification time on purpose: the ledger's received time is when the
    files landed."""
    jail = safe_paths.Jail(settings.landing_dir)
    folder = landing_folder(settings, dataset, quarter)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    incoming = folder / f".incoming-{stamp}-{os.getpid()}"
    try:
        for path in files:
            jail.write_atomically(incoming / path.name,
                                  lambda fh, path=path: limits.copy_checked(path, fh, _format_of(dataset, path)))
        current = [path for paths in return_files(settings, dataset, quarter).values() for path in paths]
        if current:  # made (or refused, if a link is in the way) before anything moves
            jail.make_folders(folder / SUPERSEDED_FOLDER / stamp)
    except BaseException as error:
        with contextlib.suppress(OSError, RefusedFile):  # a folder refused above stays refused
            jail.remove_folder(incoming)
        if isinstance(error, RefusedFile):
            raise ResubmissionRefused(str(error)) from None
        raise
    set_aside = [jail.rename(path, folder / SUPERSEDED_FOLDER / stamp / path.name) for path in current]
    placed = [jail.rename(incoming / path.name, folder / path.name) for path in files]
    jail.remove_folder(incoming)
    names = [p.name for p in placed + set_aside]
    also = sorted(
        other.id for other in DATASETS.values()
        if other.id != dataset.id and other.authority == dataset.authority
        and any(fnmatch(name, g) for f in other.source_formats for g in SOURCE_FORMATS[f].file_globs for name in names)
    )
    return Placement(folder, placed, set_aside, also)


def run_window(quarter: Quarter) -> datetime:
    """The moment the quarter's data interval ends (start of the next quarter, London time):
    Airflow infers a manual run's data interval as the period ending at its run_after."""
    import pendulum

    boundary = quarter.next().start
    return pendulum.datetime(boundary.year, boundary.month, boundary.day, tz=TIMEZONE)


def trigger_authority_dag(authority: str, quarter: Quarter, note: str) -> str:
    """Trigger ingest_<authority> for the quarter through Airflow's Python API (what
    `airflow dags trigger` calls) and return the run id. The run is dated now (a logical date
    is unique per DAG, and each resubmission needs its own run) and runs after the quarter's
    end, which sets its data interval to the quarter."""
    import pendulum
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    now = pendulum.now("UTC").replace(microsecond=0)
    run = trigger_dag(
        f"ingest_{authority}",
        triggered_by=DagRunTriggeredByType.CLI,
        run_id=f"resubmit__{quarter.label}__{now.format('YYYYMMDDTHHmmss')}Z",
        logical_date=now,
        run_after=run_window(quarter),
        conf={"resubmission": quarter.label},
        note=note,
    )
    return run.run_id
