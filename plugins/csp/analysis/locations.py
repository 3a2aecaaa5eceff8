"""Repeat locations and near repeats over the warehouse (core.fact_event), for the 12 months
to a reference month, inside the area served (``area_status = 'in_area'``).

Location keys (``core.fact_event.location_key``, built in sql/staging/events.sql) exist only
for events located by a point: police.uk anonymisation map points (public) and the precise
points of force extracts, fire incidents and road collisions. Council ASB, racial incidents,
school exclusions, health and ambulance returns are located by LSOA or outward postcode only:
they have no key, count in ``events`` but not in ``keyed_events``, and are never repeats.
Events are grouped by their primary theme (``fact_event.theme``).

``repeat_location_table`` (suggested table ``analysis.repeat_locations``): one row per CSP x
theme x top repeat location (``rank`` 1..``top``), or one row with a null ``rank`` when the
CSP and theme have no repeat location. The per-CSP-and-theme figures repeat on each row:

- csp_code, theme; window_start, window_end (the 12 months); min_events (the repeat rule)
- events: in-area events of the theme in the window; keyed_events: those with a location key
- locations: distinct keys; repeat_locations: keys with at least ``min_events`` events
- events_at_repeat_locations; repeat_share = events_at_repeat_locations / keyed_events
  (null when nothing is keyed)
- rank, location_key, location_events, first_date, last_date: the repeat location, by events
  (then most recent, then key), with lsoa11_code, lsoa11_name, ward_code, ward_name of the
  LSOA most of its events fall in. The key is opaque; its point is never shown.

``knox_table`` (suggested table ``analysis.near_repeats``): the Knox test
(csp.analysis.repeats.knox_test) per CSP x theme over the events with precise time and place,
i.e. a point location and a day or minute date: force extracts, fire incidents (LFB rows and
the fire contract) and road collisions (STATS19, council casualty files). police.uk rows are
excluded by design: their dates are months and their points are snapped map points, so a
pair's distance and gap in days mean nothing (Ratcliffe's calculator needs both). Columns:
csp_code, theme, events, datasets (comma-separated), space_band, time_band, observed,
expected, knox_ratio, p_value (the cell's, shown, never a claim), q_value (BH across every
cell of the table, kept for reference), global_p_value (the CSP and theme's one near-repeat
test, csp.analysis.repeats.global_max_t_p), global_q_value (BH across the CSP x theme global
tests), near_repeat (``global_q_value < 0.05``: the only near-repeat claim), permutations,
window_start, window_end. A CSP and theme with fewer than
``min_events`` eligible events is left out (too few pairs to test).
"""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp.analysis.fdr import bh_adjust
from csp.analysis.repeats import knox_test
from csp.geometry import to_british_grid

DEFAULT_MIN_EVENTS = 2
DEFAULT_TOP = 10
KNOX_MIN_EVENTS = 20
KNOX_PERMUTATIONS = 999  # enough for one global test per table at 0.05 after BH across tables
KNOX_SEED = 0  # fixed, so a re-run of the analysis gives the same table

SUMMARY_COLUMNS = ["csp_code", "theme", "window_start", "window_end", "min_events", "events",
                   "keyed_events", "locations", "repeat_locations", "events_at_repeat_locations",
                   "repeat_share"]
LOCATION_COLUMNS = ["rank", "location_key", "location_events", "first_date", "last_date",
                    "lsoa11_code", "lsoa11_name", "ward_code", "ward_name"]
KNOX_COLUMNS = ["csp_code", "theme", "events", "datasets", "space_band", "time_band", "observed",
                "expected", "knox_ratio", "p_value", "q_value", "permutations", "window_start",
                "window_end", "global_p_value", "global_q_value", "near_repeat"]
NEAR_REPEAT_ALPHA = 0.05


