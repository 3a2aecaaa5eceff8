"""How long each task may run before Airflow stops it (``execution_timeout``), sized from the
bench (docs/benchmarks.md, "Latest run", 2-core machine) with a stated margin.

The margin is 20x the bench's figure for the largest scale it measures, rounded up to whole
minutes and never under 10 minutes (an interpreter start, the imports and a slow shared disk
cost a task tens of seconds before it does any work). 20x covers a return four times the
bench's largest (the ``1m`` scale is already about four times the biggest force's quarter) on
a machine five times slower; a task past its timeout is stuck (a hung connection, a file that
never ends), not slow. A task stopped by its timeout fails like any other error: it is
retried (``retries``) and alerted. The Celery broker's ``visibility_timeout``
(docker-compose.yaml) must stay longer than the longest of these.

Imported at DAG parse time: standard library only.
"""
from __future__ import annotations

from datetime import timedelta

MARGIN = 20
FLOOR = timedelta(minutes=10)

# task id -> (the bench figure it is sized from, in seconds, or None; where that figure is)
BENCH_BASIS: dict[str, tuple[float | None, str]] = {
    # Short-circuits and one sensor poke: read config/area.toml, list a landing folder.
    "is_held": (None, "reads the area file and writes one status file"),
    "is_supplied": (None, "lists one landing folder"),
    "wait_for_return": (None, "one poke lists one landing folder (the wait itself is the sensor timeout)"),
    # The largest per-return stage: "1m" (a 1-million-row police.uk return), police ingest end
    # to end, plus the several seconds an ingest process spends importing Great Expectations
    # (the bench's "wall" figure; 15 s taken).
    "ingest_return": (4.78 + 10.0, "1m: police ingest end to end 4.78 s + imports"),
    # The warehouse stages at "5m/20q" (five years, 5.9M rows) on PostgreSQL, the slower engine:
    # a full reload is the worst case (a new warehouse, or every partition resubmitted).
    "load_returns": (32.73, "5m/20q: warehouse load (PostgreSQL) 32.73 s"),
    "build_models": (64.78, "5m/20q: models (PostgreSQL) 64.78 s"),
    "run_analysis": (24.36, "5m/20q: analysis (PostgreSQL) 24.36 s"),
    # 28 reports with PDFs for the 9 CSPs of the bench's force area: a force area with three
    # times the partnerships still has a 6x margin.
    "render_reports": (49.40, "5m/20q: reports (DuckDB) 49.40 s, 9 CSPs"),
    # Three small queries of the marts (csp.warehouse.period); no bench figure.
    "reportable_period": (None, "reads marts.quarter_readiness, the compliance matrix and the load ledger"),
    # Deletes files the ledger accounts for; no bench figure.
    "apply_retention": (None, "deletes at most a quarter's landing files and quarantine reports"),
}


def _timeout(seconds: float | None) -> timedelta:
    if seconds is None:
        return FLOOR
    minutes = -(-seconds * MARGIN // 60)  # ceiling
    return max(FLOOR, timedelta(minutes=minutes))


EXECUTION_TIMEOUTS: dict[str, timedelta] = {task: _timeout(seconds) for task, (seconds, _) in BENCH_BASIS.items()}
LONGEST = max(EXECUTION_TIMEOUTS.values())


def execution_timeout(task_id: str) -> timedelta:
    """The timeout of a task, by its id within its group (``police_crimes.ingest_return`` ->
    ``ingest_return``); a task missing from the table is a KeyError at parse time."""
    return EXECUTION_TIMEOUTS[task_id.rsplit(".", 1)[-1]]
