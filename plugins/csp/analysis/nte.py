"""The night-time-economy cluster, found in two agencies' data independently.

Police: an LSOA belongs to the cluster when its share of police-recorded violence falling in
night-time-economy hours (Fri/Sat nights 20:00-05:59, ``core.fact_event.night_time_economy``;
rows timed to the minute only) is significantly above the share in the rest of the area.
Health: admissions carry only an outward postcode and a date, so no hour; an outward code
belongs to the cluster when assault admissions (X85-Y09) are a significantly larger share of
its CSP-coded admissions (X85-Y09, F10-F19, T51, Y90, Y91) than in the rest of the area, a
proportionate-morbidity comparison that needs no population for the outward code (the
warehouse has none: docs/warehouse.md, the outward-code rule).

Test: places differ in their share by more than binomial chance (a share of night-time
violence is not the same in every residential LSOA), so each place's count is beta-binomial
about the area's share ``p0``: ``Var = n p0 (1 - p0) (1 + (n - 1) rho)``, with the
intra-place correlation ``rho`` estimated by moments over every place of the source (the
median Pearson ratio, over places with at least 20 base events, so a real cluster does not
widen its own yardstick; Williams 1982, 'Extra-binomial variation in logistic linear models',
Applied Statistics 31). The one-sided p-value is the beta-binomial upper tail; with ``rho``
0 (or too few places to estimate it) it is the one-sided Fisher exact test of the place
against the rest of the area (``fisher_p``, always kept: identical to
``scipy.stats.fisher_exact(..., alternative='greater')``). Benjamini-Hochberg q-values across
the places of each source; a place is in the cluster when ``q < 0.05``. Window: the last 12
months (rolling_12m current window). Places are ranked within their CSP but tested against
the whole area, since the night-time pattern is a town-centre one wherever it falls.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.optimize import brentq
from scipy.stats import betabinom, chi2, hypergeom
from sqlalchemy.engine import Connection

from csp.analysis.fdr import bh_adjust
from csp.analysis.periods import rolling_windows

ALPHA = 0.05
VIOLENCE_CRIME = "Violence and sexual offences"
ASSAULT_BLOCKS = tuple(f"X{n}" for n in range(85, 100)) + tuple(f"Y0{n}" for n in range(10))
COLUMNS = ["csp_code", "source_dataset", "place_type", "place", "events", "base_events", "share",
           "rest_share", "area_share", "ratio", "p_value", "q_value", "in_cluster", "fisher_p",
           "share_dispersion"]


@dataclass(frozen=True)
class Source:
    place_type: str
    measure: str  # what ``events`` counts
    share_name: str  # what events / base_events is


SOURCES = {
    "police_crimes": Source("LSOA", "police violence in night-time-economy hours",
                            "night-time share of violence"),
    "hospital_admissions": Source("outward code", "assault admissions (X85-Y09)",
                                  "assault share of CSP-coded admissions"),
}


def is_assault(codes: pd.Series) -> pd.Series:
    return codes.fillna("").str.upper().str.slice(0, 3).isin(ASSAULT_BLOCKS)


def share_dispersion(k: np.ndarray, n: np.ndarray, p0: float, *, min_base: int = 20) -> float:
    """rho of the beta-binomial: median over places with ``min_base`` or more base events of
    (k - n p0)^2 / (n p0 (1 - p0) (1 + (n - 1) rho)) equal to the median of chi-square(1)."""
    use = n >= min_base
    if use.sum() < 10 or not 0 < p0 < 1:
        return 0.0
    r2 = (k[use] - n[use] * p0) ** 2 / (n[use] * p0 * (1 - p0))
    target = chi2.median(1)

    def excess(rho):
        return float(np.median(r2 / (1 + (n[use] - 1) * rho))) - target

    if excess(0.0) <= 0:
        return 0.0
    return float(brentq(excess, 0.0, 0.99, xtol=1e-12)) if excess(0.99) < 0 else 0.99


def raised_share(places: pd.DataFrame) -> pd.DataFrame:
    """``places`` (csp_code, place, events, base_events; events <= base_events) with each
    place's share tested against the area's: share, rest_share, area_share, ratio, p_value,
    q_value, in_cluster, fisher_p, share_dispersion."""
    k = places["events"].to_numpy(dtype=np.int64)
    n = places["base_events"].to_numpy(dtype=np.int64)
    if np.any(k > n) or np.any(k < 0):
        raise ValueError("events must lie between 0 and base_events")
    total_k, total_n = k.sum(), n.sum()
    p0 = total_k / total_n if total_n else 0.0
    # Fisher's one-sided test: P(X >= k), X ~ Hypergeometric(total_n, total_k, n)
    fisher = hypergeom.sf(k - 1, total_n, total_k, n)
    rho = share_dispersion(k, n, p0)
    if 0 < p0 < 1 and rho > 0:
        a, b = p0 * (1 - rho) / rho, (1 - p0) * (1 - rho) / rho
        p = betabinom.sf(k - 1, n, a, b)
    else:  # no variation beyond binomial: the exact conditional test
        p = fisher
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, k / n, np.nan)
        rest = np.where(total_n - n > 0, (total_k - k) / (total_n - n), np.nan)
        ratio = share / rest
    q = bh_adjust(p)
    return places.assign(share=share, rest_share=rest,
                         area_share=total_k / total_n if total_n else np.nan,
                         ratio=ratio, p_value=p, q_value=q, in_cluster=(q < ALPHA) & (share > rest),
                         fisher_p=fisher, share_dispersion=rho)


def police_places(conn: Connection, start, end) -> pd.DataFrame:
    return pd.read_sql(sa.text("""
        SELECT csp_code, lsoa11_code AS place,
               SUM(CASE WHEN night_time_economy THEN 1 ELSE 0 END) AS events, COUNT(*) AS base_events
        FROM core.fact_event
        WHERE dataset = 'police_crimes' AND category = :violence AND area_status = 'in_area'
          AND night_time_economy IS NOT NULL AND lsoa11_code IS NOT NULL
          AND event_date BETWEEN :start AND :end
        GROUP BY 1, 2
    """), conn, params={"violence": VIOLENCE_CRIME, "start": start.date(), "end": end.date()})


def health_places(conn: Connection, start, end) -> pd.DataFrame:
    codes = pd.read_sql(sa.text("""
        SELECT csp_code, outward_postcode AS place, category_code, COUNT(*) AS admissions
        FROM core.fact_event
        WHERE dataset = 'hospital_admissions' AND area_status = 'in_area'
          AND outward_postcode IS NOT NULL AND event_date BETWEEN :start AND :end
        GROUP BY 1, 2, 3
    """), conn, params={"start": start.date(), "end": end.date()})
    codes = codes.assign(events=np.where(is_assault(codes["category_code"]), codes["admissions"], 0))
    return codes.groupby(["csp_code", "place"], as_index=False).agg(
        events=("events", "sum"), base_events=("admissions", "sum"))


def nte_places(conn: Connection, reference_month) -> pd.DataFrame:
    """Every place of both sources with its test; ``in_cluster`` marks the cluster."""
    (start, end), _ = rolling_windows(reference_month)
    frames = []
    for dataset, reader in (("police_crimes", police_places), ("hospital_admissions", health_places)):
        places = reader(conn, start, end)
        if places.empty:
            continue
        tested = raised_share(places.sort_values(["csp_code", "place"], ignore_index=True))
        frames.append(tested.assign(source_dataset=dataset, place_type=SOURCES[dataset].place_type))
    if not frames:
        return pd.DataFrame(columns=[*COLUMNS, "rank_in_csp"])
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    table["rank_in_csp"] = table.groupby(["source_dataset", "csp_code"])["p_value"].rank(method="min")
    return table.sort_values(["source_dataset", "csp_code", "rank_in_csp", "place"], ignore_index=True)


def place_counts(conn: Connection, reference_month) -> pd.DataFrame:
    """source_dataset, place, period (current / previous), events: what the cluster rows sum."""
    (cur_start, cur_end), (prev_start, _) = rolling_windows(reference_month)
    params = {"cur_start": cur_start.date(), "cur_end": cur_end.date(), "prev_start": prev_start.date()}
    period = "CASE WHEN event_date >= :cur_start THEN 'current' ELSE 'previous' END"
    police = pd.read_sql(sa.text(f"""
        SELECT 'police_crimes' AS source_dataset, lsoa11_code AS place, {period} AS period,
               COUNT(*) AS events
        FROM core.fact_event
        WHERE dataset = 'police_crimes' AND category = :violence AND area_status = 'in_area'
          AND night_time_economy AND event_date BETWEEN :prev_start AND :cur_end
        GROUP BY 1, 2, 3
    """), conn, params={**params, "violence": VIOLENCE_CRIME})
    health = pd.read_sql(sa.text(f"""
        SELECT outward_postcode AS place, category_code, {period} AS period, COUNT(*) AS events
        FROM core.fact_event
        WHERE dataset = 'hospital_admissions' AND area_status = 'in_area'
          AND event_date BETWEEN :prev_start AND :cur_end
        GROUP BY 1, 2, 3
    """), conn, params=params)
    health = (health[is_assault(health["category_code"])].groupby(["place", "period"], as_index=False)["events"]
              .sum().assign(source_dataset="hospital_admissions"))
    return pd.concat([police, health], ignore_index=True)[["source_dataset", "place", "period", "events"]]