def window(reference_month) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the 12 months ending with the reference month."""
    month = pd.Timestamp(reference_month).to_period("M")
    return (month - 11).start_time.normalize(), month.end_time.normalize()


def _located_events(conn: Connection, reference_month, where: str) -> pd.DataFrame:
    start, end = window(reference_month)
    return pd.read_sql(sa.text(f"""
        SELECT f.dataset, f.csp_code, f.theme, f.event_date, f.location_key,
               f.lsoa11_code, g.lsoa11_name, f.ward_code, g.ward_name, f.latitude, f.longitude
        FROM core.fact_event f
        LEFT JOIN core.dim_geography g ON g.lsoa11_code = f.lsoa11_code
        WHERE f.area_status = 'in_area' AND f.event_date BETWEEN :start AND :end
          AND f.location_key IS NOT NULL AND {where}
    """), conn, params={"start": start.date(), "end": end.date()}, parse_dates=["event_date"])


def _theme_totals(conn: Connection, reference_month) -> pd.DataFrame:
    start, end = window(reference_month)
    return pd.read_sql(sa.text("""
        SELECT csp_code, theme, COUNT(*) AS events, COUNT(location_key) AS keyed_events
        FROM core.fact_event
        WHERE area_status = 'in_area' AND event_date BETWEEN :start AND :end
        GROUP BY csp_code, theme
    """), conn, params={"start": start.date(), "end": end.date()})


def _per_location(conn: Connection, reference_month) -> pd.DataFrame:
    """Events, first and last date of each CSP x theme x location key in the window, counted
    by the warehouse: a key's window is the whole 12 months, so a rolling count
    (csp.analysis.repeats.repeat_locations) equals its total, and only one row per key comes
    back rather than every located event (a force area has about a million a year)."""
    start, end = window(reference_month)
    return pd.read_sql(sa.text("""
        SELECT csp_code, theme, location_key, COUNT(*) AS location_events,
               MIN(event_date) AS first_date, MAX(event_date) AS last_date
        FROM core.fact_event
        WHERE area_status = 'in_area' AND event_date BETWEEN :start AND :end
          AND location_key IS NOT NULL AND csp_code IS NOT NULL
        GROUP BY csp_code, theme, location_key
    """), conn, params={"start": start.date(), "end": end.date()}, parse_dates=["first_date", "last_date"])


def _main_area(conn: Connection, reference_month, min_events: int) -> pd.DataFrame:
    """Each repeat location's LSOA (and its ward): the one most of its events fall in, lowest
    code on a tie."""
    start, end = window(reference_month)
    return pd.read_sql(sa.text("""
        WITH located AS (
            SELECT f.csp_code, f.theme, f.location_key, f.lsoa11_code, g.lsoa11_name, f.ward_code,
                   g.ward_name, COUNT(*) OVER (PARTITION BY f.csp_code, f.theme, f.location_key) AS key_events
            FROM core.fact_event f
            LEFT JOIN core.dim_geography g ON g.lsoa11_code = f.lsoa11_code
            WHERE f.area_status = 'in_area' AND f.event_date BETWEEN :start AND :end
              AND f.location_key IS NOT NULL AND f.csp_code IS NOT NULL
        ), per_area AS (
            SELECT csp_code, theme, location_key, lsoa11_code, lsoa11_name, ward_code, ward_name,
                   COUNT(*) AS n
            FROM located WHERE key_events >= :min_events
            GROUP BY csp_code, theme, location_key, lsoa11_code, lsoa11_name, ward_code, ward_name
        ), ranked AS (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY csp_code, theme, location_key
                                         ORDER BY n DESC, lsoa11_code NULLS LAST) AS choice
            FROM per_area
        )
        SELECT csp_code, theme, location_key, lsoa11_code, lsoa11_name, ward_code, ward_name
        FROM ranked WHERE choice = 1
    """), conn, params={"start": start.date(), "end": end.date(), "min_events": min_events})


def repeat_location_table(conn: Connection, reference_month, *, min_events: int = DEFAULT_MIN_EVENTS,
                          top: int = DEFAULT_TOP) -> pd.DataFrame:
    """Repeat locations per CSP and theme over the 12 months to ``reference_month`` (columns:
    see the module docstring)."""
    start, end = window(reference_month)
    totals = _theme_totals(conn, reference_month)
    keys = ["csp_code", "theme", "location_key"]
    per_key = _per_location(conn, reference_month)
    per_key["repeat"] = per_key["location_events"] >= min_events
    per_key["repeat_events"] = per_key["location_events"].where(per_key["repeat"], 0)
    summary = totals.merge(
        per_key.groupby(["csp_code", "theme"], dropna=False).agg(
            locations=("location_key", "size"), repeat_locations=("repeat", "sum"),
            events_at_repeat_locations=("repeat_events", "sum"),
        ).reset_index(),
        on=["csp_code", "theme"], how="left")
    summary = summary[summary["csp_code"].notna()]
    for column in ("locations", "repeat_locations", "events_at_repeat_locations"):
        summary[column] = summary[column].fillna(0).astype("int64")
    keyed = summary["keyed_events"].where(summary["keyed_events"] > 0)  # 0 keyed: share unknown
    summary["repeat_share"] = summary["events_at_repeat_locations"] / keyed
    summary = summary.assign(window_start=start.date(), window_end=end.date(), min_events=min_events)

    repeats = per_key[per_key["repeat"]].sort_values(
        ["csp_code", "theme", "location_events", "last_date", "location_key"],
        ascending=[True, True, False, False, True])
    repeats = repeats.assign(rank=repeats.groupby(["csp_code", "theme"]).cumcount() + 1)
    repeats = repeats[repeats["rank"] <= top]
    if not repeats.empty:
        repeats = repeats.merge(_main_area(conn, reference_month, min_events), on=keys, how="left")
    repeats = repeats.reindex(columns=["csp_code", "theme", *LOCATION_COLUMNS])
    table = summary[SUMMARY_COLUMNS].merge(repeats, on=["csp_code", "theme"], how="left")
    table["rank"] = table["rank"].astype("Int64")
    table["location_events"] = table["location_events"].astype("Int64")
    for column in ("first_date", "last_date"):  # dates, None where no repeat (never NaT)
        stamps = pd.to_datetime(table[column])
        table[column] = stamps.dt.date.astype(object).where(stamps.notna(), None)
    return table.sort_values(["csp_code", "theme", "rank"], na_position="first", ignore_index=True)


def near_repeat_claims(table: pd.DataFrame, alpha: float = NEAR_REPEAT_ALPHA) -> pd.DataFrame:
    """global_q_value (BH over the CSP x theme global tests) and near_repeat on every row."""
    tests = table.drop_duplicates(["csp_code", "theme"])[["csp_code", "theme", "global_p_value"]].copy()
    tests["global_q_value"] = bh_adjust(tests["global_p_value"].to_numpy())
    tests["near_repeat"] = tests["global_q_value"] < alpha
    return table.merge(tests.drop(columns="global_p_value"), on=["csp_code", "theme"], how="left")


def knox_table(conn: Connection, reference_month, *, space_bands=(0, 100, 200, 400),
               time_bands=(0, 7, 14, 28), permutations: int = KNOX_PERMUTATIONS, seed: int = KNOX_SEED,
               min_events: int = KNOX_MIN_EVENTS) -> pd.DataFrame:
    """Knox near-repeat tables per CSP and theme over events with precise time and place
    (columns: see the module docstring)."""
    start, end = window(reference_month)
    events = _located_events(conn, reference_month, """
        f.csp_code IS NOT NULL AND f.location_precision = 'point'
        AND f.time_precision IN ('minute', 'day')
        AND f.latitude IS NOT NULL AND f.longitude IS NOT NULL""")
    frames = []
    for (csp, theme), group in events.groupby(["csp_code", "theme"], sort=True):
        if len(group) < min_events:
            continue
        x, y = to_british_grid(longitude=group["longitude"].to_numpy(), latitude=group["latitude"].to_numpy())
        table = knox_test(pd.DataFrame({"x": x, "y": y, "date": group["event_date"].to_numpy()}),
                          space_bands=space_bands, time_bands=time_bands, permutations=permutations,
                          seed=seed)
        frames.append(table.assign(csp_code=csp, theme=theme, events=len(group),
                                   datasets=", ".join(sorted(group["dataset"].unique()))))
    if not frames:
        return pd.DataFrame(columns=KNOX_COLUMNS)
    table = pd.concat(frames, ignore_index=True)
    table["q_value"] = bh_adjust(table["p_value"].to_numpy())
    table = near_repeat_claims(table)
    table = table.assign(permutations=permutations, window_start=start.date(), window_end=end.date())
    return table[KNOX_COLUMNS]
