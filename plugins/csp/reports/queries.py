"""Reads the reports share: the marts and analysis tables for one or more partnerships and a
reportable period. Every figure a report prints comes from here, so the report and the
warehouse cannot disagree."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp.quarters import Quarter
from csp.registry import DATASETS, THEMES
from csp.reports.readiness import Period
from csp.templating import dataset_title as templating_dataset_title
from csp.templating import q_value
from csp.themes import LOCATED_AT_INSTITUTION

MIN_BASE_FOR_PERCENT = 20  # below this, a percent change misleads more than it informs
# Harm is the sum of ONS Crime Severity Score weights (docs/analysis.md, "Harm"): each weight is
# the days of custody an offence's sentences equate to, and only police-recorded crimes have one.
HARM_UNIT = "Crime Severity Score days"
HARM_NOT_SCORED = "not scored (no Crime Severity Score weight)"
POLICE_DATASETS = ("police_crimes", "police_incidents")


def theme_name(theme: str) -> str:
    return THEMES.get(theme, theme.replace("_", " ").capitalize())


dataset_title = templating_dataset_title  # the registry's display name, declared in csp.templating


# An FDR-adjusted p-value as analysts read it ('< 0.001' rather than 3.2e-07): one declaration.
q_words = q_value


def table_exists(conn: Connection, schema: str, table: str) -> bool:
    return bool(conn.execute(sa.text(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = :s AND table_name = :t"),
        {"s": schema, "t": table}).scalar())


def read(conn: Connection, sql: str, **params) -> pd.DataFrame:
    """A SELECT with list parameters expanded (``IN :codes``)."""
    statement = sa.text(sql)
    for name, value in params.items():
        if isinstance(value, (list, tuple)):
            statement = statement.bindparams(sa.bindparam(name, expanding=True))
    return pd.read_sql(statement, conn, params=params)


def percent_change(current, previous) -> list[float | None]:
    """Percent change of each pair, None where the earlier count is below MIN_BASE_FOR_PERCENT."""
    return [None if prev < MIN_BASE_FOR_PERCENT else 100.0 * (cur - prev) / prev
            for cur, prev in zip(current, previous, strict=True)]


def period_bounds(period: Period) -> dict:
    return {"start": period.quarters[0].start, "end": period.last.months[-1],
            "prev": period.quarters[0].shift(-4).start}


def theme_year_counts(conn: Connection, csp_codes: list[str], period: Period) -> pd.DataFrame:
    """Per CSP and theme: events in the period's 12 months and the 12 before, harm (null where
    no event of the 12 months has a Crime Severity Score weight, never a silent zero) with the
    events it weighs, and the percent change where the base allows."""
    frame = read(conn, """
        SELECT csp_code, theme,
               CAST(SUM(CASE WHEN month >= :start THEN events ELSE 0 END) AS BIGINT) AS current_year,
               CAST(SUM(CASE WHEN month < :start THEN events ELSE 0 END) AS BIGINT) AS previous_year,
               SUM(CASE WHEN month >= :start THEN harm END) AS harm,
               CAST(SUM(CASE WHEN month >= :start AND harm IS NOT NULL THEN events ELSE 0 END) AS BIGINT)
                   AS harm_events
        FROM marts.monthly_counts
        WHERE csp_code IN :codes AND month BETWEEN :prev AND :end AND area_status = 'in_area'
        GROUP BY csp_code, theme
    """, codes=list(csp_codes), **period_bounds(period))
    frame["change_pct"] = percent_change(frame["current_year"], frame["previous_year"])
    frame["theme_name"] = frame["theme"].map(theme_name)
    return frame.sort_values(["csp_code", "current_year"], ascending=[True, False]).reset_index(drop=True)


def source_theme_counts(conn: Connection, csp_codes: list[str], period: Period) -> pd.DataFrame:
    """In-area events per source (dataset), theme and category over the partnerships, in the
    period's 12 months and the 12 before: the figures theme_year_counts adds up by theme, here
    kept apart by source (csp.reports.counting)."""
    return read(conn, """
        SELECT dataset, theme, category,
               CAST(SUM(CASE WHEN month >= :start THEN events ELSE 0 END) AS BIGINT) AS current_year,
               CAST(SUM(CASE WHEN month < :start THEN events ELSE 0 END) AS BIGINT) AS previous_year
        FROM marts.monthly_counts
        WHERE csp_code IN :codes AND month BETWEEN :prev AND :end AND area_status = 'in_area'
        GROUP BY dataset, theme, category
    """, codes=list(csp_codes), **period_bounds(period))


def theme_tests(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    """The rolling-12-month change test and the multi-year trend test of each theme."""
    change = read(conn, """
        SELECT csp_code, theme, current, previous, p_value AS change_p, q_value AS change_q,
               significant AS change_significant, direction AS change_direction
        FROM analysis.change
        WHERE level = 'theme' AND comparison = 'rolling_12m' AND csp_code IN :codes
    """, codes=list(csp_codes))
    trend = read(conn, """
        SELECT csp_code, theme, years AS trend_years, annual_change_pct, q_value AS trend_q,
               significant AS trend_significant, direction AS trend_direction
        FROM analysis.trend WHERE level = 'theme' AND csp_code IN :codes
    """, codes=list(csp_codes))
    return change.merge(trend, on=["csp_code", "theme"], how="outer")


def category_tests(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    """Per crime or incident category: the rolling-12-month change test and the multi-year trend
    test (``year_totals`` oldest first), what page 1 and the theme's chapter both state."""
    change = read(conn, """
        SELECT csp_code, theme, category, current, previous, pct_change, q_value, significant, direction
        FROM analysis.change
        WHERE level = 'category' AND comparison = 'rolling_12m' AND csp_code IN :codes
    """, codes=list(csp_codes))
    trend = read(conn, """
        SELECT csp_code, theme, category, years AS trend_years, year_totals, annual_change_pct,
               q_value AS trend_q, significant AS trend_significant, direction AS trend_direction
        FROM analysis.trend WHERE level = 'category' AND csp_code IN :codes
    """, codes=list(csp_codes))
    return change.merge(trend, on=["csp_code", "theme", "category"], how="outer")


