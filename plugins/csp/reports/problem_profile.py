"""A problem profile for one theme in one area (a CSP, or a ward within it), structured as SARA:
scanning (how big, how it changed), analysis (where, when, and the problem-analysis triangle as
far as depersonalised data allow), response (the tasking log) and assessment (exceedances,
targets, the displacement study). Subject profiles are out of scope: the platform holds no
personal data."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.reports import charts, queries
from csp.reports.chapters import theme_chapters
from csp.reports.readiness import Period
from csp.reports.tactical import tasking_entries

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TOP_PLACES = 10
TOP_CATEGORIES = 8


class UnknownArea(ValueError):
    """The area is neither the partnership nor one of its wards."""


@dataclass(frozen=True)
class ProfileArea:
    code: str
    name: str
    kind: str  # "partnership" or "ward"
    partnership: Partnership


def resolve_area(conn: Connection, partnerships: tuple[Partnership, ...], area: str) -> ProfileArea:
    for partnership in partnerships:
        if area == partnership.code:
            return ProfileArea(area, partnership.name, "partnership", partnership)
    ward = queries.read(conn,
                        "SELECT DISTINCT ward_code, ward_name, csp_code FROM core.dim_geography "
                        "WHERE ward_code = :w", w=area)
    by_code = {p.code: p for p in partnerships}
    if ward.empty or ward["csp_code"].iloc[0] not in by_code:
        known = ", ".join(p.code for p in partnerships)
        raise UnknownArea(f"area {area!r} is not a served partnership ({known}) or a ward of one")
    return ProfileArea(area, f"{ward['ward_name'].iloc[0]} ward", "ward", by_code[ward["csp_code"].iloc[0]])


def _area_filter(area: ProfileArea) -> tuple[str, dict]:
    if area.kind == "ward":
        return "ward_code = :area", {"area": area.code}
    return "csp_code = :area", {"area": area.code}


def when_profile(conn: Connection, area: ProfileArea, theme: str, period: Period) -> pd.DataFrame:
    """Events by day of week and hour over the 12 months, from records timed to the minute."""
    condition, params = _area_filter(area)
    bounds = queries.period_bounds(period)
    frame = queries.read(conn, f"""
        SELECT event_date, hour FROM core.fact_event
        WHERE {condition} AND theme = :theme AND area_status = 'in_area' AND time_precision = 'minute'
          AND event_date BETWEEN :start AND :last
    """, theme=theme, start=bounds["start"], last=period.last.end, **params)
    frame["day"] = pd.to_datetime(frame["event_date"]).dt.dayofweek
    grid = (frame.groupby(["day", "hour"]).size().unstack(fill_value=0)
            .reindex(index=range(7), columns=range(24), fill_value=0))
    grid.index = DAYS
    return grid


def where_profile(conn: Connection, area: ProfileArea, theme: str, period: Period) -> pd.DataFrame:
    condition, params = _area_filter(area)
    return queries.read(conn, f"""
        SELECT r.area_code AS lsoa11_code, g.lsoa11_name, g.ward_name, r.events, r.population, r.per_1000_residents
        FROM marts.area_rates r JOIN core.dim_geography g ON g.lsoa11_code = r.area_code
        WHERE r.area_type = 'lsoa' AND r.theme = :theme AND r.period_end = :end AND g.{condition}
        ORDER BY r.per_1000_residents DESC NULLS LAST, r.area_code LIMIT {TOP_PLACES}
    """, theme=theme, end=period.last.months[-1], **params)


def what_profile(conn: Connection, area: ProfileArea, theme: str, period: Period) -> pd.DataFrame:
    condition, params = _area_filter(area)
    bounds = queries.period_bounds(period)
    return queries.read(conn, f"""
        SELECT dataset, category, CAST(SUM(events) AS BIGINT) AS events FROM marts.monthly_counts
        WHERE {condition} AND theme = :theme AND area_status = 'in_area' AND month BETWEEN :start AND :end
        GROUP BY dataset, category ORDER BY events DESC, category LIMIT {TOP_CATEGORIES}
    """, theme=theme, start=bounds["start"], end=bounds["end"], **params)


def problem_profile(conn: Connection, partnerships: tuple[Partnership, ...], period: Period, reference_dir: Path,
                    partnership_dir: Path, *, theme: str, area: str) -> dict:
    if theme not in queries.THEMES:
        raise ValueError(f"unknown theme {theme!r}; themes: {', '.join(queries.THEMES)}")
    place = resolve_area(conn, partnerships, area)
    partnership = place.partnership
    codes = [partnership.code]
    themes = queries.theme_year_counts(conn, codes, period)
    chapter = theme_chapters(conn, partnership, period, reference_dir, themes=themes,
                             tests=queries.theme_tests(conn, codes), priorities=queries.priorities(conn, codes),
                             hotspots=queries.hotspots(conn, codes), cross_agency=queries.cross_agency(conn, codes),
                             only=theme)
    when = when_profile(conn, place, theme, period)
    exceed = queries.exceedances(conn, codes)
    plan = queries.plan_progress(conn, codes)
    bounds = queries.period_bounds(period)
    return {
        "partnership": partnership, "area": place, "theme": theme, "theme_name": queries.theme_name(theme),
        "period_start": bounds["start"], "period_end": bounds["end"],
        "provisional": period.provisional, "missing": list(period.missing),
        "chapter": chapter[0] if chapter else None,
        "where": where_profile(conn, place, theme, period).to_dict("records"),
        "what": what_profile(conn, place, theme, period).to_dict("records"),
        "when_total": int(when.to_numpy().sum()),
        "when_busiest": _busiest(when),
        "when_chart": charts.bar_chart(
            list(when.index), when.sum(axis=1).tolist(),
            title=f"{queries.theme_name(theme)} by day of week, {place.name}",
            x_label="Events (12 months, records timed to the minute)", source="Partner returns to the CSP"),
        "tasking": tasking_entries(partnership_dir, partnership.code, bounds["start"], period.last.end, theme=theme),
        "exceedances": exceed[(exceed["theme"] == theme)
                              & exceed["signal"].fillna(False).astype(bool)].to_dict("records"),
        "plan": plan[plan["theme"] == theme].to_dict("records") if not plan.empty else [],
        "displacement": queries.displacement(conn).to_dict("records"),
    }


def _busiest(grid: pd.DataFrame) -> list[dict]:
    """The three busiest day-and-hour cells, as analysts schedule patrols by them."""
    stacked = grid.stack().sort_values(ascending=False).head(3)
    return [{"day": day, "hour": int(hour), "events": int(n)} for (day, hour), n in stacked.items() if n > 0]
