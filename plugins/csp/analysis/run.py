"""The analysis of the reportable period, over the marts, stored in the warehouse's
``analysis`` schema where the reports read it (the warehouse DAG runs it after the models).

Reference month: the last month of the latest reportable quarter (csp.reports.readiness), so
analysis and reports describe the same year. Tables (one row per the grain named):

- ``analysis.change``: level (theme, category) x comparison (rolling_12m, ytd) x CSP x theme
  or category: exact conditional Poisson test, BH q within each level and comparison.
- ``analysis.trend``: level x CSP x theme or category: the year-on-year trend score test over
  up to three complete years (seasonality allowed for), BH q within each level.
- ``analysis.exceedances``: CSP x theme x month, the last six months of each series judged
  against the months before them, every chart one family (or one row saying why refused).
- ``analysis.seasonal_index``: theme x month of year, over the whole area, with its test.
- ``analysis.seasonality``: level x CSP x theme or category x month of year: each
  partnership's tested month profile.
- ``analysis.hotspots``: theme x LSOA: Gi* (ranking) over the area's LSOAs on 12-month rates
  per 1,000 residents (neighbours: see neighbour_weights), the empirical-Bayes excess-risk
  test that decides ``hot``, ranked within each CSP, with the calibrated class across the
  years available.
- ``analysis.harm``: CSP x theme: events and Crime Severity Score-weighted harm, 12 months.
- ``analysis.displacement``: the configured initiative's WDQ and total net effect.
- ``analysis.priorities``: CSP x theme: the priority matrix (volume, harm, trend, concern,
  capacity), its scores, rank, and status against last year's plan (csp.analysis.priority_inputs).
- ``analysis.priority_audit``: CSP x theme x factor: raw value, band, score, weight, contribution.
- ``analysis.cross_agency``: CSP x picture x measure: violence, alcohol, road danger and young
  people, 12 months against the 12 before (csp.analysis.cross_agency).
- ``analysis.nte_places``: source x place (LSOA or outward code): the night-time-economy
  cluster test (csp.analysis.nte).
- ``analysis.plan_progress``: plan target x quarter after the baseline: rolling 4-quarter
  events, change and quarterly / 6-monthly / annual status (csp.analysis.plan_progress).
- ``analysis.repeat_locations`` and ``analysis.near_repeats``: locations hit again within the
  12 months, and the Knox near-repeat test where time and place are precise
  (csp.analysis.locations).

On PostgreSQL the grants and row-level policies are re-applied after the tables are replaced
(csp.warehouse.security).

Each table is one entry of ``run_all``'s ``tables``; a further analysis adds its own entry.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.spatial import cKDTree
from sqlalchemy.engine import Connection

from csp.analysis import change, control, hotspots, nte, schemas, seasonality, trend, wdq
from csp.analysis import locations as location_analysis
from csp.analysis.cross_agency import cross_agency_table
from csp.analysis.plan_progress import ksi_by_month, plan_progress_table
from csp.analysis.priority_inputs import PLAN_FILE, priorities_from, read_partnership_file
from csp.boundaries import detailed_lsoa_files
from csp.config import Settings
from csp.geometry import polygons_from_geojson, to_british_grid
from csp.warehouse.engine import make_engine, replace_table
from csp.warehouse.period import UNDECIDED, Period, Undecided, reportable_period

log = logging.getLogger(__name__)
EXCEEDANCE_MONTHS = 6  # months of each control chart kept: the tactical picture
INITIATIVE_FILE = "initiative_areas.csv"


@dataclass(frozen=True)
class AnalysisSummary:
    reference_month: pd.Timestamp | None
    rows: dict[str, int]  # analysis table -> rows written


def monthly_by_csp(conn: Connection) -> pd.DataFrame:
    """Events and harm per month, CSP, theme and category, inside the area."""
    return pd.read_sql(sa.text("""
        SELECT month, csp_code, theme, category, CAST(SUM(events) AS BIGINT) AS events, SUM(harm) AS harm
        FROM marts.monthly_counts
        WHERE area_status = 'in_area'
        GROUP BY month, csp_code, theme, category
    """), conn, parse_dates=["month"])


def monthly_by_dataset(conn: Connection) -> pd.DataFrame:
    """Events per month, CSP, dataset, theme and category, inside the area (plan measures
    count some sources of a theme and not others)."""
    return pd.read_sql(sa.text("""
        SELECT month, csp_code, dataset, theme, category, CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE area_status = 'in_area'
        GROUP BY month, csp_code, dataset, theme, category
    """), conn, parse_dates=["month"])


def by_theme(monthly: pd.DataFrame) -> pd.DataFrame:
    return monthly.groupby(["month", "csp_code", "theme"], as_index=False)[["events", "harm"]].sum()


def by_level(test, monthly: pd.DataFrame, reference_month, keys: list[str]) -> pd.DataFrame:
    """``test`` (a per-area-and-theme function of csp.analysis) run per CSP x theme and again
    per CSP x category (a crime type's rise can drown in its theme), each level its own FDR
    family; categories keep their theme."""
    themes = test(monthly, reference_month, area_col="csp_code").assign(level="theme", category=None)
    categories = test(monthly, reference_month, area_col="csp_code", theme_col="category")
    category_theme = monthly[["category", "theme"]].drop_duplicates("category").set_index("category")["theme"]
    categories = categories.rename(columns={"theme": "category"}).assign(
        level="category", theme=lambda f: f["category"].map(category_theme))
    result = pd.concat([themes, categories], ignore_index=True).rename(columns={"area": "csp_code"})
    first = ["level", *keys, "csp_code", "theme", "category"]
    return result[[*first, *[c for c in result.columns if c not in first]]]


def change_table(monthly: pd.DataFrame, reference_month) -> pd.DataFrame:
    """Rolling 12 months and year to date against a year earlier (csp.analysis.change). Empty
    until the data reach back the 24 months a year-on-year comparison needs."""
    earliest_needed = change.windows(reference_month)["rolling_12m"][2]
    if monthly.empty or monthly["month"].min() > earliest_needed:
        log.info("analysis: no change tests before %s: the data start %s", reference_month.date(),
                 None if monthly.empty else monthly["month"].min().date())
        return pd.DataFrame(columns=["level", "comparison", "csp_code", "theme", "category"])
    return by_level(change.compare_periods, monthly, reference_month, ["comparison"])


def trend_table(monthly: pd.DataFrame, reference_month) -> pd.DataFrame:
    """The year-on-year trend (csp.analysis.trend). Empty until two complete years are in."""
    if monthly.empty or monthly["month"].min() > reference_month - pd.DateOffset(months=12 * trend.MIN_YEARS - 1):
        return pd.DataFrame(columns=["level", "csp_code", "theme", "category"])
    return by_level(trend.trend_test, monthly, reference_month, [])


def exceedance_table(monthly: pd.DataFrame, reference_month) -> pd.DataFrame:
    """The last six months of every CSP x theme series judged against the months before them,
    all charts one family (csp.analysis.control.exceedance_table)."""
    return control.exceedance_table(monthly[["month", "csp_code", "theme", "events"]], reference_month,
                                    judged_months=EXCEEDANCE_MONTHS)


def seasonal_index_table(area_monthly: pd.DataFrame, reference_month) -> pd.DataFrame:
    """Each theme's month profile over the whole area, with its test (one family)."""
    history = area_monthly[area_monthly["month"] <= reference_month]
    if history.empty:
        return pd.DataFrame(columns=["theme", *seasonality.PROFILE_COLUMNS[2:]])
    return seasonality.seasonal_profiles(history.assign(area="area"), area_col="area").drop(columns="area")


def seasonality_table(monthly: pd.DataFrame, reference_month) -> pd.DataFrame:
    """Each CSP's month profile per theme and per category, tested (csp.analysis.seasonality):
    level, csp_code, theme, category, month_of_year, index and the profile test."""
    history = monthly[monthly["month"] <= reference_month]
    if history.empty:
        return pd.DataFrame(columns=["level", "csp_code", "theme", "category"])
    coverage = (history["month"].min(), reference_month)
    themes = seasonality.seasonal_profiles(history, area_col="csp_code", coverage=coverage).assign(
        level="theme", category=None)
    categories = seasonality.seasonal_profiles(history, area_col="csp_code", theme_col="category", coverage=coverage)
    category_theme = history[["category", "theme"]].drop_duplicates("category").set_index("category")["theme"]
    categories = categories.rename(columns={"theme": "category"}).assign(
        level="category", theme=lambda f: f["category"].map(category_theme))
    table = pd.concat([themes, categories], ignore_index=True).rename(columns={"area": "csp_code"})
    first = ["level", "csp_code", "theme", "category"]
    return table[[*first, *[c for c in table.columns if c not in first]]]


NEIGHBOUR_BAND_METRES = 1000.0


def neighbour_weights(lsoa_codes, longitude, latitude, reference_dir):
    """Who neighbours whom, for Gi*: queen contiguity between LSOAs of the detailed district
    boundary files (Leicester; csp.boundaries), a distance band on population-weighted centroids (1 km,
    British National Grid) for every other pair, and always each LSOA's nearest centroid, so a
    large rural LSOA is never its own only neighbour. A band tight enough for town LSOAs keeps
    a compact cluster from being averaged away among dozens of neighbours."""
    import json

    from scipy import sparse

    codes = np.asarray(lsoa_codes)
    x, y = to_british_grid(longitude=longitude, latitude=latitude)
    points = np.column_stack([x, y])
    _, nearest = cKDTree(points).query(points, k=2)
    n = len(codes)
    weights = hotspots.distance_band_weights(x, y, NEIGHBOUR_BAND_METRES) + sparse.csr_matrix(
        (np.ones(n), (np.arange(n), nearest[:, 1])), shape=(n, n))
    position = {code: i for i, code in enumerate(codes)}
    for path in detailed_lsoa_files(reference_dir):
        ids, geometries = polygons_from_geojson(json.loads(path.read_text()), "LSOA11CD")
        keep = [k for k, code in enumerate(ids) if code in position]
        if not keep:
            continue
        index = np.array([position[ids[k]] for k in keep])
        queen = hotspots.queen_weights([geometries[k] for k in keep]).tocoo()
        # Within the polygons' area, contiguity replaces the band.
        inside = sparse.csr_matrix((np.ones(len(index)), (index, index)), shape=(n, n))
        weights = weights - inside @ weights @ inside + sparse.csr_matrix(
            (queen.data, (index[queen.row], index[queen.col])), shape=(n, n))
    weights = (weights + weights.T) > 0
    weights.setdiag(False)
    return sparse.csr_matrix(weights, dtype=float)


def hotspot_table(conn: Connection, reference_month, reference_dir) -> pd.DataFrame:
    rates = pd.read_sql(sa.text("""
        SELECT r.period_end, r.area_code AS lsoa11_code, r.csp_code, r.theme, r.events,
               r.population, r.per_1000_residents, g.longitude, g.latitude
        FROM marts.area_rates r
        JOIN core.dim_geography g ON g.lsoa11_code = r.area_code
        WHERE r.area_type = 'lsoa' AND r.complete_window AND r.population > 0
          AND g.longitude IS NOT NULL
    """), conn, parse_dates=["period_end"])
    # The same 12-month window in each year the data cover: this year's and earlier ones.
    same_window = (rates["period_end"].dt.month == reference_month.month) & (rates["period_end"] <= reference_month)
    rates = rates[same_window]
    if rates.empty:
        return pd.DataFrame()
    units = rates[["lsoa11_code", "longitude", "latitude"]].drop_duplicates("lsoa11_code").sort_values("lsoa11_code")
    weights = neighbour_weights(units["lsoa11_code"].to_numpy(), units["longitude"].to_numpy(),
                                units["latitude"].to_numpy(), reference_dir)
    codes = units["lsoa11_code"].to_numpy()
    frames = []
    for theme, by_theme in rates.groupby("theme", sort=True):
        periods = sorted(by_theme["period_end"].unique())
        wide = {column: by_theme.pivot_table(index="lsoa11_code", columns="period_end", values=column, aggfunc="sum")
                .reindex(index=codes, columns=periods) for column in ("events", "population", "per_1000_residents")}
        events = wide["events"].fillna(0).to_numpy(dtype=float)
        population = wide["population"].ffill(axis=1).bfill(axis=1).fillna(0).to_numpy(dtype=float)
        csp = by_theme.drop_duplicates("lsoa11_code").set_index("lsoa11_code")["csp_code"].reindex(codes).to_numpy()
        csp = np.where(pd.isna(csp), "", csp)
        latest = periods[-1]
        gi = hotspots.getis_ord_gi_star(wide["per_1000_residents"][latest].fillna(0).to_numpy(), weights, ids=codes)
        classes = hotspots.hotspot_classes(events, population, csp, weights)
        test = classes["latest"]
        csp_rate = pd.Series(events[:, -1]).groupby(csp).sum() / pd.Series(population[:, -1]).groupby(csp).sum()
        frames.append(pd.DataFrame({
            "lsoa11_code": codes, "per_1000_residents": gi["value"], "n_neighbours": gi["n_neighbours"],
            "z": gi["z"], "p_value": test["p"], "q_value": test["q"], "hot": test["hot"], "cold": test["cold"],
            "rank": gi["rank"], "theme": theme, "period_end": latest, "csp_code": csp,
            "events": events[:, -1].astype(np.int64), "hot_years": classes["hot_years"], "years": classes["years"],
            "class": classes["class"], "expected": test["expected"], "rate_ratio": test["rate_ratio"],
            "smoothed_rate_ratio": test["smoothed_rate_ratio"],
            "partnership_per_1000": 1000 * csp_rate.reindex(csp).to_numpy(),
            "neighbourhood_events": test["neighbourhood_events"],
            "neighbourhood_expected": test["neighbourhood_expected"], "heterogeneity": test["kappa"],
            "hot_before": classes["hot_before"], "rise_q_value": classes["q_rise"],
        }))
    table = pd.concat(frames, ignore_index=True)
    table = table[table["csp_code"] != ""]
    # Gi* and the tests are computed over the whole area (neighbours cross CSP borders); each
    # partnership reads its own LSOAs in order.
    table["rank_in_csp"] = table.groupby(["theme", "csp_code"])["z"].rank(ascending=False, method="min")
    return table.reset_index(drop=True)


def year_dispersion(change: pd.DataFrame) -> float:
    """The median extra-Poisson variation of a CSP x category's 12-month total (the change
    tests' estimate), for counts a year apart that no family of their own exists for."""
    if change.empty or "dispersion" not in change:
        return 0.0
    rows = change[(change["level"] == "category") & (change["comparison"] == "rolling_12m")]
    return float(rows["dispersion"].median()) if len(rows) else 0.0


def harm_table(monthly: pd.DataFrame, reference_month) -> pd.DataFrame:
    start = reference_month - pd.DateOffset(months=11)
    window = monthly[monthly["month"].between(start, reference_month)]
    return window.groupby(["csp_code", "theme"], as_index=False).agg(events=("events", "sum"), harm=("harm", "sum"))


def displacement_table(settings: Settings, conn: Connection, reference_month, kappa: float = 0.0) -> pd.DataFrame:
    """Police crimes in the configured initiative, buffer and control areas, the 12 months
    before the initiative started against the 12 from its start (or as many as have passed);
    ``kappa``, the extra-Poisson variation of a year's total (the change tests' estimate), widens
    the intervals."""
    path = settings.partnership_dir / INITIATIVE_FILE
    if not path.exists():
        return pd.DataFrame()
    areas = pd.read_csv(path, dtype=str, parse_dates=["initiative_start"])
    start = areas["initiative_start"].min()
    months = min(12, (reference_month.year - start.year) * 12 + reference_month.month - start.month + 1)
    if months < 1:
        return pd.DataFrame()
    counts = pd.read_sql(sa.text("""
        SELECT month, lsoa11_code, CAST(SUM(events) AS BIGINT) AS events FROM marts.monthly_counts
        WHERE dataset = 'police_crimes' AND area_status = 'in_area' GROUP BY month, lsoa11_code
    """), conn, parse_dates=["month"])
    counts = counts.merge(areas[["area_role", "lsoa_code"]], left_on="lsoa11_code", right_on="lsoa_code")
    before = counts["month"].between(start - pd.DateOffset(months=months), start - pd.DateOffset(months=1))
    after = counts["month"].between(start, start + pd.DateOffset(months=months - 1))
    totals = {(role, when): counts[mask & counts["area_role"].eq(role)]["events"].sum()
              for role in ("initiative", "buffer", "control") for when, mask in (("before", before), ("after", after))}
    result = wdq.weighted_displacement(
        totals["initiative", "before"], totals["initiative", "after"], totals["buffer", "before"],
        totals["buffer", "after"], totals["control", "before"], totals["control", "after"], kappa=kappa)
    return result.assign(initiative_start=start.date(), months_compared=months, dataset="police_crimes")


def run_all(settings: Settings, *, locations: bool = True,
            period: Period | None | Undecided = UNDECIDED) -> AnalysisSummary:
    """Analyse the reportable period and replace the analysis tables. ``period``: the warehouse
    run's decision (csp.warehouse.period), decided here only when called on its own. The
    location analyses read every point-located event (Knox compares every pair within 400 m);
    the power tests, which analyse 40 synthetic partnerships and use none of their results,
    pass ``locations=False``."""
    engine = make_engine(settings.warehouse_url)
    with engine.connect() as conn:
        if period is UNDECIDED:
            period = reportable_period(conn)
        if period is None:
            log.info("analysis: no reportable quarter yet")
            return AnalysisSummary(None, {})
        reference_month = pd.Timestamp(period.last.months[-1])
        monthly = monthly_by_csp(conn)
        themes = by_theme(monthly)
        area_monthly = themes.groupby(["month", "theme"], as_index=False)["events"].sum()
        tables = {
            "change": change_table(monthly, reference_month),
            "trend": trend_table(monthly, reference_month),
            "exceedances": exceedance_table(themes, reference_month),
            "seasonal_index": seasonal_index_table(area_monthly, reference_month),
            "seasonality": seasonality_table(monthly, reference_month),
            "hotspots": hotspot_table(conn, reference_month, settings.reference_dir),
            "harm": harm_table(themes, reference_month),
        }
        tables["displacement"] = displacement_table(settings, conn, reference_month,
                                                    kappa=year_dispersion(tables["change"]))
        tables["priorities"], tables["priority_audit"] = priorities_from(
            settings, monthly, tables["change"], tables["harm"], reference_month, ksi_by_month(conn))
        tables["nte_places"] = nte.nte_places(conn, reference_month)
        tables["cross_agency"] = cross_agency_table(conn, reference_month, tables["nte_places"])
        plan = read_partnership_file(settings.partnership_dir, PLAN_FILE,
                                     ["csp_code", "priority_theme", "measure", "baseline_period", "target_change_pct"])
        tables["plan_progress"] = plan_progress_table(conn, plan, monthly_by_dataset(conn), reference_month)
        if locations:
            tables["repeat_locations"] = location_analysis.repeat_location_table(conn, reference_month)
            tables["near_repeats"] = location_analysis.knox_table(conn, reference_month)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS analysis")
        for name, frame in tables.items():
            frame, types = schemas.with_columns(name, frame)
            replace_table(conn, f"analysis.{name}", frame.assign(reference_month=reference_month.date()),
                          types={**(types or {}), "reference_month": schemas.DT})
        if conn.dialect.name == "postgresql":
            from csp.warehouse.security import apply_security

            # Replacing the tables dropped their grants and row-level policies: restore them
            # in the same transaction, so no analyst ever sees an unprotected table.
            apply_security(conn)
    return AnalysisSummary(reference_month, {name: len(frame) for name, frame in tables.items()})