def category_findings(tests: pd.DataFrame) -> pd.DataFrame:
    """The categories whose rolling-12-month change is significant after FDR control."""
    significant = tests["significant"].map(is_true).astype(bool)
    return tests[significant].sort_values(["q_value", "category"]).reset_index(drop=True)


def is_true(value) -> bool:
    """A test's ``significant`` flag: True only where it was tested and is significant (null
    from an outer merge or an untested row is not)."""
    return bool(value) if isinstance(value, (bool, np.bool_)) else value == 1


def monthly_theme_series(conn: Connection, csp_codes: list[str], theme: str | None = None) -> pd.DataFrame:
    frame = read(conn, """
        SELECT month, csp_code, theme, CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE csp_code IN :codes AND area_status = 'in_area'
        GROUP BY month, csp_code, theme ORDER BY month
    """, codes=list(csp_codes))
    frame["month"] = pd.to_datetime(frame["month"])
    return frame if theme is None else frame[frame["theme"] == theme]


def hotspots(conn: Connection, csp_codes: list[str], theme: str | None = None) -> pd.DataFrame:
    """LSOAs of the partnerships with their Gi* result and class, named."""
    frame = read(conn, """
        SELECT h.theme, h.lsoa11_code, g.lsoa11_name, g.ward_name, h.csp_code, h.events,
               h.per_1000_residents, h.z, h.q_value, h.hot, h.rank_in_csp, h."class" AS hotspot_class,
               h.hot_years, h.years
        FROM analysis.hotspots h
        JOIN core.dim_geography g ON g.lsoa11_code = h.lsoa11_code
        WHERE h.csp_code IN :codes
        ORDER BY h.theme, h.rank_in_csp, h.lsoa11_code
    """, codes=list(csp_codes))
    # Numeric even when empty (an empty result comes back as object columns).
    numeric = ["events", "per_1000_residents", "z", "q_value", "rank_in_csp"]
    frame[numeric] = frame[numeric].astype(float)
    return frame if theme is None else frame[frame["theme"] == theme].reset_index(drop=True)


