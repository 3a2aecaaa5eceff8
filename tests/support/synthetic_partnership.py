"""The demo's synthetic partnership (seed 2026, 12 quarters) through the real parsing,
depersonalisation, staging, warehouse models and analysis, with one return withheld: what the
report tests render from. Great Expectations and Airflow are skipped (neither changes a figure;
both are tested elsewhere), which keeps the build to well under a minute."""
from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

AS_OF = date(2026, 4, 1)  # the day after the last synthetic quarter's deadline
SEED = 2026
# A return the partner never sent: the reports must show it as not received.
WITHHELD = ("council_asb", "2025Q3")


def build(folder: Path, *, seed: int = SEED, withheld: tuple[str, str] | None = WITHHELD,
          quarters: int = 12, scale: float = 1.0, as_of: date = AS_OF):
    """Settings of a deployment whose warehouse holds the analysed synthetic partnership."""
    from csp import clock

    with clock.frozen(as_of):
        return _build(Path(folder), seed, withheld, quarters, scale)


def _build(folder: Path, seed: int, withheld: tuple[str, str] | None, quarters: int, scale: float):
    from csp import ingest
    from csp.analysis.run import run_all
    from csp.config import settings
    from csp.depersonalise import depersonalise, pseudonym_key
    from csp.quarters import Quarter
    from csp.registry import DATASETS
    from csp.sources import parse_return
    from csp.staging import Staging
    from csp.synth import generate
    from csp.warehouse import models
    from csp.warehouse.engine import make_engine
    from csp.warehouse.load import load_returns

    current = dataclasses.replace(settings(), data_dir=folder, out_dir=folder / "out",
                                  warehouse_url=f"duckdb:///{folder / 'warehouse.duckdb'}")
    manifest = generate(folder, seed=seed, quarters=quarters, scale=scale)
    if withheld is not None:
        withheld_dataset, withheld_quarter = withheld
        for paths in ingest.return_files(current, DATASETS[withheld_dataset], Quarter.parse(withheld_quarter)).values():
            for path in paths:
                path.unlink()
    staging, key = Staging(current.staging_dir), pseudonym_key()
    for dataset in DATASETS.values():
        for quarter in map(Quarter.parse, manifest["quarters"]):
            if dataset.id in manifest["not_held"]:
                ingest.record_not_held(current, dataset.id, quarter)
                continue
            files = ingest.return_files(current, dataset, quarter)
            if not files:
                ingest.record_not_received(current, dataset.id, quarter)
                continue
            parsed = parse_return(dataset, files, quarter)
            clean = depersonalise(parsed.frame, dataset, key)
            staging.stage(dataset, quarter, [p for paths in files.values() for p in paths],
                          clean.frame, parsed.quarantine, rows_in=parsed.rows_in,
                          rows_loaded=parsed.rows_loaded, rows_out_of_scope=parsed.rows_out_of_scope,
                          rows_redacted=clean.rows_redacted)
    engine = make_engine(current.warehouse_url)
    load_returns(engine, current)
    with engine.begin() as conn:
        models.build(conn)
    engine.dispose()
    run_all(current)
    return current
