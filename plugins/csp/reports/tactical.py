"""The tactical assessment of one CSP for the latest reportable quarter, for the tasking and
co-ordination group: the agreed priorities this quarter, control-chart exceedances, emerging
hotspots, progress against the plan's targets and the tasking log."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.reports import charts, queries
from csp.reports.readiness import Period

TASKING_FILE = "tasking_log.csv"
PLAN_FILE = "plan.csv"
OPEN_STATES = ("open", "monitoring")


def quarter_counts(conn: Connection, csp: str, period: Period) -> pd.DataFrame:
    """Per theme: this quarter, the quarter before and the same quarter a year earlier."""
    quarter = period.last
    windows = {"this_quarter": quarter, "previous_quarter": quarter.shift(-1), "last_year": quarter.shift(-4)}
    frame = queries.read(conn, """
        SELECT theme, month, CAST(SUM(events) AS BIGINT) AS events FROM marts.monthly_counts
        WHERE csp_code = :csp AND area_status = 'in_area' AND month BETWEEN :first AND :last
        GROUP BY theme, month
    """, csp=csp, first=quarter.shift(-4).start, last=quarter.months[-1])
    frame["month"] = pd.to_datetime(frame["month"])
    out = pd.DataFrame({"theme": sorted(frame["theme"].unique())})
    for name, q in windows.items():
        months = {pd.Timestamp(m) for m in q.months}
        totals = frame[frame["month"].isin(months)].groupby("theme")["events"].sum()
        out[name] = out["theme"].map(totals).fillna(0).astype(int)
    out["change_vs_last_year_pct"] = queries.percent_change(out["this_quarter"], out["last_year"])
    out["theme_name"] = out["theme"].map(queries.theme_name)
    return out


def tasking_entries(partnership_dir: Path, csp: str, start: date, end: date, theme: str | None = None) -> list[dict]:
    """Tasking-log entries still open or monitored, or raised within the window."""
    log = queries.partnership_file(partnership_dir, TASKING_FILE)
    if log.empty:
        return []
    log = log[log["csp_code"] == csp]
    if theme is not None:
        log = log[log["theme"] == theme]
    raised = pd.to_datetime(log["raised_date"]).dt.date
    keep = log["status"].isin(OPEN_STATES) | ((raised >= start) & (raised <= end))
    shown = log[keep].assign(theme_name=lambda f: f["theme"].map(queries.theme_name))
    return shown.sort_values(["raised_date", "theme"], ascending=[False, True]).to_dict("records")


def agreed_priorities(partnership_dir: Path, csp: str) -> list[str]:
    plan = queries.partnership_file(partnership_dir, PLAN_FILE)
    if plan.empty:
        return []
    return sorted(plan.loc[plan["csp_code"] == csp, "priority_theme"].unique())


def tactical_assessment(conn: Connection, partnership: Partnership, period: Period, partnership_dir: Path) -> dict:
    codes, quarter = [partnership.code], period.last
    counts = quarter_counts(conn, partnership.code, period)
    agreed = agreed_priorities(partnership_dir, partnership.code)
    months = {pd.Timestamp(m) for m in quarter.months}
    exceed = queries.exceedances(conn, codes)
    signals = exceed[exceed["month"].isin(months) & exceed["signal"].fillna(False).astype(bool)].copy()
    signals["theme_name"] = signals["theme"].map(queries.theme_name)
    signals["rules"] = signals.apply(lambda r: ", ".join(
        label for column, label in (("beyond_3sigma", "beyond 3 sigma"),
                                    ("two_of_three_2sigma", "2 of 3 beyond 2 sigma"),
                                    ("run_9", "9 on one side"), ("trend_6", "6 rising or falling"))
        if bool(r.get(column))), axis=1) if not signals.empty else []
    hot = queries.hotspots(conn, codes)
    emerging = hot[(hot["hotspot_class"] == "emerging")].copy()
    emerging["theme_name"] = emerging["theme"].map(queries.theme_name)
    plan = queries.plan_progress(conn, codes)
    plan = plan[plan["quarter"] == quarter.label] if not plan.empty else plan
    series = queries.monthly_theme_series(conn, codes)
    series = series[series["theme"].isin(agreed) & (series["month"] >= pd.Timestamp(quarter.shift(-7).start))]
    series = series.assign(theme=series["theme"].map(queries.theme_name))
    return {
        "partnership": partnership,
        "quarter": quarter.label,
        "quarter_start": quarter.start,
        "quarter_end": quarter.months[-1],
        "provisional": quarter.label in {m["quarter"] for m in period.missing},
        "missing": [m for m in period.missing if m["quarter"] == quarter.label],
        "agreed": [queries.theme_name(t) for t in agreed],
        "priority_counts": counts[counts["theme"].isin(agreed)].to_dict("records"),
        "other_counts": counts[~counts["theme"].isin(agreed)].to_dict("records"),
        "exceedances": signals.sort_values(["theme", "month"]).to_dict("records"),
        "emerging": emerging.sort_values(["theme", "rank_in_csp"]).to_dict("records"),
        "plan": plan.to_dict("records"),
        "tasking": tasking_entries(partnership_dir, partnership.code, quarter.start, quarter.months[-1]),
        "chart": charts.monthly_series(
            series, title=f"Agreed priorities: events per month, {partnership.name}", y_label="Events per month",
            source="Partner returns to the CSP", group="theme") if not series.empty else None,
    }
