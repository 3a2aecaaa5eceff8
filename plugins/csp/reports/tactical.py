"""The tactical assessment of one CSP for the latest reportable quarter, for the tasking and
co-ordination group: what to task, where, and what is already tasked.

- The quarter against its seasonal expectation, per theme and per category (a rise inside a
  theme, vehicle crime inside acquisitive crime, shows even when the theme is flat). The
  expectation is the mean of the same calendar quarter in the earlier years the warehouse holds;
  the words about direction come from the calibrated 12-month change test (analysis.change), so
  a quarter above its expectation without a significant change reads "no clear change".
- The top places: significant hotspots, persistent and emerging alike, ranked by harm and then
  volume, at most TOP_PLACES.
- The tasking log: open items flagged stale (open more than STALE_MONTHS months, or closed with
  no outcome recorded) and linked to the findings on their theme.
- Recommended tasking requests (a top place or a significant rise with no open item on its
  theme) and intelligence gaps (a dataset not held or not in for the quarter).
- The financial year to date against the plan's targets, on the plan's own measures
  (csp.analysis.plan_progress), against the same months of the baseline year.
- Control-chart exceedances of the quarter, with their direction.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.legislation import PRESCRIBED_INFORMATION
from csp.quarters import Quarter
from csp.reports import charts, counting, queries
from csp.reports.readiness import Period
from csp.templating import q_statement

TASKING_FILE = "tasking_log.csv"
PLAN_FILE = "plan.csv"
OPEN_STATES = ("open", "monitoring")
TOP_PLACES = 8
STALE_MONTHS = 6
CATEGORY_ROWS = 10  # categories shown: the significant changes first, then the largest departures
MIN_CATEGORY_EVENTS = 10  # a category with fewer events in the quarter and its expectation is not listed
CHART_QUARTERS = 8
SOURCE = f"Partner returns to the CSP ({PRESCRIBED_INFORMATION.short})"
# Who would own a tasking request on each theme (a suggestion for the group, which decides).
OWNER_OF_THEME = {
    "acquisitive": "police neighbourhood team", "violence": "police neighbourhood team and licensing",
    "asb": "council ASB team with the police", "criminal_damage_arson": "fire and rescue arson reduction team",
    "drugs_alcohol": "community safety team with treatment services", "domestic_abuse": "domestic abuse coordinator",
    "hate": "police hate crime officer", "road_danger": "road safety partnership",
    "young_people": "council early help and schools", "public_safety": "police and council",
}


def direction_words(significant, direction, q_value) -> str:
    """The calibrated test's verdict in the words a tasking meeting reads."""
    if significant is True or significant == 1:
        return f"{'rising' if direction == 'increase' else 'falling'} ({q_statement(q_value)})"
    if pd.isna(significant):
        return "too few to test"
    return "no clear change"


def seasonal_comparison(monthly: pd.DataFrame, quarter: Quarter, keys: list[str]) -> pd.DataFrame:
    """Per ``keys`` group: the quarter's events and the mean of the same quarter in each
    earlier year held (``expected``), with the years used and the difference in percent."""
    frame = monthly.assign(quarter=monthly["month"].map(lambda m: Quarter.of(m).label))
    same = [quarter.shift(-4 * k).label for k in range(1, 4)]
    held = [q for q in same if q in set(frame["quarter"])]
    now = frame[frame["quarter"] == quarter.label].groupby(keys)["events"].sum()
    before = frame[frame["quarter"].isin(held)].groupby(keys)["events"].sum() / max(len(held), 1)
    out = pd.concat([now.rename("this_quarter"), before.rename("expected")], axis=1).fillna(0).reset_index()
    out["years"] = len(held)
    out["difference_pct"] = [None if exp < queries.MIN_BASE_FOR_PERCENT / 4 or not held else 100.0 * (cur - exp) / exp
                             for cur, exp in zip(out["this_quarter"], out["expected"], strict=True)]
    return out


