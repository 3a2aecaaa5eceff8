"""What the figures count, said once for every product (strategic and tactical assessments,
public summary, county roll-up).

A headline is one figure per source, each in its own unit: a crime, an incident, a fire and a
hospital admission are different things, and one assault can be all four, so no headline adds
one source to another. How a record counts under the themes is ``THEME_MEMBERSHIP``: each
record has exactly one theme (core.dim_category, from the first matching rule of
csp.themes.THEME_RULES; the secondary rules feed core.category_themes, which no report counts),
while the same incident can reach two returns (a domestic-abuse admission is, by its ICD-10
code, also an assault admission).
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Connection

from csp.registry import DATASETS
from csp.reports import queries
from csp.reports.readiness import Period

THEME_MEMBERSHIP = (
    "Each record counts under one theme only, so a source's figures by theme add up to its total. The same "
    "incident can still reach more than one return: a hospital admission for domestic abuse is also returned as "
    "an assault admission (under violence), and an assault can be a crime recorded by the police, an ambulance "
    "call-out and a hospital admission. So a theme's figure counts records, not separate incidents, and no "
    "headline adds one source to another.")


def counted(dataset: str) -> str:
    """What one record of the source is, in the plural (the registry's words)."""
    return (DATASETS[dataset].counted if dataset in DATASETS else "") or queries.dataset_title(dataset)


def headline(conn: Connection, csp_codes: list[str], period: Period) -> dict:
    """Per source, largest first: what it counts, its in-area events in the 12 months and the 12
    before and the percent change where the base allows; with the theme-membership sentence."""
    return headline_of(queries.source_theme_counts(conn, csp_codes, period), period)


def headline_of(counts: pd.DataFrame, period: Period) -> dict:
    totals = counts.groupby("dataset", as_index=False)[["current_year", "previous_year"]].sum()
    totals = totals.sort_values(["current_year", "dataset"], ascending=[False, True])
    totals["change_pct"] = queries.percent_change(totals["current_year"], totals["previous_year"])
    sources = [{"dataset": r.dataset, "counted": counted(r.dataset), "current": int(r.current_year),
                "previous": int(r.previous_year), "change_pct": r.change_pct} for r in totals.itertuples()]
    return {"sources": sources, "membership": THEME_MEMBERSHIP, "period_end": queries.period_bounds(period)["end"]}

