"""One dataset's quarterly return, from landing folder to staging, in four named steps:
``parse`` (csp.sources), ``depersonalise`` (csp.depersonalise), ``judge`` (csp.quality: accepted
or rejected) and ``stage`` (csp.staging). ``ingest_return`` runs them for one return;
``receive_return`` adds the ingest task's decisions (a refusal recorded, a rejection raised, a
late return alerted once), so the DAG task only maps outcomes to Airflow exceptions. The
authority DAGs, ``csp history`` and the bench (csp.bench.stages) all call these."""
from __future__ import annotations

import math
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from csp import clock, limits
from csp.config import Settings
from csp.depersonalise import depersonalise, pseudonym_key
from csp.quarters import Quarter, impossible_quarter
from csp.registry import AUTHORITIES, DATASETS, Dataset
from csp.safe_paths import RefusedFile
from csp.staging import ACCEPTED, NOT_HELD, NOT_RECEIVED, REJECTED, LedgerEntry, Staging, files_sha256

HISTORY_QUARTERS = 4  # previous quarters that set the plausible row-count band
# A return whose rows are mostly quarantined is rejected whole: loading the remnant would
# present a fraction of the quarter as if it were all of it.
MAX_QUARANTINED_SHARE = 0.5
NIL_RETURN_NOTE = "nil return: nothing to report this quarter"
# Under the data folder: values derived from reference data, kept between tasks (csp.area).
CACHE_FOLDER = "cache"


def landing_folder(settings: Settings, dataset: Dataset, quarter: Quarter) -> Path:
    return settings.landing_dir / dataset.authority / quarter.label


def not_held_reason(settings: Settings, dataset: Dataset) -> str | None:
    """Why the partnership configuration says this dataset is not held, or None if it is."""
    return settings.area.get("not_held", {}).get(dataset.id)


def return_files(settings: Settings, dataset: Dataset, quarter: Quarter) -> dict[str, list[Path]]:
    from csp.sources import find_return_files

    return find_return_files(dataset, landing_folder(settings, dataset, quarter))


@dataclass(frozen=True)
class LateReturn:
    """A return past its statutory deadline: still missing (``received_at`` None) or arrived late."""

    authority: str
    dataset: str
    quarter: str
    deadline: date
    days_late: int
    received_at: str | None = None

    @property
    def summary(self) -> str:
        state = "not received" if self.received_at is None else f"received {self.received_at}"
        return (f"late return: {self.dataset} {self.quarter}, authority {AUTHORITIES[self.authority].name} "
                f"({self.authority}), {state}, {self.days_late} day{'s' if self.days_late != 1 else ''} "
                f"after the statutory deadline {self.deadline.isoformat()}")

    def fields(self) -> dict:
        return {"authority": self.authority, "dataset": self.dataset, "quarter": self.quarter,
                "deadline": self.deadline.isoformat(), "days_late": self.days_late,
                "received_at": self.received_at}


def late_arrival(entry: LedgerEntry) -> LateReturn | None:
    """The entry as a late return, if it was received after its deadline."""
    if not entry.days_late:
        return None
    return LateReturn(entry.authority, entry.dataset, entry.quarter,
                      date.fromisoformat(entry.due_date), entry.days_late, entry.received_at)


class ReturnNotReceived(Exception):
    """The statutory deadline passed with no return: recorded in the ledger, then raised.
    ``late`` names the return for the alert."""

    def __init__(self, message: str, late: LateReturn):
        super().__init__(message)
        self.late = late


class ImpossibleQuarter(RefusedFile):
    """A landing folder for a quarter no return can be for (``csp.quarters.impossible_quarter``)."""


class MultiQuarterFile(ValueError):
    """Most rows are dated outside the quarter: a file covering several quarters, which the
    history command (csp history) loads, not the quarterly run."""


