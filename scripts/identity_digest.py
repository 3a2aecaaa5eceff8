"""Build one synthetic partnership through the real ingest path (csp.ingest.ingest_return, GX
included), the warehouse, the analysis and the reports, in the checkout given, and write a
digest of everything deterministic: staged parquet content, every warehouse table, and the
reports' manifests and HTML with their run-specific fields removed.

    CSP_DATA_DIR=<out>/data CSP_OUT_DIR=<out>/out CSP_WAREHOUSE_URL=duckdb:///<out>/warehouse.duckdb \
        PYTHONPATH=<checkout>/plugins .venv/bin/python scripts/identity_digest.py <checkout> <out> > digest.txt

The digest JSON is the last part of the output (log lines come first).
"""
# ruff: noqa: E402  (the environment is set before csp and Airflow are imported)
import dataclasses
import hashlib
import json
import os
import re
import sys
from datetime import date
from pathlib import Path

checkout, folder = Path(sys.argv[1]), Path(sys.argv[2])
os.environ.setdefault("CSP_PSEUDONYM_KEY", "identity-check-key")
os.environ["CSP_PDF_WORKERS"] = "1"
os.environ["AIRFLOW_HOME"] = str(folder / "airflow")
import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa

from csp import clock, ingest
from csp.config import settings
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.synth import generate

assert Path(ingest.__file__).is_relative_to(checkout), ingest.__file__
current = dataclasses.replace(settings(), data_dir=folder / "data", out_dir=folder / "out",
                              warehouse_url=f"duckdb:///{folder / 'warehouse.duckdb'}")
with clock.frozen(date(2026, 4, 1)):
    manifest = generate(current.data_dir, seed=2026, quarters=12, scale=0.25)
    for dataset in DATASETS.values():
        for quarter in map(Quarter.parse, manifest["quarters"]):
            if dataset.id in manifest["not_held"]:
                ingest.record_not_held(current, dataset.id, quarter)
            elif ingest.return_files(current, dataset, quarter):
                ingest.ingest_return(current, dataset.id, quarter)
            else:
                ingest.record_not_received(current, dataset.id, quarter)
    from csp.warehouse import models
    from csp.warehouse.engine import make_engine
    from csp.warehouse.load import load_returns
    from csp.analysis.run import run_all
    from csp.reports import render_all
    engine = make_engine(current.warehouse_url)
    load_returns(engine, current)
    with engine.begin() as conn:
        models.build(conn)
    run_all(current)
    render_all(current)

def digest_frame(frame):
    frame = frame.reindex(sorted(frame.columns), axis=1)
    frame = frame.sort_values(list(frame.columns), ignore_index=True, key=lambda c: c.astype(str))
    return hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()[:16], len(frame)

RUN_FIELDS = {"generated_at", "fingerprint", "code_version", "render_digest", "staged_at", "loaded_at",
              "received_at", "staged_code_version", "loaded_code_version", "loaded_on_host", "staged_on_host"}
out = {"staged": {}, "warehouse": {}, "reports": {}}
for path in sorted(current.staging_dir.rglob("*.parquet")):
    out["staged"][str(path.relative_to(current.staging_dir))] = digest_frame(pq.read_table(path).to_pandas())
with engine.connect() as conn:
    tables = conn.execute(sa.text("SELECT table_schema, table_name FROM information_schema.tables "
                                  "ORDER BY 1, 2")).all()
    for schema, name in tables:
        frame = pd.read_sql(sa.text(f'SELECT * FROM "{schema}"."{name}"'), conn)
        frame = frame.drop(columns=[c for c in frame.columns if c in RUN_FIELDS or c.endswith("_at")])
        out["warehouse"][f"{schema}.{name}"] = digest_frame(frame)
stamp = re.compile(r"Generated [^<]*\.|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[^\"<]*")
for path in sorted(current.out_dir.rglob("*")):
    rel = str(path.relative_to(current.out_dir))
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in RUN_FIELDS}
        out["reports"][rel] = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    elif path.suffix == ".html":
        out["reports"][rel] = hashlib.sha256(stamp.sub("", path.read_text()).encode()).hexdigest()[:16]
print(json.dumps(out, indent=1, sort_keys=True))
