"""When a report may be rendered, and whether it must be rendered again.

A quarter is reportable once every held dataset of it is in (complete) or its statutory
deadline has passed (provisional: the report names what is missing); the warehouse's
marts.quarter_readiness says which. A report's inputs are the return versions loaded for
its period, the readiness of its quarters and the code that renders it: it is rendered again
only when those change (a resubmission, a late return, the deadline turning a pending quarter
provisional, a new template), so the warehouse DAG, woken many times a quarter, does not
rewrite unchanged reports.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, UTC
from functools import lru_cache
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp import safe_paths
from csp.quarters import Quarter
from csp.reports.rendering import TEMPLATES

REPORTABLE = ("complete", "provisional")


@dataclass(frozen=True)
class Period:
    """Four quarters ending with the latest reportable one."""
    quarters: tuple[Quarter, ...]
    provisional: bool
    missing: tuple[dict, ...]  # {"quarter", "authority", "dataset", "state"} of each gap
    inputs: tuple[tuple[str, str, int], ...]  # (dataset, quarter, version) loaded

    @property
    def last(self) -> Quarter:
        return self.quarters[-1]

    @property
    def fingerprint(self) -> str:
        payload = json.dumps({"inputs": self.inputs, "missing": self.missing, "code": code_version()},
                             sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of what renders a report (templates and the reports package): a deployment
    that changes them renders every report again."""
    digest = hashlib.sha256()
    for path in sorted([*TEMPLATES.glob("*"), *Path(__file__).parent.glob("*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def reportable_period(conn: Connection) -> Period | None:
    """The year to report now, or None while no quarter is reportable."""
    ready = pd.read_sql(sa.text("SELECT quarter, state FROM marts.quarter_readiness"), conn)
    ready = ready[ready["state"].isin(REPORTABLE)]
    if ready.empty:
        return None
    last = max(Quarter.parse(q) for q in ready["quarter"])
    quarters = tuple(last.shift(i) for i in range(-3, 1))
    labels = [q.label for q in quarters]
    compliance = pd.read_sql(sa.text(
        "SELECT quarter, authority, dataset, state FROM marts.compliance_matrix WHERE held"), conn)
    gaps = compliance[compliance["quarter"].isin(labels) & ~compliance["state"].isin(["on_time", "late"])]
    loaded = pd.read_sql(sa.text("SELECT dataset, quarter, version FROM staging.loaded_returns"), conn)
    loaded = loaded[loaded["quarter"].isin(labels)].sort_values(["dataset", "quarter"])
    return Period(
        quarters=quarters,
        provisional=not gaps.empty,
        missing=tuple(gaps.sort_values(["quarter", "authority", "dataset"]).to_dict("records")),
        inputs=tuple((d, q, int(v)) for d, q, v in loaded.itertuples(index=False)),
    )


def unchanged(path: Path, fingerprint: str) -> bool:
    """Whether the report at ``path`` was rendered from exactly these inputs."""
    manifest = path.with_suffix(".json")
    return (safe_paths.exists(path) and safe_paths.exists(manifest)
            and json.loads(safe_paths.read_bytes(manifest)).get("fingerprint") == fingerprint)


def record(path: Path, period: Period, **about) -> None:
    """Write the report's manifest: what it is (``about``: kind, subject, title) and the inputs
    it was built from (audit, the index page, delivery and re-render checks)."""
    safe_paths.write_text(path.with_suffix(".json"), json.dumps({
        **about,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fingerprint": period.fingerprint,
        "code_version": code_version(),
        "quarters": [q.label for q in period.quarters],
        "provisional": period.provisional,
        "missing": list(period.missing),
        "returns_used": [{"dataset": d, "quarter": q, "version": v} for d, q, v in period.inputs],
    }, indent=2, default=str))