def tasking_entries(partnership_dir: Path, csp: str, start: date, end: date, theme: str | None = None) -> list[dict]:
    """Tasking-log entries still open or monitored, or raised within the window, each with its
    age in months and whether it is stale."""
    log = queries.partnership_file(partnership_dir, TASKING_FILE)
    if log.empty:
        return []
    log = log[log["csp_code"] == csp]
    if theme is not None:
        log = log[log["theme"] == theme]
    raised = pd.to_datetime(log["raised_date"]).dt.date
    keep = log["status"].isin(OPEN_STATES) | ((raised >= start) & (raised <= end))
    shown = log[keep].assign(theme_name=lambda f: f["theme"].map(queries.theme_name))
    rows = shown.sort_values(["raised_date", "theme"], ascending=[False, True]).to_dict("records")
    for row in rows:
        day = date.fromisoformat(row["raised_date"])
        row["age_months"] = (end.year - day.year) * 12 + end.month - day.month
        is_open = row["status"] in OPEN_STATES
        reasons = []
        if is_open and row["age_months"] > STALE_MONTHS:
            reasons.append(f"open {row['age_months']} months")
        if not str(row.get("outcome") or "").strip():
            reasons.append("no outcome recorded")
        row["stale"] = "; ".join(reasons) if (is_open and row["age_months"] > STALE_MONTHS) or (
            not is_open and reasons) else ""
        row["status_name"] = str(row["status"]).replace("_", " ")
    return rows


def agreed_priorities(partnership_dir: Path, csp: str) -> list[str]:
    plan = queries.partnership_file(partnership_dir, PLAN_FILE)
    if plan.empty:
        return []
    return sorted(plan.loc[plan["csp_code"] == csp, "priority_theme"].unique())


def top_places(hot: pd.DataFrame, harm: pd.DataFrame) -> list[dict]:
    """Significant hotspots of any class (persistent, emerging, ...), ranked by their 12-month
    harm (Crime Severity Score weighted) and then by events, at most TOP_PLACES."""
    places = hot[hot["hot"].fillna(False).astype(bool)].merge(harm, on=["theme", "lsoa11_code"], how="left")
    if places.empty:
        return []
    # no weight is not zero harm: such a place ranks after the weighted ones and is shown as not scored
    places["harm_scored"] = places["harm"].notna()
    places["theme_name"] = places["theme"].map(queries.theme_name)
    places["class_name"] = places["hotspot_class"].fillna("hot this year").str.replace("_", " ")
    ranked = places.sort_values(["harm", "events", "lsoa11_code"], ascending=[False, False, True], na_position="last")
    return ranked.head(TOP_PLACES).to_dict("records")


def financial_year_to_date(conn: Connection, csp: str, partnership_dir: Path, quarter: Quarter) -> list[dict]:
    """Per plan target: the events of the financial year to the quarter (April on) on the
    plan's measure, the same quarters of the baseline year, and the figure the target allows
    for them (baseline x (1 + target))."""
    from csp.analysis.plan_progress import events_for, parse_period, quarterly_events

    plan = queries.partnership_file(partnership_dir, PLAN_FILE)
    plan = plan[plan["csp_code"] == csp] if not plan.empty else plan
    if plan.empty:
        return []
    first_fy = Quarter(quarter.year if quarter.q >= 2 else quarter.year - 1, 2)
    fy = [first_fy.shift(i) for i in range((quarter.year - first_fy.year) * 4 + quarter.q - first_fy.q + 1)]
    counts = quarterly_events(conn, queries.measure_months(conn, [csp]), plan["priority_theme"])
    counts = counts.groupby(["theme", "quarter"])["events"].sum()
    rows = []
    for target in plan.itertuples(index=False):
        baseline = parse_period(target.baseline_period)
        same = [q for q in baseline if q.q in {f.q for f in fy}]
        now = sum(float(counts.get((target.priority_theme, q.label), 0)) for q in fy)
        base = sum(float(counts.get((target.priority_theme, q.label), 0)) for q in same)
        pct = float(target.target_change_pct)
        allowed = base * (1 + pct / 100.0)
        better = (now <= allowed) if pct <= 0 else (now >= allowed)
        rows.append({"theme_name": queries.theme_name(target.priority_theme), "measure": target.measure,
                     "counted": events_for(target.priority_theme).description,
                     "months": f"{fy[0].start:%b %Y} to {quarter.months[-1]:%b %Y}", "events": now,
                     "baseline": base,
                     "baseline_months": f"{same[0].start:%b %Y} to {same[-1].months[-1]:%b %Y}" if same else "",
                     "target_pct": pct, "target_events": allowed,
                     "status": "on_track" if better else "off_track" if base else None})
    return rows


