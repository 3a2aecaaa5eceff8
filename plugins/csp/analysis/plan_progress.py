"""Performance against the partnership plan: each target tracked quarter by quarter.

plan.csv (partnership inputs) gives per CSP a ``priority_theme``, its ``measure``, a
``baseline_period`` ('2023Q1-2023Q4') and ``target_change_pct`` (negative: a reduction
sought; positive: an increase sought, e.g. domestic abuse reporting confidence).

Events counted: each plan target is counted by its theme (the measure's wording is the
plan's; the theme decides the events, see ``MEASURE_EVENTS``), in-area events of the CSP.
Road danger counts killed or seriously injured casualties on the adjusted severity where the
collision rows carry it (reported severity row by row otherwise), as cross_agency does.

For each quarter after the baseline up to the reference quarter:

- ``events_4q``: the events of the window of the same length as the baseline (four quarters)
  ending with that quarter; ``change_pct`` = 100 x (events_4q - baseline_events) / baseline_events.
- the **pro-rata path**: ``k`` quarters after the baseline the target expected so far is
  ``target_change_pct x min(k, n) / n`` (n = quarters in the baseline, 4): a quarter of the
  year's change after one quarter, all of it after four and from then on.
- ``status``: ``on_track`` when the change so far is at or better than the path (at or below
  it for a reduction, at or above for an increase; a target of 0 means no increase), else
  ``off_track``.
- ``status_6m``: the status at each half-year review (k = 2, 4, 6, ...), carried to the
  quarter after it; ``too_early`` before the first review (k = 1).
- ``status_annual``: at each full year after the baseline (k = 4, 8, ...) against the whole
  target, carried to the following quarters; ``too_early`` before the first year is over.

A baseline with no events, or one the data do not reach back to, cannot measure change: its
rows have null change and statuses.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp.quarters import Quarter

log = logging.getLogger(__name__)
COLUMNS = ["csp_code", "theme", "measure", "target_change_pct", "baseline_period", "baseline_events",
           "quarter", "events_4q", "change_pct", "status", "status_6m", "status_annual", "events_counted"]
_PERIOD = re.compile(r"^(\d{4}Q[1-4])-(\d{4}Q[1-4])$")


@dataclass(frozen=True)
class MeasureEvents:
    datasets: tuple[str, ...] | None  # None: every record-level source of the theme
    categories: tuple[str, ...] | None  # None: every category of the theme
    description: str


KSI = "road_collisions:ksi"  # casualties, not collisions: counted from the collision rows
MEASURE_EVENTS = {
    "violence": MeasureEvents(("police_crimes",), ("Violence and sexual offences",),
                              "police recorded violence and sexual offences (police.uk crime types "
                              "do not separate violence with injury)"),
    "asb": MeasureEvents(("police_incidents", "council_asb"), None, "ASB incidents, police and councils"),
    "acquisitive": MeasureEvents(("police_crimes",), None, "police recorded acquisitive crime"),
    "domestic_abuse": MeasureEvents(("police_incidents", "police_crimes"), None,
                                    "domestic abuse incidents and crimes recorded by police"),
    "road_danger": MeasureEvents((KSI,), None,
                                 "killed or seriously injured casualties (adjusted severity where supplied)"),
}


def events_for(theme: str) -> MeasureEvents:
    return MEASURE_EVENTS.get(theme, MeasureEvents(None, None, f"all in-area events of the theme {theme}"))


def parse_period(text: str) -> list[Quarter]:
    """'2023Q1-2023Q4' -> the quarters, first to last."""
    match = _PERIOD.match(str(text).strip())
    if not match:
        raise ValueError(f"baseline_period must read like 2023Q1-2023Q4, got {text!r}")
    first, last = Quarter.parse(match[1]), Quarter.parse(match[2])
    count = (last.year - first.year) * 4 + last.q - first.q + 1
    if count < 1:
        raise ValueError(f"baseline_period ends before it starts: {text!r}")
    return [first.shift(i) for i in range(count)]


def _judge(change: float, target: float) -> str | None:
    if np.isnan(change):
        return None
    better = change <= target if target <= 0 else change >= target
    return "on_track" if better else "off_track"


def progress(plan: pd.DataFrame, quarterly: pd.DataFrame, reference_quarter: Quarter,
             first_quarter: Quarter | None = None) -> pd.DataFrame:
    """plan: csp_code, priority_theme, measure, baseline_period, target_change_pct.
    quarterly: csp_code, theme, quarter (label), events: the measure's events per quarter
    (missing quarters are zero). ``first_quarter``: the first quarter the data cover; a
    baseline starting earlier cannot be counted."""
    counts = quarterly.groupby(["csp_code", "theme", "quarter"])["events"].sum()
    rows = []
    for target in plan.itertuples(index=False):
        baseline = parse_period(target.baseline_period)
        n = len(baseline)
        pct = float(target.target_change_pct)

        def events(quarters, target=target):
            return float(sum(counts.get((target.csp_code, target.priority_theme, q.label), 0) for q in quarters))

        known = first_quarter is None or baseline[0] >= first_quarter
        base = events(baseline) if known else np.nan
        if not known:
            log.warning("plan progress: %s %s baseline %s starts before the data (%s)", target.csp_code,
                        target.priority_theme, target.baseline_period, first_quarter)
        last_6m = last_annual = None
        k, quarter = 1, baseline[-1].next()
        while quarter <= reference_quarter:
            window = [quarter.shift(-i) for i in range(n)]
            now = events(window)
            change = 100.0 * (now - base) / base if base and not np.isnan(base) else np.nan
            status = _judge(change, pct * min(k, n) / n)
            if k % 2 == 0:
                last_6m = status
            if k % n == 0:
                last_annual = status
            rows.append((target.csp_code, target.priority_theme, target.measure, pct,
                         target.baseline_period, base, quarter.label, now, change, status,
                         last_6m if k >= 2 else ("too_early" if not np.isnan(change) else None),
                         last_annual if k >= n else ("too_early" if not np.isnan(change) else None),
                         events_for(target.priority_theme).description))
            k, quarter = k + 1, quarter.next()
    return pd.DataFrame(rows, columns=COLUMNS)


def quarterly_events(conn: Connection, monthly: pd.DataFrame, themes) -> pd.DataFrame:
    """csp_code, theme, quarter, events for the plan themes: from ``monthly`` (month, csp_code,
    dataset, theme, category, events: in-area) and, for road danger, the collision rows."""
    frames = []
    month_quarter = monthly["month"].map(lambda m: Quarter.of(m.date()).label)
    for theme in sorted(set(themes)):
        spec = events_for(theme)
        if spec.datasets == (KSI,):
            frames.append(ksi_by_quarter(conn).assign(theme=theme))
            continue
        chosen = monthly["theme"].eq(theme)
        if spec.datasets is not None:
            chosen &= monthly["dataset"].isin(spec.datasets)
        if spec.categories is not None:
            chosen &= monthly["category"].isin(spec.categories)
        frames.append(monthly[chosen].assign(quarter=month_quarter[chosen])
                      .groupby(["csp_code", "quarter"], as_index=False)["events"].sum().assign(theme=theme))
    if not frames:
        return pd.DataFrame(columns=["csp_code", "theme", "quarter", "events"])
    return pd.concat(frames, ignore_index=True)[["csp_code", "theme", "quarter", "events"]]


def ksi_by_quarter(conn: Connection) -> pd.DataFrame:
    frame = ksi_by_month(conn)
    frame["quarter"] = frame["month"].map(lambda m: Quarter.of(m.date()).label)
    return frame.groupby(["csp_code", "quarter"], as_index=False)["events"].sum()


def ksi_by_month(conn: Connection) -> pd.DataFrame:
    """csp_code, month, events: killed or seriously injured casualties of the in-area collisions
    (adjusted severity where supplied): road danger's measure, for the plan and the priorities."""
    return pd.read_sql(sa.text("""
        SELECT f.csp_code, CAST(DATE_TRUNC('month', f.event_date) AS DATE) AS month,
               SUM(COALESCE(r.killed_adults, 0) + COALESCE(r.killed_children, 0)
                   + COALESCE(r.adjusted_serious,
                              COALESCE(r.serious_adults, 0) + COALESCE(r.serious_children, 0))) AS events
        FROM core.fact_event f
        JOIN staging.road_collisions r ON r.return_id = f.return_id AND r.source_line = f.source_line
        WHERE f.dataset = 'road_collisions' AND f.area_status = 'in_area'
        GROUP BY 1, 2
    """), conn, parse_dates=["month"])


def plan_progress_table(conn: Connection, plan: pd.DataFrame, monthly: pd.DataFrame, reference_month) -> pd.DataFrame:
    """analysis.plan_progress for every target of plan.csv (``monthly`` as in
    plan_progress.quarterly_events, in-area rows only)."""
    if plan.empty or monthly.empty:
        return pd.DataFrame(columns=COLUMNS)
    quarterly = quarterly_events(conn, monthly, plan["priority_theme"])
    first = Quarter.of(monthly["month"].min().date())
    if first.start != monthly["month"].min().date():
        first = first.next()  # a part quarter is not a whole baseline quarter
    return progress(plan, quarterly, Quarter.of(pd.Timestamp(reference_month).date()), first)
