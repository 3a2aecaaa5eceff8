"""One dataset's quarterly return, from landing folder to staging: the callables behind the
authority DAG tasks (and the history loader, so both share one code path)."""
from __future__ import annotations

from pathlib import Path

from csp.config import Settings
from csp.depersonalise import depersonalise, pseudonym_key
from csp.quarters import Quarter
from csp.registry import DATASETS, Dataset
from csp.staging import NOT_HELD, NOT_RECEIVED, LedgerEntry, Staging


def landing_folder(settings: Settings, dataset: Dataset, quarter: Quarter) -> Path:
    return settings.landing_dir / dataset.authority / quarter.label


def not_held_reason(settings: Settings, dataset: Dataset) -> str | None:
    """Why the partnership configuration says this dataset is not held, or None if it is."""
    return settings.area.get("not_held", {}).get(dataset.id)


def return_files(settings: Settings, dataset: Dataset, quarter: Quarter) -> dict[str, list[Path]]:
    from csp.sources import find_return_files

    return find_return_files(dataset, landing_folder(settings, dataset, quarter))


def ingest_return(settings: Settings, dataset_id: str, quarter: Quarter) -> LedgerEntry:
    """Parse, depersonalise and stage the return in the landing folder as the next version."""
    from csp.sources import parse_return

    dataset = DATASETS[dataset_id]
    key = pseudonym_key()  # refuse before reading anything if no key is configured
    files = return_files(settings, dataset, quarter)
    if not files:
        raise FileNotFoundError(
            f"no {dataset.id} return in {landing_folder(settings, dataset, quarter)}"
        )
    parsed = parse_return(dataset, files, quarter)
    frame = depersonalise(parsed.frame, dataset, key)
    all_files = [path for paths in files.values() for path in paths]
    return Staging(settings.staging_dir).stage(
        dataset,
        quarter,
        all_files,
        frame,
        parsed.quarantine,
        rows_in=parsed.rows_in,
        rows_out_of_scope=parsed.rows_out_of_scope,
        notes=parsed.notes,
    )


def record_not_held(settings: Settings, dataset_id: str, quarter: Quarter) -> LedgerEntry:
    dataset = DATASETS[dataset_id]
    reason = not_held_reason(settings, dataset) or "declared not held"
    return Staging(settings.staging_dir).record_status(dataset, quarter, NOT_HELD, reason)


def record_not_received(settings: Settings, dataset_id: str, quarter: Quarter) -> LedgerEntry:
    dataset = DATASETS[dataset_id]
    note = f"no return in {landing_folder(settings, dataset, quarter)} by {quarter.deadline}"
    return Staging(settings.staging_dir).record_status(dataset, quarter, NOT_RECEIVED, note)