def tasking_requests(places: list[dict], categories: pd.DataFrame, tasking: list[dict]) -> list[dict]:
    """A request for each top place and each significantly rising category whose theme has no
    open tasking item; an open item on the theme is named instead."""
    open_by_theme: dict[str, list[dict]] = {}
    for item in tasking:
        if item["status"] in OPEN_STATES:
            open_by_theme.setdefault(item["theme"], []).append(item)
    requests, seen = [], set()
    for row in categories[categories["significant"].fillna(False).astype(bool)
                          & (categories["direction"] == "increase")].itertuples():
        key = (row.theme, row.category)
        if key in seen:
            continue
        seen.add(key)
        requests.append({"theme": row.theme, "theme_name": queries.theme_name(row.theme),
                         "what": f"{row.category}: {int(row.this_quarter):,} this quarter against "
                                 f"{row.expected:,.0f} expected; "
                                 f"{row.verdict} over 12 months",
                         "owner": OWNER_OF_THEME.get(row.theme, "the partner leading on the theme"),
                         "open_items": open_by_theme.get(row.theme, [])})
    for place in places:
        requests.append({"theme": place["theme"], "theme_name": place["theme_name"],
                         "what": f"{place['lsoa11_name']} ({place['ward_name']}): {int(place['events']):,} events "
                                 f"in 12 months, {place['per_1000_residents']:,.1f} per 1,000 residents, "
                                 f"{place['class_name']} hotspot",
                         "owner": OWNER_OF_THEME.get(place["theme"], "the partner leading on the theme"),
                         "open_items": open_by_theme.get(place["theme"], [])})
    return requests


def intelligence_gaps(period: Period, quarter: Quarter, not_held: dict[str, str]) -> list[str]:
    gaps = [f"{queries.dataset_title(m['dataset'])} from {m['authority'].replace('_', ' ')}: "
            f"{m['state'].replace('_', ' ')} "
            f"for {m['quarter']}" for m in period.missing if m["quarter"] == quarter.label]
    gaps += [f"{queries.dataset_title(dataset)}: not held ({reason})" for dataset, reason in sorted(not_held.items())]
    return gaps


