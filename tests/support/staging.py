"""Small canonical frames and quarantine tables for staging and ledger tests."""

import pandas as pd

from csp.quarters import Quarter
from csp.registry import DATASETS


Q = Quarter(2024, 2)
DATASET = DATASETS["council_asb"]


def frame(n: int) -> pd.DataFrame:
    out = pd.DataFrame({c: [None] * n for c in DATASET.columns if c not in ("return_id", "file_sha256")})
    out["event_date"] = pd.Timestamp("2024-05-01")
    out["source_line"] = pd.array(range(2, n + 2), dtype="Int64")
    return out


def quarantine(n: int) -> pd.DataFrame:
    return pd.DataFrame({"source_file": ["f.csv"] * n, "source_line": range(10, 10 + n),
                         "rule": ["unparseable_date"] * n, "reason": ["incident_date is not a date"] * n})

