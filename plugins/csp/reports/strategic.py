"""The strategic assessment of one CSP for a reportable year (csp.reports.readiness): the
recommended priorities and key findings, data coverage and quality, a chapter per theme, the
priority matrix, progress against the plan, recommendations and the sources used. Everything is
read from the marts and the analysis tables (csp.reports.queries)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from csp.analysis import priority as priority_matrix
from csp.geography import Partnership
from csp.reports import findings, queries
from csp.reports.chapters import theme_chapters
from csp.reports.readiness import Period

PLAN_FILE = "plan.csv"


def strategic_assessment(conn: Connection, partnership: Partnership, period: Period,
                         reference_dir: Path, partnership_dir: Path) -> dict:
    codes = [partnership.code]
    bounds = queries.period_bounds(period)
    themes = queries.theme_year_counts(conn, codes, period)
    tests = queries.theme_tests(conn, codes)
    priorities = queries.priorities(conn, codes)
    hotspots = queries.hotspots(conn, codes)
    exceedances = queries.exceedances(conn, codes)
    cross_agency = queries.cross_agency(conn, codes)
    plan = queries.plan_progress(conn, codes)
    quarters, matrix, used = queries.compliance(conn, period)
    config = priority_matrix.load_config()

    chapters = theme_chapters(conn, partnership, period, reference_dir, themes=themes, tests=tests,
                              priorities=priorities, hotspots=hotspots, cross_agency=cross_agency)
    total_current, total_previous = int(themes["current_year"].sum()), int(themes["previous_year"].sum())
    return {
        "partnership": partnership,
        "period_start": bounds["start"],
        "period_end": bounds["end"],
        "quarters": quarters,
        "provisional": period.provisional,
        "missing": list(period.missing),
        "total_current": total_current,
        "total_previous": total_previous,
        "themes": themes.to_dict("records"),
        "priorities": priorities.to_dict("records"),
        "priority_weights": config["weights"],
        "priority_cutoff": config["cutoff"],
        "audit": queries.priority_audit(conn, codes).to_dict("records"),
        "key_findings": findings.key_findings(themes, tests, queries.category_findings(conn, codes),
                                              hotspots, exceedances, period),
        "chapters": chapters,
        "plan": latest_plan_status(plan),
        "plan_supplied": (partnership_dir / PLAN_FILE).exists(),
        "recommendations": findings.recommendations(priorities, hotspots, plan),
        "compliance": matrix.to_dict("records"),
        "quarantine": queries.quarantine_summary(conn, period).to_dict("records"),
        "returns_used": used.to_dict("records"),
        "min_base": queries.MIN_BASE_FOR_PERCENT,
    }


def latest_plan_status(plan: pd.DataFrame) -> list[dict]:
    """Each plan target at its latest tracked quarter."""
    if plan.empty:
        return []
    latest = plan.sort_values("quarter").groupby(["theme", "measure"], as_index=False).tail(1)
    return latest.sort_values("theme").to_dict("records")
