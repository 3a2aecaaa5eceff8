"""Whether a report must be rendered again, and the manifest that records what it was built from.

The period a report covers is decided by the warehouse run (csp.warehouse.period). A report's
inputs are the return versions loaded for its period, the readiness of its quarters and the
code that renders it: it is rendered again only when those change (a resubmission, a late
return, the deadline turning a pending quarter provisional, a new template), so the warehouse
DAG, woken many times a quarter, does not rewrite unchanged reports.
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from csp import safe_paths
from csp.provenance import code_version
from csp.templating import TEMPLATES, VALIDATION_TEMPLATE
from csp.warehouse.period import REPORTABLE, Period, reportable_period

__all__ = ["REPORTABLE", "Period", "fingerprint", "record", "render_digest", "reportable_period", "unchanged"]


def fingerprint(period: Period) -> str:
    """What a report of ``period`` was built from: the returns loaded, the gaps and the rendering code."""
    payload = json.dumps({"inputs": period.inputs, "missing": period.missing, "code": render_digest()},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


@lru_cache(maxsize=1)
def render_digest() -> str:
    """A digest of what renders a report (its templates and the reports package, not ingest's
    validation page): a deployment that changes them renders every report again."""
    digest = hashlib.sha256()
    templates = [p for p in TEMPLATES.glob("*") if p.name != VALIDATION_TEMPLATE]
    for path in sorted([*templates, *Path(__file__).parent.glob("*.py")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def unchanged(path: Path, expected: str) -> bool:
    """Whether the report at ``path`` was rendered from exactly the inputs ``expected`` (a fingerprint)."""
    manifest = path.with_suffix(".json")
    return (safe_paths.exists(path) and safe_paths.exists(manifest)
            and json.loads(safe_paths.read_bytes(manifest)).get("fingerprint") == expected)


def record(path: Path, period: Period, **about) -> None:
    """Write the report's manifest: what it is (``about``: kind, subject, title) and the inputs
    it was built from (audit, the index page, delivery and re-render checks)."""
    safe_paths.write_text(path.with_suffix(".json"), json.dumps({
        **about,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fingerprint": fingerprint(period),
        "render_digest": render_digest(),
        "code_version": code_version(),
        "quarters": [q.label for q in period.quarters],
        "provisional": period.provisional,
        "missing": list(period.missing),
        "returns_used": [{"dataset": d, "quarter": q, "version": v} for d, q, v in period.inputs],
    }, indent=2, default=str))
