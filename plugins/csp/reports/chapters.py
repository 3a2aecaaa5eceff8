"""One chapter per theme, shared by the strategic assessment and the problem profile: volume and
change with their tests, what the volume is made of (source by source), the multi-year trend,
seasonality, the monthly chart, the hotspot map and named hotspots, repeat locations, harm and
the cross-agency picture the theme belongs to."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.legislation import PRESCRIBED_INFORMATION
from csp.reports import charts, counting, findings, maps, queries
from csp.reports.readiness import Period
from csp.themes import LOCATED_AT_INSTITUTION

# Which cross-agency picture (csp.analysis.cross_agency) each theme draws on.
PICTURE_OF_THEME = {"violence": "violence", "drugs_alcohol": "alcohol", "road_danger": "road_danger",
                    "young_people": "young_people"}
MAPPED_THEMES = 6  # maps for the highest-ranked themes: each map is a large inline figure
# A theme is mapped by LSOA only with at least this many located events per LSOA of the area on
# average (and MIN_EVENTS_TO_MAP in all): below it most neighbourhoods hold 0 or 1 event and a
# rate map shows chance, not place.
MIN_EVENTS_PER_LSOA_TO_MAP = 1.0
MIN_EVENTS_TO_MAP = 50
CHART_MONTHS = 36
NAMED_HOTSPOTS = 5
COMPOSITION_CATEGORIES = 3  # categories named per source in "What it counts"; the rest summed
MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]
SOURCE = f"Partner returns to the CSP ({PRESCRIBED_INFORMATION.short})"
MAP_SOURCE = ("Partner returns; ONS mid-2020 population; boundaries ONS (OGL v3.0), contains OS data "
              "© Crown copyright and database right")


def seasonality_words(index: pd.DataFrame, theme: str) -> str | None:
    """'Peaks in July, lowest in January' where the seasonal index departs from flat by 10%
    or more; None where there is no usable seasonal pattern."""
    own = index[index["theme"] == theme]
    if own.empty or own["index"].isna().all():
        return None
    high, low = own.loc[own["index"].idxmax()], own.loc[own["index"].idxmin()]
    if high["index"] < 1.1 and low["index"] > 0.9:
        return "No marked seasonal pattern (every month within 10% of the average)."
    return (f"Peaks in {MONTH_NAMES[int(high.month_of_year) - 1]} ({high['index']:.2f} x the monthly average) and is "
            f"lowest in {MONTH_NAMES[int(low.month_of_year) - 1]} ({low['index']:.2f} x), over "
            f"{int(high.years_used)} years across the force area.")


PRECISION_WORDS = {"point": "to a point", "lsoa": "to a neighbourhood (LSOA)", "ward": "to a ward",
                   "outward_postcode": "to an outward postcode", "district": "to a district",
                   "none": "with no location"}


def precision_words(precision: pd.DataFrame) -> str:
    """'3,120 located to a point, 410 to a neighbourhood (LSOA)': how the theme's events are located."""
    held = precision[precision["events"] > 0]
    if len(held) == 1:  # one precision for every event: 'all located to a point'
        only = held["location_precision"].iloc[0]
        return f"all located {PRECISION_WORDS.get(only, only or 'unknown')}"
    parts = [f"{int(r.events):,} {PRECISION_WORDS.get(r.location_precision, r.location_precision or 'unknown')}"
             for r in held.itertuples()]
    return "located " + ", ".join(parts) if parts else "none recorded"


def composition_words(sources: pd.DataFrame) -> str | None:
    """'incidents recorded by the police (...) 2,345 (Concern for safety 800, Alarm 600, Abandoned
    call 500, 9 more categories 445) + crimes recorded by the police 1,100 (Public order 1,000,
    Other crime 100)': what one theme's events of the 12 months are, per source (named by what it
    counts, csp.reports.counting) and category, largest first. The parts add up to the theme's
    figure, so the chapter prints it as the figure's reconciliation."""
    current = sources[sources["current_year"] > 0]
    totals = current.groupby("dataset")["current_year"].sum().sort_values(ascending=False, kind="stable")
    parts = []
    for dataset, total in totals.items():
        categories = current[current["dataset"] == dataset].sort_values(["current_year", "category"],
                                                                         ascending=[False, True])
        named = [f"{c.category or 'not categorised'} {int(c.current_year):,}"
                 for c in categories.head(COMPOSITION_CATEGORIES).itertuples()]
        rest = categories.iloc[COMPOSITION_CATEGORIES:]
        if len(rest):
            named.append(f"{len(rest)} more {'category' if len(rest) == 1 else 'categories'} "
                         f"{int(rest['current_year'].sum()):,}")
        parts.append(f"{counting.counted(dataset)} {int(total):,} ({', '.join(named)})")
    return " + ".join(parts) or None


