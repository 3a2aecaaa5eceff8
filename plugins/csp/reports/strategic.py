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
from csp.registry import DATASETS
from csp.reports import counting, findings, queries
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
    quarters, matrix, quarantine, used = data_quality(conn, partnership.code, period)
    config = priority_matrix.load_config()

    chapters = theme_chapters(conn, partnership, period, reference_dir, themes=themes, tests=tests,
                              priorities=priorities, hotspots=hotspots, cross_agency=cross_agency)
    return {
        "partnership": partnership,
        "period_start": bounds["start"],
        "period_end": bounds["end"],
        "quarters": quarters,
        "provisional": period.provisional,
        "missing": list(period.missing),
        "counted": counting.headline(conn, codes, period),
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
        "quarantine": quarantine.to_dict("records"),
        "returns_used": used.to_dict("records"),
        "min_base": queries.MIN_BASE_FOR_PERCENT,
    }


def data_quality(conn: Connection, csp_code: str, period: Period
                 ) -> tuple[list[str], pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The compliance grid, the rows received and quarantined per dataset and the returns used.
    Their row counts are the whole return's (a police return covers the force area), so each
    sits beside the partnership's own events from it (``own_events``; null for a return of
    counts, which holds no events)."""
    quarters, matrix, used = queries.compliance(conn, period)
    own = queries.partnership_return_events(conn, csp_code, period)
    per_dataset = own.groupby("dataset")["events"].sum().to_dict()
    per_return = {(d, q): e for d, q, e in own[["dataset", "quarter", "events"]].itertuples(index=False)}

    def own_events(dataset: str, events) -> int | None:
        is_counts = dataset in DATASETS and DATASETS[dataset].kind == "count"
        return None if is_counts else int(events or 0)

    # object columns: a null stays None (a float column would turn it into NaN beside the ints)
    used = used.assign(own_events=pd.Series([own_events(d, per_return.get((d, q))) for d, q in
                                             zip(used["dataset"], used["quarter"], strict=True)],
                                            index=used.index, dtype=object))
    quarantine = queries.quarantine_summary(conn, period)
    quarantine["own_events"] = pd.Series([own_events(d, per_dataset.get(d)) for d in quarantine["dataset"]],
                                         index=quarantine.index, dtype=object)
    return quarters, matrix, quarantine, used


def latest_plan_status(plan: pd.DataFrame) -> list[dict]:
    """Each plan target at its latest tracked quarter."""
    if plan.empty:
        return []
    latest = plan.sort_values("quarter").groupby(["theme", "measure"], as_index=False).tail(1)
    return latest.sort_values("theme").to_dict("records")
