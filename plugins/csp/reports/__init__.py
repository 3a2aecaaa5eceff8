"""Rendering the partnership's intelligence products from the marts (templates in
report_templates/). Every figure in a report is read from the warehouse, never recomputed
from files, so the report and the marts cannot disagree."""
from __future__ import annotations

from pathlib import Path

from csp.config import Settings
from csp.geography import partnerships
from csp.reports.rendering import render
from csp.reports.strategic import strategic_assessment
from csp.warehouse.engine import make_engine


def render_all(settings: Settings) -> list[Path]:
    """The strategic assessment of every CSP of the area for the latest complete year."""
    engine = make_engine(settings.warehouse_url)
    area = settings.area["area"]["police_force_area"]
    written = []
    with engine.connect() as conn:
        for partnership in partnerships(settings.reference_dir, area):
            context = strategic_assessment(conn, partnership)
            if context is None:
                continue
            path = settings.out_dir / "strategic" / f"{context['period_label']}" / f"{partnership.code}.html"
            written.append(render("strategic_assessment.html.j2", context, path))
    return written
