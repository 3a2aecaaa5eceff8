"""One synthetic partnership through the real parsing, depersonalisation, staging, warehouse
models and analysis, without Airflow or Great Expectations (neither changes a count, and both
are tested elsewhere): what the power tests run once per seed, in worker processes."""
from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

# What the planted signals are found in: police crimes (trend, hotspot, seasonality,
# displacement, NTE violence), police incidents (ASB: hotspot, summer peak) and assault
# admissions (the cross-agency violence picture and its NTE cluster). The priority matrix
# scores the themes these hold; the partnership inputs (consultation, capacity, plan) come
# from the generator as they are.
DATASETS_USED = ("police_crimes", "police_incidents", "hospital_admissions")
AS_OF = date(2026, 4, 1)  # the day after the last synthetic quarter's deadline


def analyse_seed(root: str, seed: int, signals: bool) -> dict:
    from csp import clock

    with clock.frozen(AS_OF):
        return _analyse(root, seed, signals)


def _analyse(root: str, seed: int, signals: bool) -> dict:
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

    folder = Path(root) / f"{'signals' if signals else 'none'}-{seed}"
    # One DuckDB thread: the power tests run one seed per core, so more threads only compete.
    current = dataclasses.replace(settings(), data_dir=folder,
                                  warehouse_url=f"duckdb:///{folder / 'w.duckdb'}?threads=1")
    # The other datasets are left unwritten (declared not held): every dataset has its own random
    # stream, so these three, the partnership inputs and the planted signals keep their bytes.
    manifest = generate(folder, seed=seed, signals=signals,
                        not_held=frozenset(DATASETS) - frozenset(DATASETS_USED))
    staging, key = Staging(current.staging_dir), pseudonym_key()
    for dataset_id in DATASETS_USED:
        dataset = DATASETS[dataset_id]
        for label in manifest["quarters"]:
            quarter = Quarter.parse(label)
            files = ingest.return_files(current, dataset, quarter)
            parsed = parse_return(dataset, files, quarter)
            staging.stage(dataset, quarter, [p for paths in files.values() for p in paths],
                          depersonalise(parsed.frame, dataset, key).frame, parsed.quarantine,
                          rows_in=parsed.rows_in, rows_loaded=parsed.rows_loaded)
    engine = make_engine(current.warehouse_url)
    load_returns(engine, current)
    with engine.begin() as conn:
        models.build(conn)
    run_all(current, locations=False)
    with engine.connect() as conn:
        tables = {name: pd.read_sql(sa.text(f"SELECT * FROM analysis.{name}"), conn)
                  for name in ("change", "trend", "hotspots", "seasonal_index", "displacement",
                               "priorities", "cross_agency", "nte_places")}
        tables["nte_violence"] = pd.read_sql(sa.text("""
            SELECT dataset, CASE WHEN location_precision = 'outward_postcode' THEN outward_postcode
                                 ELSE lsoa11_code END AS place,
                   night_time_economy, COUNT(*) AS events
            FROM core.fact_event
            WHERE theme = 'violence' AND area_status = 'in_area'
            GROUP BY 1, 2, 3"""), conn)
    engine.dispose()
    return {"seed": seed, "signals": manifest["signals"], **tables}
