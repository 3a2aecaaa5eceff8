"""Compare two staging folders file by file: quarantine CSVs and validation pages byte for
byte; validation results and ledger entries as JSON without their run-specific fields.

    .venv/bin/python scripts/compare_staging.py <staging folder A> <staging folder B>
"""
import json
import sys
from pathlib import Path
a, b = Path(sys.argv[1]), Path(sys.argv[2])
RUN = {"staged_at", "received_at", "code_version", "hostname", "os_user", "generated_at", "run_time",
       "run_id", "ge_load_time", "recorded_at", "dag_id", "task_id", "try_number", "staged_by_run"}
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if k not in RUN and not k.endswith("_at")}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v
files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.suffix != ".parquet")
files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.suffix != ".parquet")
print("same file list:", files_a == files_b, len(files_a))
diff = []
for rel in files_a:
    x, y = (a / rel).read_bytes(), (b / rel).read_bytes()
    same = clean(json.loads(x)) == clean(json.loads(y)) if rel.suffix == ".json" else x == y
    if not same:
        diff.append(str(rel))
print("differing:", len(diff), diff[:20])
