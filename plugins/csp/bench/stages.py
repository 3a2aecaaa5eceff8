"""The measured stages. Each function runs in a fresh child process (``measure.isolated``):
it loads its input (untimed), times its own work with ``Clock`` and saves its output for the
next stage (untimed). They call the steps ``csp.ingest.ingest_return`` is made of (parse,
depersonalise, judge, stage), one (dataset, quarter) at a time, like one Airflow task each.

Module-level imports stay light: a spawned child imports this module before anything else.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

from csp.bench.measure import Clock
from csp.config import Settings

POLICE_DATASETS = ("police_crimes", "police_incidents")


@dataclass(frozen=True)
class Work:
    """Where one scale's stages read and write (picklable, handed to every child)."""
    root: Path  # the scale's folder
    quarters: tuple[str, ...]  # quarter labels
    stepwise: Settings  # stage-by-stage pipeline: data_dir with its own staging
    end_to_end: Settings  # ingest_return pipeline (and the warehouse input)

    @property
    def pickles(self) -> Path:
        return self.root / "intermediate"

    def pickle_path(self, step: str, dataset_id: str, quarter: str) -> Path:
        return self.pickles / f"{step}.{dataset_id}.{quarter}.pkl"


def _save(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(value, fh, protocol=5)


def _load(path: Path):
    with path.open("rb") as fh:
        return pickle.load(fh)


def _result(clock: Clock, rows: int, **extra) -> dict:
    return {"rows": rows, "seconds": clock.seconds, "peak_mib": clock.peak_mib, "extra": extra}


# -- police return, stage by stage ---------------------------------------------------------

def parse(work: Work, dataset_id: str, quarter_label: str) -> dict:
    from csp import ingest
    from csp.quarters import Quarter
    from csp.registry import DATASETS

    dataset, quarter = DATASETS[dataset_id], Quarter.parse(quarter_label)
    with Clock() as clock:
        parsed = ingest.parse(dataset, ingest.return_files(work.stepwise, dataset, quarter), quarter)
    _save(work.pickle_path("parsed", dataset_id, quarter_label), parsed)
    return _result(clock, parsed.rows_in, rows_out_of_scope=parsed.rows_out_of_scope)


def depersonalise(work: Work, dataset_id: str, quarter_label: str) -> dict:
    from csp.depersonalise import depersonalise as run, pseudonym_key
    from csp.registry import DATASETS

    parsed = _load(work.pickle_path("parsed", dataset_id, quarter_label))
    with Clock() as clock:
        clean = run(parsed.frame, DATASETS[dataset_id], pseudonym_key())
    _save(work.pickle_path("clean", dataset_id, quarter_label), clean)
    return _result(clock, parsed.rows_in)


def validate(work: Work, dataset_id: str, quarter_label: str) -> dict:
    import great_expectations  # noqa: F401  (imported by every ingest task before it runs)

    from csp import ingest
    from csp.quarters import Quarter
    from csp.registry import DATASETS

    dataset, quarter = DATASETS[dataset_id], Quarter.parse(quarter_label)
    parsed = _load(work.pickle_path("parsed", dataset_id, quarter_label))
    clean = _load(work.pickle_path("clean", dataset_id, quarter_label))
    with Clock() as clock:
        judgement = ingest.judge(dataset, quarter, parsed, clean,
                                 lambda: ingest.batch_parameters(work.stepwise, dataset, quarter))
    _save(work.pickle_path("validated", dataset_id, quarter_label), judgement)
    return _result(clock, parsed.rows_in, accepted=judgement.status == "accepted")


def stage(work: Work, dataset_id: str, quarter_label: str) -> dict:
    from csp import ingest
    from csp.quarters import Quarter
    from csp.registry import DATASETS

    dataset, quarter = DATASETS[dataset_id], Quarter.parse(quarter_label)
    parsed = _load(work.pickle_path("parsed", dataset_id, quarter_label))
    clean = _load(work.pickle_path("clean", dataset_id, quarter_label))
    judgement = _load(work.pickle_path("validated", dataset_id, quarter_label))
    with Clock() as clock:
        files = ingest.return_files(work.stepwise, dataset, quarter)
        entry = ingest.stage(work.stepwise, dataset, quarter, files, parsed, clean, judgement)
    return _result(clock, entry.rows_in, **_ledger_counts(entry))


def _ledger_counts(entry) -> dict:
    return {"status": entry.status, "rows_in": entry.rows_in, "rows_staged": entry.rows_staged,
            "rows_quarantined": entry.rows_quarantined}


# -- end to end ----------------------------------------------------------------------------

def _preload_ingest() -> None:
    """What an ingest task has imported before it runs (not part of the measured work)."""
    import great_expectations  # noqa: F401

    import csp.ingest  # noqa: F401
    import csp.quality  # noqa: F401
    import csp.sources  # noqa: F401


def ingest(work: Work, dataset_id: str, quarter_label: str) -> dict:
    """``csp.ingest.ingest_return``: the whole return, as the ingest task runs it."""
    from csp.ingest import ingest_return
    from csp.quarters import Quarter

    _preload_ingest()
    with Clock() as clock:
        entry = ingest_return(work.end_to_end, dataset_id, Quarter.parse(quarter_label))
    return _result(clock, entry.rows_in, **_ledger_counts(entry))


def ingest_others(work: Work) -> dict:
    """Every other dataset's returns (end to end), so the warehouse gets all datasets."""
    from csp.ingest import ingest_return, record_not_held, return_files
    from csp.quarters import Quarter
    from csp.registry import DATASETS

    _preload_ingest()
    settings = work.end_to_end
    counts = {"returns": 0, "rows_staged": 0, "rows_quarantined": 0, "rejected": []}
    rows = 0
    with Clock() as clock:
        for label in work.quarters:
            quarter = Quarter.parse(label)
            for dataset in DATASETS.values():
                if dataset.id in POLICE_DATASETS:
                    continue
                if not return_files(settings, dataset, quarter):
                    record_not_held(settings, dataset.id, quarter)
                    continue
                entry = ingest_return(settings, dataset.id, quarter)
                rows += entry.rows_in
                counts["returns"] += 1
                counts["rows_staged"] += entry.rows_staged
                counts["rows_quarantined"] += entry.rows_quarantined
                if entry.status != "accepted":
                    counts["rejected"].append(entry.return_id)
    return _result(clock, rows, **counts)


# -- warehouse, analysis, reports ----------------------------------------------------------

def _staged_rows(settings: Settings) -> int:
    from csp.staging import Staging

    ledger = Staging(settings.staging_dir).ledger()
    if ledger.empty:
        return 0
    return int(ledger.loc[ledger["status"] == "accepted", "rows_staged"].sum())


def warehouse_load(settings: Settings) -> dict:
    from csp.warehouse.engine import make_engine
    from csp.warehouse.load import load_returns

    engine = make_engine(settings.warehouse_url)
    with Clock() as clock:
        summary = load_returns(engine, settings)
    engine.dispose()
    return _result(clock, _staged_rows(settings), partitions=len(summary.loaded))


def models(settings: Settings) -> dict:
    from csp.warehouse.engine import make_engine
    from csp.warehouse.models import build

    engine = make_engine(settings.warehouse_url)
    with Clock() as clock, engine.begin() as conn:
        built = build(conn)
    engine.dispose()
    return _result(clock, _staged_rows(settings), models=len(built))


def analysis(settings: Settings) -> dict:
    from csp.analysis.run import run_all

    with Clock() as clock:
        summary = run_all(settings)
    return _result(clock, _staged_rows(settings), tables=sum(summary.rows.values()))


def reports(settings: Settings) -> dict:
    from csp.reports import render_all

    with Clock() as clock:
        summary = render_all(settings)
    extra = {"reports": len(summary.written) + len(summary.unchanged)}
    if summary.waiting:
        extra["waiting"] = summary.waiting
    return _result(clock, _staged_rows(settings), **extra)