def category_signals(tests: pd.DataFrame, theme_significant: bool, theme_name: str) -> dict | None:
    """The theme's categories with a significant 12-month change or multi-year trend, each in
    page 1's words (findings.category_words), and a lead that says both where the theme as a
    whole shows no clear change: a flat theme can hide a rise in one category and a fall in another."""
    signal = tests["significant"].map(queries.is_true) | tests["trend_significant"].map(queries.is_true)
    own = tests[signal.astype(bool)]
    if own.empty:
        return None
    own = own.sort_values(["q_value", "trend_q", "category"], na_position="last")
    lead = ("Within the theme:" if theme_significant else
            f"{theme_name} as a whole shows no clear change, but within it:")
    return {"lead": lead, "sentences": [findings.category_words(r) for r in own.itertuples()]}


def institution_note(sources: pd.DataFrame) -> str | None:
    """Why events located at an institution (an exclusion, at the school) are not mapped or
    tested for hotspots (csp.themes.LOCATED_AT_INSTITUTION, marts.area_rates)."""
    held = sources[sources["dataset"].isin(LOCATED_AT_INSTITUTION) & (sources["current_year"] > 0)]
    parts = [f"{int(n):,} {dataset.replace('_', ' ')} are located at {LOCATED_AT_INSTITUTION[dataset]}"
             for dataset, n in held.groupby("dataset")["current_year"].sum().items()]
    if not parts:
        return None
    places = " and ".join(f"{LOCATED_AT_INSTITUTION[d]}'s" for d in sorted(set(held["dataset"])))
    return (f"Not mapped or tested for hotspots: {'; '.join(parts)}, not where the people concerned live, so a "
            f"rate per resident of {places} neighbourhood would show where the institution is, not where the "
            "problem is.")


def repeat_summary(rows: pd.DataFrame, precision: pd.DataFrame) -> dict | None:
    """The theme's repeat-location figures and its top repeat locations (named by LSOA and
    ward; the location key itself is never shown). Where the data cannot show a repeat location
    (no event located by a point, or no two points the same) a ``note`` says so with the data's
    precision, instead of zeros that read as "no repeat locations". None without events."""
    events = int(precision["events"].sum()) if not precision.empty else 0
    keyed = int(rows["keyed_events"].fillna(0).astype(float).sum()) if not rows.empty else 0
    if not keyed:
        if not events:
            return None
        return {"note": f"Not analysed: a repeat location needs the point an event happened at, and none of the "
                        f"theme's {events:,} events in the 12 months has one ({precision_words(precision)})."}
    first = rows.iloc[0]
    if int(first["repeat_locations"]) == 0 and int(first["locations"]) == int(first["keyed_events"]):
        # each event at a point of its own: '0 at 0 places' would claim no repeats where none can show
        return {"note": f"Not shown: no two of the {int(first['keyed_events']):,} events located by a point share "
                        f"the same point (compared to 0.1 m), so at this precision the data cannot show a place "
                        f"where events repeat. The theme's {events:,} events are {precision_words(precision)}."}
    return {"note": None, "keyed_events": int(first["keyed_events"]), "locations": int(first["locations"]),
            "repeat_locations": int(first["repeat_locations"]), "min_events": int(first["min_events"]),
            "events_at_repeat_locations": int(first["events_at_repeat_locations"]),
            "repeat_share": first["repeat_share"],
            "top": rows[rows["rank"].notna()].to_dict("records")}


def harm_words(harm, harm_events, population: int) -> str:
    """The theme's harm with its unit, the crimes it weighs and its rate per 1,000 residents;
    'not scored' where no event has a Crime Severity Score weight (0 would say no harm)."""
    if harm is None or pd.isna(harm):
        return f"Harm: {queries.HARM_NOT_SCORED}; only police-recorded crimes carry one."
    rate = f", {1000 * harm / population:,.1f} per 1,000 residents" if population > 0 else ""
    crimes = int(harm_events)
    return (f"Harm: {harm:,.0f} {queries.HARM_UNIT} (ONS weights: the days of custody an offence's sentences "
            f"equate to) from {crimes:,} police-recorded crime{'s' if crimes != 1 else ''}{rate}.")


def named_hotspots(hotspots: pd.DataFrame) -> pd.DataFrame:
    """The theme's significant hotspots the chapter names: the highest rates first, as its
    table's caption says."""
    return queries.highest_rates(hotspots[hotspots["hot"].fillna(False).astype(bool)], NAMED_HOTSPOTS)


