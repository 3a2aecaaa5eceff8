"""The county roll-up for a two-tier area: the county strategy group's view across its district
CSPs, with each district's recommended priorities escalated and the themes several districts
share drawn out (those are where a county-wide response pays)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.reports import charts, queries
from csp.reports.chapters import PRECISION_WORDS
from csp.reports.readiness import Period
from csp.themes import LOCATED_AT_INSTITUTION

SHARED_BY = 2  # a theme is shared when at least this many districts make it a priority


def located_words(dataset: str, located: str) -> str:
    if located == "institution":
        return f"at {LOCATED_AT_INSTITUTION[dataset]}, not where the people live"
    return PRECISION_WORDS.get(located, located)


def left_out_note(rows: pd.DataFrame) -> str:
    """'hospital admissions: 7 located to an outward postcode; persons in drug treatment: 3 area
    counts by district (counts, not events)': what one theme's LSOA rates cannot count."""
    parts = [f"{r.source.replace('_', ' ')}: {int(r.n):,} located {located_words(r.source, r.located)}"
             if r.kind == "events" else
             f"{r.source.replace('_', ' ')}: {int(r.n):,} area {'count' if r.n == 1 else 'counts'} by "
             f"{r.located.replace('_', ' ')} (counts, not events)" for r in rows.itertuples()]
    return "; ".join(parts)


def districts_compared(conn: Connection, county_code: str, names: dict[str, str], period: Period) -> dict:
    """The rates table: per theme, each district's and the county's LSOA-located rate, and a
    note of what the rates leave out (the districts together)."""
    rates = queries.district_rates(conn, county_code, list(names), period)
    left_out = queries.rates_left_out(conn, list(names), period)
    grid = rates.pivot_table(index="theme_name", columns="area_name", values="per_1000_residents", aggfunc="first")
    county_col = rates.loc[rates["area_type"] == "county", "area_name"].drop_duplicates().tolist()
    # A theme held only as outward-code events or counts gets a row too, unrated, with its note.
    grid = grid.reindex(index=sorted({*grid.index, *left_out["theme_name"]}),
                        columns=[*sorted(names.values()), *county_col])
    notes = {theme: left_out_note(rows) for theme, rows in left_out.groupby("theme_name")}
    return {"rate_columns": list(grid.columns),
            "rates": [{"theme_name": theme, "values": row.tolist(), "left_out": notes.get(theme, "")}
                      for theme, row in grid.iterrows()]}


def county_rollup(conn: Connection, county: tuple[str, str], districts: list[Partnership], period: Period) -> dict:
    county_code, county_name = county
    codes = [p.code for p in districts]
    names = {p.code: p.name for p in districts}
    themes = queries.theme_year_counts(conn, codes, period)
    totals = themes.groupby(["theme", "theme_name"], as_index=False)[["current_year", "previous_year", "harm"]].sum()
    totals["change_pct"] = queries.percent_change(totals["current_year"], totals["previous_year"])
    priorities = queries.priorities(conn, codes)
    recommended = priorities[priorities["is_priority"].astype(bool)].assign(district=lambda f: f["csp_code"].map(names))
    shared = (recommended.groupby(["theme", "theme_name"])["district"].agg(list).reset_index()
              .assign(districts=lambda f: f["district"].str.len()))
    shared = shared[shared["districts"] >= SHARED_BY].sort_values(["districts", "theme"], ascending=[False, True])
    quarters, matrix, _ = queries.compliance(conn, period)
    bounds = queries.period_bounds(period)
    return {
        "county_code": county_code, "county_name": county_name,
        "districts": sorted(names.values()),
        "period_start": bounds["start"], "period_end": bounds["end"],
        "provisional": period.provisional, "missing": list(period.missing),
        "totals": totals.sort_values("current_year", ascending=False).to_dict("records"),
        "escalated": recommended.sort_values(["district", "rank"]).to_dict("records"),
        "shared": shared.to_dict("records"),
        "shared_by": SHARED_BY,
        **districts_compared(conn, county_code, names, period),
        "quarters": quarters,
        "compliance": matrix.to_dict("records"),
        "chart": charts.bar_chart(
            shared["theme_name"].tolist(), shared["districts"].tolist(),
            title=f"Priorities shared by district partnerships, {county_name}",
            x_label="District CSPs recommending the theme as a priority", source="CSP strategic assessments")
        if not shared.empty else None,
    }
