"""The sentences a report leads with: key findings and recommendations, each stated from a
tested figure (a change is called a rise or fall only when its test is significant after FDR
control), so the prose never claims more than the analysis shows."""
from __future__ import annotations

import pandas as pd

from csp.reports import queries
from csp.reports.readiness import Period
from csp.templating import q_statement

MAX_FINDINGS = 8
MAX_PLACES = 3  # hotspot LSOAs named in a recommendation


def _change_words(current: int, previous: int, pct) -> str:
    shown = f"{int(previous):,} to {int(current):,}"
    if pct is None or pd.isna(pct):
        return shown
    return f"{abs(pct):.0f}% ({shown})"


q_is = q_statement  # 'q = 0.002', 'q < 0.001'


def category_words(row, theme: bool = False) -> str:
    """A category's tests in one sentence, the same on page 1 (``theme``: the theme named after
    the category) and in its theme's chapter: the 12-month change, a rise or fall only where
    significant ("no clear change" otherwise), and the multi-year trend where it is significant."""
    name = f"{row.category} ({queries.theme_name(row.theme)})" if theme else row.category
    change = f"{int(row.previous):,} to {int(row.current):,}"
    if queries.is_true(row.significant):
        pct = "" if pd.isna(row.pct_change) else f"{row.pct_change:+.0f}%, "
        said = (f"{name} {'rose' if row.direction == 'increase' else 'fell'} from {change} in the last 12 months "
                f"({pct}{q_is(row.q_value)}), a statistically significant change")
    else:
        said = f"{name}: no clear change in the last 12 months ({change}, {q_is(row.q_value)})"
    if queries.is_true(row.trend_significant):
        totals = str(row.year_totals).replace(" / ", ", ")
        moved = "risen" if row.trend_direction == "rising" else "fallen"
        said += (f"; over {int(row.trend_years)} years ({totals}) it has {moved} by about "
                 f"{abs(row.annual_change_pct):.0f}% a year ({q_is(row.trend_q)})")
    return said + "."


def key_findings(themes: pd.DataFrame, tests: pd.DataFrame, categories: pd.DataFrame,
                 hotspots: pd.DataFrame, exceedances: pd.DataFrame, period: Period) -> list[str]:
    out: list[str] = []
    merged = themes.merge(tests, on=["csp_code", "theme"], how="left")
    significant = merged[merged["change_significant"].fillna(False).astype(bool)]
    for row in significant.sort_values("change_q").itertuples():
        verb = "rose" if row.change_direction == "increase" else "fell"
        out.append(f"{row.theme_name} {verb} by {_change_words(row.current_year, row.previous_year, row.change_pct)} "
                   f"in the last 12 months, a statistically significant change ({q_is(row.change_q)}).")
    for row in queries.category_findings(categories).itertuples():
        out.append(category_words(row, theme=True))
    rising = merged[merged["trend_significant"].fillna(False).astype(bool) & (merged["trend_direction"] == "rising")]
    for row in rising.itertuples():
        out.append(f"{row.theme_name} has risen year on year over {int(row.trend_years)} years "
                   f"(about {row.annual_change_pct:+.0f}% a year).")
    hot = hotspots[hotspots["hot"].fillna(False).astype(bool)]
    for theme, group in hot.groupby("theme", sort=False):
        top = queries.highest_rates(group).iloc[0]
        out.append(f"{len(group)} neighbourhoods are significant {queries.theme_name(theme).lower()} hotspots; "
                   f"the highest rate is {top.lsoa11_name} ({top.ward_name}) at {top.per_1000_residents:.1f} "
                   f"per 1,000 residents.")
    last_quarter = {pd.Timestamp(m) for m in period.last.months}
    recent = exceedances[exceedances["month"].isin(last_quarter)
                         & exceedances["beyond_3sigma"].fillna(False).astype(bool)]
    for row in recent.itertuples():
        out.append(f"{queries.theme_name(row.theme)} exceeded its control limit in {row.month:%B %Y} "
                   f"({int(row.events):,} events against {row.expected:.0f} expected).")
    return out[:MAX_FINDINGS] or ["No theme changed significantly in the last 12 months."]


def recommendations(priorities: pd.DataFrame, hotspots: pd.DataFrame, plan: pd.DataFrame) -> list[dict]:
    """One recommendation per recommended priority (where to focus, what to measure) and one
    per last year's priority that drops out (and why)."""
    out = []
    hot = hotspots[hotspots["hot"].fillna(False).astype(bool)]
    for row in priorities[priorities["is_priority"].astype(bool)].itertuples():
        places = hot[hot["theme"] == row.theme].nsmallest(MAX_PLACES, "rank_in_csp")
        where = ", ".join(f"{p.lsoa11_name} ({p.ward_name})" for p in places.itertuples())
        targets = plan[plan["theme"] == row.theme]["measure"].drop_duplicates().tolist() if not plan.empty else []
        out.append({
            "theme": row.theme, "theme_name": row.theme_name, "rank": int(row.rank), "status": row.status,
            "reason": row.reason,
            "focus": f"Focus on {where}." if where else "No significant hotspot: a partnership-wide response.",
            "measure": f"Continue to track: {'; '.join(targets)}." if targets else
                       "Set a target in the partnership plan.",
        })
    for row in priorities[priorities["status"] == "drop_out"].itertuples():
        out.append({"theme": row.theme, "theme_name": row.theme_name, "rank": None, "status": row.status,
                    "reason": row.reason, "focus": "Move to business-as-usual monitoring.", "measure": ""})
    return out