def theme_chapters(conn: Connection, partnership: Partnership, period: Period, reference_dir: Path, *,
                   themes: pd.DataFrame, tests: pd.DataFrame, priorities: pd.DataFrame,
                   hotspots: pd.DataFrame, cross_agency: pd.DataFrame, only: str | None = None) -> list[dict]:
    codes = [partnership.code]
    series = queries.monthly_theme_series(conn, codes)
    seasonal = queries.seasonal_index(conn)
    repeats = queries.repeat_locations(conn, codes)
    precision = queries.location_precision(conn, partnership.code, period)
    sources = queries.source_theme_counts(conn, codes, period)
    categories = queries.category_tests(conn, codes)
    geography = queries.partnership_lsoas(conn, partnership.code)
    population = queries.partnership_population(conn, partnership.code)
    lsoas = geography["lsoa11_code"].tolist()
    names = {r.lsoa11_code: f"{r.lsoa11_name} ({r.ward_name})" for r in geography.itertuples()}
    order = priorities.set_index("theme")["rank"].to_dict() if not priorities.empty else {}
    rows = themes.merge(tests, on=["csp_code", "theme"], how="left")
    rows["order"] = rows["theme"].map(order).fillna(len(order) + 1)
    rows = rows.sort_values(["order", "current_year"], ascending=[True, False])
    chapters = []
    for position, row in enumerate(rows.itertuples()):
        if only is not None and row.theme != only:
            continue
        if row.current_year == 0 and row.previous_year == 0:
            continue
        hot = hotspots[(hotspots["theme"] == row.theme)]
        hot_named = named_hotspots(hot)
        first_month = pd.Timestamp(period.last.months[-1]) - pd.DateOffset(months=CHART_MONTHS)
        own_series = series[(series["theme"] == row.theme) & (series["month"] > first_month)]
        own_sources = sources[sources["theme"] == row.theme]
        # Some of the theme's events are in the LSOA rates (not all located at an institution).
        rated = own_sources.loc[~own_sources["dataset"].isin(LOCATED_AT_INSTITUTION), "current_year"].sum() > 0
        chapter = {
            "theme": row.theme, "theme_name": row.theme_name, "rank": order.get(row.theme),
            "current": int(row.current_year), "previous": int(row.previous_year),
            "change_pct": row.change_pct, "harm": harm_words(row.harm, row.harm_events, population),
            "change_q": row.change_q, "change_significant": bool(row.change_significant is True),
            "change_direction": row.change_direction,
            "trend_years": row.trend_years, "annual_change_pct": row.annual_change_pct,
            "trend_q": row.trend_q, "trend_significant": bool(row.trend_significant is True),
            "trend_direction": row.trend_direction,
            "seasonality": seasonality_words(seasonal, row.theme),
            "hotspots": hot_named.to_dict("records"),
            "hotspot_classes": hot["hotspot_class"].value_counts().to_dict(),
            "repeats": repeat_summary(repeats[repeats["theme"] == row.theme],
                                      precision[precision["theme"] == row.theme]),
            "cross_agency": cross_agency[cross_agency["picture"] == PICTURE_OF_THEME.get(row.theme)].to_dict("records")
            if row.theme in PICTURE_OF_THEME else [],
            "chart": charts.monthly_series(
                own_series, title=f"{row.theme_name}: events per month, {partnership.name}",
                y_label="Events per month", source=SOURCE, assessed_from=period.quarters[0].start)
            if not own_series.empty else None,
            "map": None,
            "map_note": None,
            "composition": composition_words(own_sources),
            "categories": category_signals(categories[categories["theme"] == row.theme],
                                           queries.is_true(row.change_significant), row.theme_name),
            "place_note": institution_note(own_sources), "place_tested": bool(rated),
        }
        if rated and (position < MAPPED_THEMES or only is not None):
            rates = queries.lsoa_rates(conn, period, row.theme)
            rates = rates[rates["lsoa11_code"].isin(lsoas)]
            located = int(pd.to_numeric(rates["events"]).sum()) if not rates.empty else 0
            if located < max(MIN_EVENTS_TO_MAP, MIN_EVENTS_PER_LSOA_TO_MAP * len(lsoas)):
                chapter["map_note"] = (f"Not mapped: {located:,} events located to a neighbourhood in the 12 months, "
                                       f"too few across {len(lsoas):,} neighbourhoods for a rate map to show "
                                       "more than chance.")
            else:
                chapter["map"] = maps.rate_map(
                    rates[["lsoa11_code", "value"]], reference_dir,
                    title=f"{row.theme_name}: rate per 1,000 residents, 12 months to {period.last.months[-1]:%B %Y}",
                    legend_label="Events per 1,000 residents", source=MAP_SOURCE,
                    hotspots=tuple(hot[hot["hot"].fillna(False).astype(bool)]["lsoa11_code"]), area_codes=lsoas,
                    partnership=partnership.code, unit_names=names)
        chapters.append(chapter)
    return chapters