def poll_return(settings: Settings, dataset_id: str, quarter: Quarter, today, *,
                provenance: dict | None = None) -> list[str] | None:
    """One poke of the wait: the return's file names if it has landed (or, once retention has
    deleted the landing files, those of its accepted version in the ledger), None while it may
    still arrive; past the deadline (end of the following quarter) it is recorded as not
    received and ``ReturnNotReceived`` is raised."""
    dataset = DATASETS[dataset_id]
    files = return_files(settings, dataset, quarter)
    if files:
        return sorted(path.name for paths in files.values() for path in paths)
    if accepted := Staging(settings.staging_dir).latest_accepted(dataset_id, quarter):
        return list(accepted.files)
    if today > quarter.deadline:
        entry = record_not_received(settings, dataset_id, quarter, provenance=provenance)
        late = LateReturn(dataset.authority, dataset_id, quarter.label, quarter.deadline,
                          (today - quarter.deadline).days)
        raise ReturnNotReceived(f"{entry.notes[0]}: {late.summary}", late)
    return None


def newest_version(settings: Settings, dataset_id: str, quarter: Quarter) -> int:
    """The newest staged version number of the quarter's return (0 before the first)."""
    return max((e.version for e in Staging(settings.staging_dir).versions(dataset_id, quarter)), default=0)


