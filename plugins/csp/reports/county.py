"""The county roll-up for a two-tier area: the county strategy group's view across its district
CSPs, with each district's recommended priorities escalated and the themes several districts
share drawn out (those are where a county-wide response pays)."""
from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.reports import charts, queries
from csp.reports.readiness import Period

SHARED_BY = 2  # a theme is shared when at least this many districts make it a priority


def district_rates(conn: Connection, county_code: str, codes: list[str], period: Period) -> pd.DataFrame:
    """Rates per 1,000 residents by theme for each district CSP and the county, 12 months."""
    frame = queries.read(conn, """
        SELECT area_type, area_code, area_name, theme, events, per_1000_residents FROM marts.area_rates
        WHERE period_end = :end AND ((area_type = 'csp' AND area_code IN :codes)
                                     OR (area_type = 'county' AND area_code = :county))
    """, end=period.last.months[-1], codes=codes, county=county_code)
    frame["theme_name"] = frame["theme"].map(queries.theme_name)
    return frame


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
    rates = district_rates(conn, county_code, codes, period)
    grid = rates.pivot_table(index="theme_name", columns="area_name", values="per_1000_residents", aggfunc="first")
    county_col = rates.loc[rates["area_type"] == "county", "area_name"].drop_duplicates().tolist()
    grid = grid.reindex(columns=[*sorted(names.values()), *county_col])
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
        "rate_columns": list(grid.columns),
        "rates": [{"theme_name": theme, "values": row.tolist()} for theme, row in grid.iterrows()],
        "quarters": quarters,
        "compliance": matrix.to_dict("records"),
        "chart": charts.bar_chart(
            shared["theme_name"].tolist(), shared["districts"].tolist(),
            title=f"Priorities shared by district partnerships, {county_name}",
            x_label="District CSPs recommending the theme as a priority", source="CSP strategic assessments")
        if not shared.empty else None,
    }