def tactical_assessment(conn: Connection, partnership: Partnership, period: Period, partnership_dir: Path,
                        not_held: dict[str, str] | None = None) -> dict:
    codes, quarter = [partnership.code], period.last
    agreed = agreed_priorities(partnership_dir, partnership.code)
    monthly = queries.category_months(conn, partnership.code, quarter.shift(-12).start, quarter.months[-1])
    tests = queries.change_tests(conn, codes)
    themes = seasonal_comparison(monthly, quarter, ["theme"])
    themes = themes.merge(tests[tests["level"] == "theme"][["theme", "significant", "direction", "q_value"]],
                          on="theme", how="left")
    themes["verdict"] = [direction_words(s, d, q) for s, d, q in zip(themes["significant"], themes["direction"],
                                                                       themes["q_value"], strict=True)]
    themes["theme_name"] = themes["theme"].map(queries.theme_name)
    themes["agreed"] = themes["theme"].isin(agreed)
    themes = themes.sort_values(["agreed", "this_quarter"], ascending=[False, False])

    categories = seasonal_comparison(monthly, quarter, ["theme", "category"])
    categories = categories.merge(tests[tests["level"] == "category"][["theme", "category", "significant",
                                                                        "direction", "q_value"]],
                                  on=["theme", "category"], how="left")
    categories = categories[(categories["this_quarter"] + categories["expected"]) >= MIN_CATEGORY_EVENTS]
    categories["verdict"] = [direction_words(s, d, q) for s, d, q in
                             zip(categories["significant"], categories["direction"], categories["q_value"],
                                 strict=True)]
    categories["theme_name"] = categories["theme"].map(queries.theme_name)
    categories["rank_key"] = pd.to_numeric(categories["difference_pct"]).abs().fillna(0)
    shown = categories.assign(sig=categories["significant"].fillna(False).astype(bool)).sort_values(
        ["sig", "rank_key", "this_quarter"], ascending=[False, False, False]).head(CATEGORY_ROWS)

    months = {pd.Timestamp(m) for m in quarter.months}
    exceed = queries.exceedances(conn, codes)
    signals = exceed[exceed["month"].isin(months) & exceed["signal"].fillna(False).astype(bool)].copy()
    signals["theme_name"] = signals["theme"].map(queries.theme_name)
    signals["direction"] = ["above" if e > x else "below"
                            for e, x in zip(signals["events"], signals["expected"], strict=True)] \
        if not signals.empty else []
    signals["rules"] = signals.apply(lambda r: ", ".join(
        label for column, label in (("beyond_3sigma", "beyond 3 sigma"),
                                    ("two_of_three_2sigma", "2 of 3 beyond 2 sigma"),
                                    ("run_9", "9 on one side"), ("trend_6", "6 rising or falling"))
        if bool(r.get(column))), axis=1) if not signals.empty else []

    hot = queries.hotspots(conn, codes)
    places = top_places(hot, queries.lsoa_theme_harm(conn, partnership.code, period))
    tasking = tasking_entries(partnership_dir, partnership.code, quarter.start, quarter.months[-1])
    significant = shown["significant"].fillna(False).astype(bool)
    finding_themes = {p["theme"] for p in places} | set(shown.loc[significant, "theme"])
    for item in tasking:
        linked = [p for p in places if p["theme"] == item["theme"]]
        rising = shown[(shown["theme"] == item["theme"]) & shown["significant"].fillna(False).astype(bool)]
        item["linked"] = [f"{p['lsoa11_name']} ({p['ward_name']}) hotspot" for p in linked[:2]] + \
                         [f"{r.category} {r.verdict}" for r in rising.itertuples()]
        item["on_finding"] = item["theme"] in finding_themes

    series = queries.monthly_theme_series(conn, codes)
    first = pd.Timestamp(quarter.shift(-CHART_QUARTERS + 1).start)
    series = series[series["theme"].isin(agreed) & (series["month"] >= first)
                    & (series["month"] <= pd.Timestamp(quarter.months[-1]))]
    series = series.assign(theme=series["theme"].map(queries.theme_name))
    return {
        "partnership": partnership,
        "quarter": quarter.label,
        "quarter_start": quarter.start,
        "quarter_end": quarter.months[-1],
        "provisional": quarter.label in {m["quarter"] for m in period.missing},
        "missing": [m for m in period.missing if m["quarter"] == quarter.label],
        "agreed": [queries.theme_name(t) for t in agreed],
        "themes": themes.to_dict("records"),
        "categories": shown.to_dict("records"),
        "years_compared": int(themes["years"].max()) if not themes.empty else 0,
        "places": places,
        "harm_unit": queries.HARM_UNIT,
        "counted": counting.headline(conn, codes, period),
        "exceedances": signals.sort_values(["theme", "month"]).to_dict("records"),
        "fytd": financial_year_to_date(conn, partnership.code, partnership_dir, quarter),
        "tasking": tasking,
        "stale": [t for t in tasking if t["stale"]],
        "requests": tasking_requests(places, shown, tasking),
        "gaps": intelligence_gaps(period, quarter, not_held or {}),
        "chart": charts.monthly_series(
            series, title=f"Agreed priorities: events per month, {partnership.name}", y_label="Events per month",
            source=SOURCE, group="theme", assessed_from=quarter.start) if not series.empty else None,
    }
