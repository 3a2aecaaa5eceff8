"""The strategic assessment of one CSP for a reportable year (csp.reports.readiness): the
figures, read from the marts: counts, change, rates and data coverage."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.reports.readiness import Period
from csp.registry import DATASETS, THEMES

MIN_BASE_FOR_PERCENT = 20  # below this, a percent change misleads more than it informs


def strategic_assessment(conn: Connection, partnership: Partnership, period: Period) -> dict:
    start, end = period.quarters[0].start, period.last.months[-1]
    previous_start = period.quarters[0].shift(-4).start
    params = {"csp": partnership.code, "start": start, "end": end, "prev": previous_start}

    by_theme = pd.read_sql(sa.text("""
        SELECT theme,
               SUM(CASE WHEN month >= :start THEN events ELSE 0 END) AS current_year,
               SUM(CASE WHEN month < :start THEN events ELSE 0 END) AS previous_year
        FROM marts.monthly_counts
        WHERE csp_code = :csp AND month BETWEEN :prev AND :end
        GROUP BY theme
    """), conn, params=params)
    by_theme["change_pct"] = [
        None if prev < MIN_BASE_FOR_PERCENT else 100.0 * (cur - prev) / prev
        for cur, prev in zip(by_theme["current_year"], by_theme["previous_year"])
    ]
    by_theme["theme_name"] = by_theme["theme"].map(THEMES).fillna(by_theme["theme"])
    by_theme = by_theme.sort_values("current_year", ascending=False)

    by_dataset = pd.read_sql(sa.text("""
        SELECT dataset, SUM(events) AS events
        FROM marts.monthly_counts
        WHERE csp_code = :csp AND month BETWEEN :start AND :end
        GROUP BY dataset
    """), conn, params=params)
    by_dataset["title"] = by_dataset["dataset"].map(lambda d: DATASETS[d].title)
    # Mandated datasets by their number in the regulations, extra sources after them.
    by_dataset["order"] = by_dataset["dataset"].map(lambda d: DATASETS[d].number or 99)
    by_dataset["number"] = by_dataset["dataset"].map(lambda d: DATASETS[d].number or "extra")

    top_lsoas = pd.read_sql(sa.text("""
        SELECT m.lsoa11_code, g.lsoa11_name, g.ward_name, g.population,
               SUM(m.events) AS events,
               1000.0 * SUM(m.events) / g.population AS rate_per_1000
        FROM marts.monthly_counts m
        JOIN core.dim_geography g ON g.lsoa11_code = m.lsoa11_code
        WHERE m.csp_code = :csp AND m.month BETWEEN :start AND :end
          AND m.dataset IN ('police_crimes', 'police_incidents') AND g.population > 0
        GROUP BY m.lsoa11_code, g.lsoa11_name, g.ward_name, g.population
        ORDER BY rate_per_1000 DESC, m.lsoa11_code
        LIMIT 10
    """), conn, params=params)

    counts = pd.read_sql(sa.text("""
        SELECT measure, SUM(value) AS value
        FROM core.fact_count
        WHERE csp_code = :csp AND period_start BETWEEN :start AND :end
        GROUP BY measure
    """), conn, params=params)

    quarters = [q.label for q in period.quarters]
    compliance = pd.read_sql(sa.text("SELECT * FROM marts.compliance_matrix"), conn)
    compliance = compliance[compliance["quarter"].isin(quarters)]
    matrix = (
        compliance.pivot_table(index=["authority", "dataset"], columns="quarter",
                               values="state", aggfunc="first")
        .reindex(columns=quarters)
        .reset_index()
    )
    returns_used = compliance[compliance["state"].isin(["on_time", "late"])][
        ["dataset", "quarter", "version", "rows_loaded", "rows_quarantined"]
    ].sort_values(["dataset", "quarter"])

    return {
        "partnership": partnership,
        "period_label": f"{start:%Y-%m}_to_{end:%Y-%m}",
        "period_start": start,
        "period_end": end,
        "quarters": quarters,
        "provisional": period.provisional,
        "missing": list(period.missing),
        "total_current": int(by_theme["current_year"].sum()),
        "total_previous": int(by_theme["previous_year"].sum()),
        "themes": by_theme.to_dict("records"),
        "datasets": by_dataset.sort_values("order").to_dict("records"),
        "top_lsoas": top_lsoas.to_dict("records"),
        "counts": counts.to_dict("records"),
        "compliance": matrix.to_dict("records"),
        "returns_used": returns_used.to_dict("records"),
        "min_base": MIN_BASE_FOR_PERCENT,
    }