def plausible_row_band(previous: list[int]) -> tuple[int, int]:
    """Row counts a return may have given the authority's previous quarters: half to twice
    their median, widened by three Poisson standard deviations so small series don't trip."""
    if not previous:
        return 0, sys.maxsize
    median = sorted(previous)[len(previous) // 2]
    slack = 3 * math.sqrt(median) + 5
    return max(0, math.floor(median / 2 - slack)), math.ceil(2 * median + slack)


def batch_parameters(settings: Settings, dataset: Dataset, quarter: Quarter) -> dict:
    """The values the dataset's expectation suite leaves open ($PARAMETER)."""
    import pandas as pd

    from csp.area import cached_area_codes

    codes = cached_area_codes(settings.reference_dir, settings.area["area"]["police_force_area"],
                              settings.data_dir / CACHE_FOLDER)
    staging = Staging(settings.staging_dir)
    # The suite counts rows of the staged table, so compare with earlier staged tables.
    previous = [
        entry.rows_staged
        for back in range(1, HISTORY_QUARTERS + 1)
        if (entry := staging.latest_accepted(dataset.id, quarter.shift(-back)))
    ]
    min_rows, max_rows = plausible_row_band(previous)
    return {
        "quarter_start": pd.Timestamp(quarter.start),
        "quarter_end": pd.Timestamp(quarter.end),
        "area_lsoas": sorted(codes.lsoas),
        "area_outward_codes": sorted(codes.outward_codes),
        "min_rows": min_rows,
        "max_rows": max_rows,
    }


def ingest_return(settings: Settings, dataset_id: str, quarter: Quarter,
                  provenance: dict | None = None) -> LedgerEntry:
    """Parse, depersonalise, validate and stage the return in the landing folder as the next
    version. A rejected return is staged as rejected (ledger, quarantine, validation) too.
    ``provenance``: the task fields recorded in the ledger entry (csp.provenance)."""
    from csp.key_generations import assert_current_key

    dataset = DATASETS[dataset_id]
    if reason := impossible_quarter(quarter, clock.today()):
        raise ImpossibleQuarter(landing_folder(settings, dataset, quarter), "impossible_quarter",
                                f"{reason}: no return can be for it")
    key = pseudonym_key()  # refuse before reading anything if no key is configured
    # A retired key (after a rotation) would stage pseudonyms of another generation.
    assert_current_key(settings.staging_dir, key)
    files = return_files(settings, dataset, quarter)
    if not files:
        if accepted := Staging(settings.staging_dir).latest_accepted(dataset.id, quarter):
            return accepted  # staged before retention deleted the landing files: nothing to do
        raise FileNotFoundError(
            f"no {dataset.id} return in {landing_folder(settings, dataset, quarter)}"
        )
    # Too large for its format, or an .xlsx beyond its caps: refused before any work starts.
    limits.check_files(files)
    all_files = [path for paths in files.values() for path in paths]
    staging = Staging(settings.staging_dir)
    # The files' checksum and the suite's parameters (the area's codes from the reference
    # lookups) are worked out in threads while the return is parsed: hashing, file reads and
    # pandas' CSV parser let go of the GIL. The checksum is needed before parsing only when a
    # version is staged already (a re-run?).
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest") as background:
        checksum = background.submit(files_sha256, all_files)
        if staging.versions(dataset.id, quarter) and (
                existing := staging.unchanged(dataset.id, quarter, all_files, checksum.result())):
            return existing  # a re-run with the same files: nothing to do
        parameters = background.submit(batch_parameters, settings, dataset, quarter)
        return _ingest_files(settings, dataset, quarter, files, key, checksum, parameters, provenance)


def _ingest_files(settings: Settings, dataset: Dataset, quarter: Quarter, files: dict[str, list[Path]],
                  key: bytes, checksum: Future, parameters: Future, provenance: dict | None) -> LedgerEntry:
    """``ingest_return`` once the files are known to be new: the four steps. ``checksum`` gives
    their ``files_sha256``, ``parameters`` the suite's ``batch_parameters`` (used, and any error
    raised, only when the return has rows)."""
    parsed = parse(dataset, files, quarter)
    clean = depersonalise(parsed.frame, dataset, key)
    judgement = judge(dataset, quarter, parsed, clean, parameters.result)
    return stage(settings, dataset, quarter, files, parsed, clean, judgement,
                 provenance=provenance, checksum=checksum.result())


# --- the steps of one return: parse -> depersonalise (csp.depersonalise) -> judge -> stage ------


@dataclass(frozen=True)
class Judgement:
    """What validation decided about a return: its status, why, and the pages that show it."""
    status: str  # ACCEPTED or REJECTED
    failures: list[str]
    notes: list[str]  # the parse and depersonalise notes, then the nil-return note if any
    outcome: object | None = None  # csp.quality.BatchOutcome; None for a nil return
    html: str | None = None  # the validation page


def parse(dataset: Dataset, files: dict[str, list[Path]], quarter: Quarter):
    """The return's files -> ``csp.sources.ParsedReturn``. A file whose rows are mostly dated
    outside the quarter is refused (``MultiQuarterFile``): it belongs to ``csp history``."""
    from csp.sources import parse_return

    parsed = parse_return(dataset, files, quarter)
    outside = int((parsed.quarantine["rule"] == "date_outside_quarter").sum())
    if outside * 2 > parsed.rows_in:
        names = " ".join(str(p) for paths in files.values() for p in paths)
        raise MultiQuarterFile(
            f"{outside} of {parsed.rows_in} {dataset.id} rows in {names} are dated outside "
            f"{quarter}: a file that covers several quarters is loaded with "
            f"`csp history {names}`, which splits it into quarterly returns"
        )
    return parsed


def judge(dataset: Dataset, quarter: Quarter, parsed, clean, parameters) -> Judgement:
    """Validate the depersonalised frame with the dataset's suite (``parameters``: a callable
    giving ``batch_parameters``, called only when there are rows) and decide: accepted, or
    rejected when the suite fails or most rows were quarantined."""
    from csp import quality

    notes = list(parsed.notes) + ([clean.note] if clean.note else [])
    if parsed.rows_in == 0:
        return Judgement(ACCEPTED, [], [*notes, NIL_RETURN_NOTE])
    outcome = quality.validate_batch(clean.frame, dataset.id, parameters())
    quarantined = len(parsed.quarantine)
    if quarantined > MAX_QUARANTINED_SHARE * parsed.rows_in:
        outcome = replace(outcome, accepted=False, failures=outcome.failures + [
            f"most rows quarantined ({quarantined} of {parsed.rows_in} rows; see the quarantine report)"
        ])
    return Judgement(ACCEPTED if outcome.accepted else REJECTED, outcome.failures, notes, outcome,
                     quality.render_result(dataset, quarter, outcome))


def stage(settings: Settings, dataset: Dataset, quarter: Quarter, files: dict[str, list[Path]], parsed, clean,
          judgement: Judgement, *, provenance: dict | None = None, checksum: str | None = None) -> LedgerEntry:
    """Stage the return as its next version (accepted or rejected alike: ledger, parquet,
    quarantine and validation report)."""
    return Staging(settings.staging_dir).stage(
        dataset,
        quarter,
        [path for paths in files.values() for path in paths],
        clean.frame,
        parsed.quarantine,
        rows_in=parsed.rows_in,
        rows_loaded=parsed.rows_loaded,
        rows_out_of_scope=parsed.rows_out_of_scope,
        rows_redacted=clean.rows_redacted,
        notes=judgement.notes,
        status=judgement.status,
        failures=judgement.failures,
        validation=judgement.outcome.result if judgement.outcome else None,
        validation_html=judgement.html,
        provenance=provenance,
        checksum=checksum,
    )


# --- what the ingest task decides --------------------------------------------------------------


class ReturnRefused(Exception):
    """The return's files cannot be read as its format, are not safe to open (csp.safe_paths), or
    belong to ``csp history``: recorded in the ledger as rejected with this message; retrying
    cannot help."""


class ReturnRejected(Exception):
    """The return was staged as rejected (validation failed, or most rows quarantined)."""

    def __init__(self, entry: LedgerEntry):
        super().__init__(f"{entry.return_id} rejected: {'; '.join(entry.failures)} "
                         f"(see {entry.validation_report} beside the staged version)")
        self.entry = entry


@dataclass(frozen=True)
class Received:
    """A return the ingest task took in: its ledger entry, and the late return to alert about
    when this call staged it past its deadline (None on a re-run, so the alert goes once)."""
    entry: LedgerEntry
    late: LateReturn | None


def receive_return(settings: Settings, dataset_id: str, quarter: Quarter, *,
                   provenance: dict | None = None) -> Received:
    """The ingest task's work and decisions: ingest the return; a refusal is recorded and raised
    as ``ReturnRefused``, a rejection raised as ``ReturnRejected`` (neither is transient); a
    key of a retired generation raises ``csp.key_generations.KeyRotationError``."""
    from csp.safe_paths import RefusedFile

    newest_before = newest_version(settings, dataset_id, quarter)
    try:
        entry = ingest_return(settings, dataset_id, quarter, provenance=provenance)
    except (MultiQuarterFile, RefusedFile) as error:  # RefusedFile: SourceError, UnsafePath
        record_refused(settings, dataset_id, quarter, str(error), provenance=provenance)
        raise ReturnRefused(str(error)) from error
    if entry.status == REJECTED:
        raise ReturnRejected(entry)
    return Received(entry, late_arrival(entry) if entry.version != newest_before else None)


def record_not_held(settings: Settings, dataset_id: str, quarter: Quarter, *,
                    provenance: dict | None = None) -> LedgerEntry:
    dataset = DATASETS[dataset_id]
    reason = not_held_reason(settings, dataset) or "declared not held"
    return Staging(settings.staging_dir).record_status(dataset, quarter, NOT_HELD, reason,
                                                       provenance=provenance)


def record_refused(settings: Settings, dataset_id: str, quarter: Quarter, reason: str, *,
                   provenance: dict | None = None) -> LedgerEntry:
    """A return whose files could not be read (or belong to the history command): rejected,
    with the reason naming the file and rule, until a corrected file is staged."""
    return Staging(settings.staging_dir).record_status(DATASETS[dataset_id], quarter, REJECTED, reason,
                                                       provenance=provenance)


def record_not_received(settings: Settings, dataset_id: str, quarter: Quarter, *,
                        provenance: dict | None = None) -> LedgerEntry:
    dataset = DATASETS[dataset_id]
    note = f"no return in {landing_folder(settings, dataset, quarter)} by {quarter.deadline}"
    return Staging(settings.staging_dir).record_status(dataset, quarter, NOT_RECEIVED, note,
                                                       provenance=provenance)