def highest_rates(hotspots: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Hotspot rows highest rate per 1,000 residents first (ties by LSOA code, so the order is
    stable), the ``n`` first if given: what "the highest rate" and "highest first" mean. The Gi*
    rank (rank_in_csp) orders by cluster strength, which is not the rate."""
    ordered = hotspots.sort_values(["per_1000_residents", "lsoa11_code"], ascending=[False, True])
    return ordered if n is None else ordered.head(n)


def exceedances(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    frame = read(conn, """
        SELECT * FROM analysis.exceedances WHERE csp_code IN :codes ORDER BY csp_code, theme, month
    """, codes=list(csp_codes))
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def seasonal_index(conn: Connection) -> pd.DataFrame:
    return read(conn, "SELECT theme, month_of_year, mean_events, \"index\", years_used FROM analysis.seasonal_index")


def csp_rows(conn: Connection, table: str, csp_codes: list[str], order_by: str) -> pd.DataFrame:
    """Every row of an analysis table for the partnerships, in ``order_by`` order."""
    return read(conn, f"SELECT * FROM analysis.{table} WHERE csp_code IN :codes ORDER BY {order_by}",
                codes=list(csp_codes))


def priorities(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    frame = csp_rows(conn, "priorities", csp_codes, "csp_code, rank, theme")
    return frame.assign(theme_name=frame["theme"].map(theme_name))


def priority_audit(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    return csp_rows(conn, "priority_audit", csp_codes, "csp_code, theme, factor")


def cross_agency(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    return csp_rows(conn, "cross_agency", csp_codes, "csp_code, picture, measure")


def plan_progress(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    frame = csp_rows(conn, "plan_progress", csp_codes, "csp_code, theme, quarter")
    return frame.assign(theme_name=frame["theme"].map(theme_name))


def repeat_locations(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    """Per CSP and theme the repeat-location summary, with one row per top repeat location
    (csp.analysis.locations; ``rank`` is null on the row of a theme with none)."""
    return csp_rows(conn, "repeat_locations", csp_codes, "csp_code, theme, rank")


def displacement(conn: Connection) -> pd.DataFrame:
    return read(conn, "SELECT * FROM analysis.displacement")


def lsoa_rates(conn: Connection, period: Period, theme: str) -> pd.DataFrame:
    """12-month rates per 1,000 residents of every LSOA in the area for one theme, at the
    period's end (what the maps shade)."""
    return read(conn, """
        SELECT area_code AS lsoa11_code, csp_code, events, per_1000_residents AS value
        FROM marts.area_rates
        WHERE area_type = 'lsoa' AND theme = :theme AND period_end = :end AND population > 0
    """, theme=theme, end=period.last.months[-1])


def category_months(conn: Connection, csp_code: str, first, last) -> pd.DataFrame:
    """In-area events per theme, category and month of one partnership between two months."""
    frame = read(conn, """
        SELECT theme, COALESCE(category, 'Not categorised') AS category, month,
               CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE csp_code = :csp AND area_status = 'in_area' AND month BETWEEN :first AND :last
        GROUP BY theme, COALESCE(category, 'Not categorised'), month
    """, csp=csp_code, first=first, last=last)
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame


def measure_months(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    """In-area events per month, dataset, theme and category: what a plan measure counts
    (csp.analysis.plan_progress.quarterly_events)."""
    frame = read(conn, """
        SELECT month, csp_code, dataset, theme, category, CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE csp_code IN :codes AND area_status = 'in_area'
        GROUP BY month, csp_code, dataset, theme, category
    """, codes=list(csp_codes))
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def change_tests(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    """The calibrated rolling-12-month change test of every theme and category."""
    return read(conn, """
        SELECT level, theme, category, current, previous, significant, direction, q_value
        FROM analysis.change
        WHERE comparison = 'rolling_12m' AND csp_code IN :codes
    """, codes=list(csp_codes))


def lsoa_theme_harm(conn: Connection, csp_code: str, period: Period) -> pd.DataFrame:
    """Harm (Crime Severity Score weighted) per theme and LSOA over the period's 12 months."""
    return read(conn, """
        SELECT theme, lsoa11_code, SUM(harm) AS harm
        FROM marts.monthly_counts
        WHERE csp_code = :csp AND area_status = 'in_area' AND lsoa11_code IS NOT NULL
          AND month BETWEEN :start AND :end
        GROUP BY theme, lsoa11_code
    """, csp=csp_code, start=period_bounds(period)["start"], end=period_bounds(period)["end"])


def public_events(conn: Connection, csp_codes: list[str], bounds: dict) -> pd.DataFrame:
    """In-area events per month, dataset, theme and ward over the period and the 12 months
    before (what the public summary publishes, through disclosure control)."""
    return read(conn, """
        SELECT month, dataset, theme, ward_code, CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE csp_code IN :codes AND area_status = 'in_area' AND month BETWEEN :prev AND :end
        GROUP BY month, dataset, theme, ward_code
    """, codes=list(csp_codes), **bounds)


def partnership_wards(conn: Connection, csp_codes: list[str]) -> pd.DataFrame:
    """The partnerships' wards with their names and mid-2020 populations."""
    return read(conn, """
        SELECT ward_code, MIN(ward_name) AS ward_name, CAST(SUM(population) AS BIGINT) AS population
        FROM core.dim_geography WHERE csp_code IN :codes AND in_area
        GROUP BY ward_code ORDER BY ward_code
    """, codes=list(csp_codes))


def comparison_rates(conn: Connection, period: Period, csp_code: str, county_code: str | None) -> pd.DataFrame:
    """Per theme, events located to a neighbourhood in the 12 months to the period's end and the
    population, for the partnership ('csp'), its county ('county') and the force area ('force'):
    one numerator for all three (marts.area_rates)."""
    return read(conn, """
        SELECT theme, 'csp' AS area, SUM(events) AS events, SUM(population) AS population
        FROM marts.area_rates WHERE area_type = 'csp' AND area_code = :csp AND period_end = :end GROUP BY theme
        UNION ALL
        SELECT theme, 'county' AS area, SUM(events) AS events, SUM(population) AS population
        FROM marts.area_rates WHERE area_type = 'county' AND area_code = :county AND period_end = :end GROUP BY theme
        UNION ALL
        SELECT theme, 'force' AS area, SUM(events) AS events, SUM(population) AS population
        FROM marts.area_rates WHERE area_type = 'csp' AND period_end = :end GROUP BY theme
        ORDER BY theme, area
    """, csp=csp_code, county=county_code or "", end=period.last.months[-1])


def district_rates(conn: Connection, county_code: str, codes: list[str], period: Period) -> pd.DataFrame:
    """Per theme, the 12-month rate per 1,000 residents of each district CSP and of the county:
    events located to an LSOA only (marts.area_rates), which `rates_left_out` accounts for."""
    frame = read(conn, """
        SELECT area_type, area_code, area_name, theme, events, per_1000_residents FROM marts.area_rates
        WHERE period_end = :end AND ((area_type = 'csp' AND area_code IN :codes)
                                     OR (area_type = 'county' AND area_code = :county))
    """, end=period.last.months[-1], codes=list(codes), county=county_code)
    frame["theme_name"] = frame["theme"].map(theme_name)
    return frame


def rates_left_out(conn: Connection, codes: list[str], period: Period) -> pd.DataFrame:
    """Per theme and source, what the partnerships' 12 months hold that no LSOA rate counts:
    in-area events with no LSOA (health events, located by outward code) or located at an
    institution (csp.themes.LOCATED_AT_INSTITUTION), kind 'events', and the health counts
    return's area counts (kind 'counts', one per measure, period and area). `located` is the
    event's location precision ('institution' for those) or the count's area type."""
    bounds = period_bounds(period)
    frame = read(conn, """
        SELECT theme, 'events' AS kind, dataset AS source,
               CASE WHEN dataset IN :institutional THEN 'institution' ELSE location_precision END AS located,
               CAST(SUM(events) AS BIGINT) AS n
        FROM marts.monthly_counts
        WHERE csp_code IN :codes AND area_status = 'in_area' AND month BETWEEN :start AND :end
          AND (lsoa11_code IS NULL OR dataset IN :institutional)
        GROUP BY theme, dataset, CASE WHEN dataset IN :institutional THEN 'institution' ELSE location_precision END
        UNION ALL
        SELECT COALESCE(theme, 'unclassified'), 'counts', measure, area_type, CAST(COUNT(*) AS BIGINT)
        FROM core.fact_count
        WHERE csp_code IN :codes AND area_status = 'in_area' AND period_start BETWEEN :start AND :end
        GROUP BY COALESCE(theme, 'unclassified'), measure, area_type
        ORDER BY 1, 2 DESC, 5 DESC, 3, 4
    """, codes=list(codes), start=bounds["start"], end=bounds["end"], institutional=list(LOCATED_AT_INSTITUTION))
    frame["theme_name"] = frame["theme"].map(theme_name)
    return frame


def family_months(conn: Connection, csp_code: str, period: Period, datasets: list[str], themes: list[str],
                  months: int = 36) -> pd.DataFrame:
    """In-area events per month of the given datasets and themes, the ``months`` to the period's end."""
    end = pd.Timestamp(period.last.months[-1])
    frame = read(conn, """
        SELECT month, CAST(SUM(events) AS BIGINT) AS events FROM marts.monthly_counts
        WHERE csp_code = :csp AND area_status = 'in_area' AND dataset IN :datasets AND theme IN :themes
          AND month BETWEEN :first AND :last
        GROUP BY month ORDER BY month
    """, csp=csp_code, datasets=list(datasets) or [""], themes=list(themes) or [""],
        first=(end - pd.DateOffset(months=months - 1)).date(), last=end.date())
    frame["month"] = pd.to_datetime(frame["month"])
    return frame


def location_precision(conn: Connection, csp_code: str, period: Period) -> pd.DataFrame:
    """In-area events per theme and location precision (point, lsoa, outward_postcode, ...)
    over the period's 12 months: what the data allows a place analysis to see."""
    bounds = period_bounds(period)
    return read(conn, """
        SELECT theme, location_precision, CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE csp_code = :csp AND area_status = 'in_area' AND month BETWEEN :start AND :end
        GROUP BY theme, location_precision
        ORDER BY theme, events DESC, location_precision
    """, csp=csp_code, start=bounds["start"], end=bounds["end"])


def partnership_population(conn: Connection, csp_code: str) -> int:
    """The partnership's residents (ONS mid-2020), the denominator of its rates."""
    return int(read(conn, """
        SELECT COALESCE(SUM(population), 0) AS population FROM core.dim_geography
        WHERE csp_code = :csp AND in_area
    """, csp=csp_code)["population"].iloc[0])


def partnership_lsoas(conn: Connection, csp_code: str) -> pd.DataFrame:
    """The partnership's LSOAs with their names and wards (what its maps draw and name)."""
    return read(conn, """
        SELECT lsoa11_code, lsoa11_name, ward_code, ward_name FROM core.dim_geography
        WHERE csp_code = :csp ORDER BY lsoa11_code
    """, csp=csp_code)


def compliance(conn: Connection, period: Period) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """The quarters, the authority x dataset x quarter state grid, and the returns used."""
    quarters = [q.label for q in period.quarters]
    frame = read(conn, "SELECT * FROM marts.compliance_matrix WHERE quarter IN :quarters", quarters=quarters)
    matrix = (
        frame.pivot_table(index=["authority", "dataset"], columns="quarter", values="state", aggfunc="first")
        .reindex(columns=quarters).reset_index()
    )
    matrix["title"] = matrix["dataset"].map(lambda d: DATASETS[d].title)
    matrix["number"] = matrix["dataset"].map(lambda d: DATASETS[d].number or "extra")
    used = frame[frame["state"].isin(["on_time", "late"])][
        ["authority", "dataset", "quarter", "version", "received_at", "days_late", "rows_in",
         "rows_loaded", "rows_quarantined"]
    ].sort_values(["dataset", "quarter"])
    return quarters, matrix, used


def partnership_return_events(conn: Connection, csp_code: str, period: Period) -> pd.DataFrame:
    """Per dataset and quarter of the period, the partnership's own in-area events: what it
    holds from each return, whose row counts are the whole return's (a police return covers
    the force area). A return's rows are dated in its quarter (a row dated outside it is
    quarantined: expectations/), so the event's month gives the return it came from."""
    frame = read(conn, """
        SELECT dataset, month, CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE csp_code = :csp AND area_status = 'in_area' AND month BETWEEN :start AND :end
        GROUP BY dataset, month
    """, csp=csp_code, start=period.quarters[0].start, end=period.last.months[-1])
    frame["quarter"] = [Quarter.of(pd.Timestamp(m).date()).label for m in frame["month"]]
    return (frame.groupby(["dataset", "quarter"], as_index=False)["events"].sum()
            .astype({"events": "int64"}))


def quarantine_summary(conn: Connection, period: Period) -> pd.DataFrame:
    """Rows quarantined per dataset over the period, with the share of rows received: the
    whole returns' figures, every partnership they cover."""
    frame = read(conn, """
        SELECT dataset, CAST(SUM(rows_in) AS BIGINT) AS rows_in,
               CAST(SUM(rows_quarantined) AS BIGINT) AS rows_quarantined,
               CAST(SUM(events_unlocated) AS BIGINT) AS events_unlocated
        FROM marts.return_quality
        WHERE quarter IN :quarters AND status = 'accepted'
        GROUP BY dataset ORDER BY dataset
    """, quarters=[q.label for q in period.quarters])
    frame["pct_quarantined"] = 100.0 * frame["rows_quarantined"] / frame["rows_in"].where(frame["rows_in"] > 0)
    return frame


def partnership_file(partnership_dir: Path, name: str) -> pd.DataFrame:
    """A partnership input (plan, tasking log, consultation); empty if the partnership has not
    supplied it, which the report says."""
    path = partnership_dir / name
    if not path.exists():
        return pd.DataFrame()
    return pd.read_csv(path, dtype=str, keep_default_na=False)
