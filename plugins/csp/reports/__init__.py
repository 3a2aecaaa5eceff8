"""Rendering the partnership's intelligence products from the marts (templates in
report_templates/). Every figure in a report is read from the warehouse, never recomputed
from files, so the report and the marts cannot disagree."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from csp.config import Settings
from csp.geography import served_area
from csp.reports import readiness
from csp.reports.rendering import render
from csp.reports.strategic import strategic_assessment
from csp.warehouse.engine import make_engine

log = logging.getLogger(__name__)


@dataclass
class RenderSummary:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    waiting: str | None = None  # why nothing could be rendered yet


def render_all(settings: Settings) -> RenderSummary:
    """The strategic assessment of every CSP the deployment serves, for the four quarters
    ending with the latest reportable one; unchanged reports are left as they are."""
    engine = make_engine(settings.warehouse_url)
    summary = RenderSummary()
    with engine.connect() as conn:
        period = readiness.reportable_period(conn)
        if period is None:
            summary.waiting = "no quarter is complete or past its deadline yet"
            log.info("reports: %s", summary.waiting)
            return summary
        for partnership in served_area(settings.reference_dir, settings.area).partnerships:
            label = f"{period.quarters[0].start:%Y-%m}_to_{period.last.months[-1]:%Y-%m}"
            path = settings.out_dir / "strategic" / label / f"{partnership.code}.html"
            if readiness.unchanged(path, period.fingerprint):
                summary.unchanged.append(path)
                continue
            render("strategic_assessment.html.j2", strategic_assessment(conn, partnership, period), path)
            readiness.record(path, period)
            summary.written.append(path)
    return summary
