"""Cross-agency pictures: what several partners' returns say together about violence,
alcohol-related harm, road danger and young people, per CSP, last 12 months against the 12
before (the rolling 12-month windows of csp.analysis.change).

Each picture is a set of measures, one row per measure, each from one source and never added
across sources: an assault can be a police crime, an ambulance call-out, an A&E attendance and
an admission at once, and the same person's admission is in dataset 9 and perhaps 10
(registry notes). Each row carries the exact conditional Poisson p-value of the change
(csp.analysis.change) and the percent change only where the previous 12 months hold at least
20 events.

Measures (codes as the warehouse holds them, docs/warehouse.md):

- violence: police 'Violence and sexual offences' (all; and in night-time-economy hours),
  assault admissions (ICD-10 X85-Y09 external cause), ambulance call-outs whose category is an
  assault or a stabbing, ED assault attendances (Cardiff model data, where supplied), and the
  night-time-economy cluster (below).
- alcohol-related harm: admissions coded F10, T51, Y90 or Y91 (each, and together: a spell
  is counted once, under the code that classified it), with police violence in
  night-time-economy hours.
- road danger: killed or seriously injured casualties, adults and children (0-15) as reported,
  and all KSI on the adjusted severity (DfT's severity adjustment for injury-based reporting)
  where the collision rows carry it, falling back to the reported severity row by row; the
  note says which rows used which. Adjusted figures are estimates, not counts, so their
  p-value is the normal approximation of the square-root Z (Wheeler 2016), not the exact test.
- young people: school exclusions (all, permanent, for physical assault) and truancy
  incidents reported to police. ASB involving young people cannot be told apart: neither the
  police incident categories (NSIR) nor the council ASB returns record the age of those
  involved, and the table says so rather than guessing.

A source with no rows in either window gets its row with empty counts and a note naming why
(not held, or not received), from marts.compliance_matrix.

Night-time-economy cluster (csp.analysis.nte): the LSOAs whose share of police violence in
night-time-economy hours is significantly above the area's, and the outward postcodes whose
assault admissions are a significantly larger share of their CSP-coded admissions than the
area's. Both agencies' places are listed in ``analysis.nte_places``; the picture gets one
row per agency naming them.
"""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import pandas as pd
import sqlalchemy as sa
from scipy.stats import norm
from sqlalchemy.engine import Connection

from csp.analysis import change, nte
from csp.analysis.nte import ASSAULT_BLOCKS, VIOLENCE_CRIME
from csp.analysis.periods import rolling_windows

COLUMNS = ["csp_code", "picture", "measure", "source_dataset", "current_12m", "previous_12m",
           "change_pct", "p_value", "note"]
ALCOHOL_BLOCKS = ("F10", "T51", "Y90", "Y91")
AMBULANCE_VIOLENCE = ("Assault", "Stab")
ASSAULT_EXCLUSION_CODES = ("PP", "PA")  # physical assault against a pupil / an adult
NOT_IDENTIFIABLE = ("not identifiable: police incident categories (NSIR) and council ASB returns "
                    "do not record the age of those involved")


@dataclass(frozen=True)
class Measure:
    picture: str
    measure: str
    dataset: str
    selects: Callable[[pd.DataFrame], pd.Series]  # rows of the event counts that count
    note: str = ""


def _code_block(frame: pd.DataFrame) -> pd.Series:
    return frame["category_code"].fillna("").str.upper().str.slice(0, 3)


MEASURES = [
    Measure("violence", "police recorded violence and sexual offences", "police_crimes",
            lambda f: f["category"].eq(VIOLENCE_CRIME)),
    Measure("violence", "police recorded violence in night-time-economy hours", "police_crimes",
            lambda f: f["category"].eq(VIOLENCE_CRIME) & f["night_time_economy"].eq(True),
            "Fri/Sat nights 20:00-05:59; rows timed to the minute only"),
    Measure("violence", "assault admissions (X85-Y09)", "hospital_admissions",
            lambda f: _code_block(f).isin(ASSAULT_BLOCKS),
            "spells; includes the domestic-abuse admissions of dataset 10"),
    Measure("violence", "ambulance call-outs to assaults", "ambulance_callouts",
            lambda f: f["category"].fillna("").str.startswith(AMBULANCE_VIOLENCE)),
    Measure("violence", "emergency department assault attendances", "ed_assault_attendances",
            lambda f: pd.Series(True, index=f.index), "overlaps assault admissions"),
    Measure("alcohol", "admissions F10, T51, Y90, Y91", "hospital_admissions",
            lambda f: _code_block(f).isin(ALCOHOL_BLOCKS),
            "each spell once, under the code that classified it"),
    *[Measure("alcohol", f"admissions {block}", "hospital_admissions",
              lambda f, block=block: _code_block(f).eq(block)) for block in ALCOHOL_BLOCKS],
    Measure("alcohol", "night-time-economy violence (police)", "police_crimes",
            lambda f: f["category"].eq(VIOLENCE_CRIME) & f["night_time_economy"].eq(True),
            "Fri/Sat nights 20:00-05:59; rows timed to the minute only"),
    Measure("young_people", "school exclusions (fixed-term and permanent)", "school_exclusions",
            lambda f: pd.Series(True, index=f.index)),
    Measure("young_people", "permanent exclusions", "school_exclusions",
            lambda f: f["exclusion_type"].eq("permanent")),
    Measure("young_people", "exclusions for physical assault", "school_exclusions",
            lambda f: f["category_code"].isin(ASSAULT_EXCLUSION_CODES),
            "reasons PP and PA (against a pupil, against an adult)"),
    Measure("young_people", "truancy incidents reported to police", "police_incidents",
            lambda f: f["category"].eq("Truancy")),
]


def event_counts(conn: Connection, reference_month) -> pd.DataFrame:
    """In-area events of the cross-agency sources in the two windows, by CSP, dataset,
    category, code, night-time economy, exclusion type and period."""
    (cur_start, cur_end), (prev_start, _) = rolling_windows(reference_month)
    datasets = sorted({m.dataset for m in MEASURES})
    return pd.read_sql(sa.text("""
        SELECT f.csp_code, f.dataset, f.category,
               CASE WHEN f.dataset IN ('hospital_admissions', 'school_exclusions')
                    THEN f.category_code END AS category_code,
               f.night_time_economy, x.exclusion_type,
               CASE WHEN f.event_date >= :cur_start THEN 'current' ELSE 'previous' END AS period,
               COUNT(*) AS events
        FROM core.fact_event f
        LEFT JOIN staging.school_exclusions x
               ON f.dataset = 'school_exclusions' AND x.return_id = f.return_id
              AND x.source_line = f.source_line
        WHERE f.area_status = 'in_area' AND f.dataset IN :datasets
          AND f.event_date BETWEEN :prev_start AND :cur_end
        GROUP BY 1, 2, 3, 4, 5, 6, 7
    """).bindparams(sa.bindparam("datasets", expanding=True)), conn,
        params={"cur_start": cur_start.date(), "cur_end": cur_end.date(),
                "prev_start": prev_start.date(), "datasets": datasets})


def ksi_counts(conn: Connection, reference_month) -> pd.DataFrame:
    """Killed and seriously injured casualties per CSP and period, reported and adjusted."""
    (cur_start, cur_end), (prev_start, _) = rolling_windows(reference_month)
    return pd.read_sql(sa.text("""
        SELECT f.csp_code,
               CASE WHEN f.event_date >= :cur_start THEN 'current' ELSE 'previous' END AS period,
               SUM(COALESCE(r.killed_adults, 0) + COALESCE(r.serious_adults, 0)) AS ksi_adults,
               SUM(COALESCE(r.killed_children, 0) + COALESCE(r.serious_children, 0)) AS ksi_children,
               SUM(COALESCE(r.killed_adults, 0) + COALESCE(r.killed_children, 0)
                   + COALESCE(r.serious_adults, 0) + COALESCE(r.serious_children, 0)) AS ksi_reported,
               SUM(COALESCE(r.killed_adults, 0) + COALESCE(r.killed_children, 0)
                   + COALESCE(r.adjusted_serious,
                              COALESCE(r.serious_adults, 0) + COALESCE(r.serious_children, 0))) AS ksi_adjusted,
               SUM(CASE WHEN r.adjusted_serious IS NULL THEN 0 ELSE 1 END) AS adjusted_rows,
               COUNT(*) AS collisions
        FROM core.fact_event f
        JOIN staging.road_collisions r ON r.return_id = f.return_id AND r.source_line = f.source_line
        WHERE f.dataset = 'road_collisions' AND f.area_status = 'in_area'
          AND f.event_date BETWEEN :prev_start AND :cur_end
        GROUP BY 1, 2
    """), conn, params={"cur_start": cur_start.date(), "cur_end": cur_end.date(),
                        "prev_start": prev_start.date()})


def source_states(conn: Connection, reference_month) -> dict[str, str]:
    """dataset -> why a source has no rows: 'not held', or the return states of the window."""
    from csp.quarters import Quarter

    (_, cur_end), (prev_start, _) = rolling_windows(reference_month)
    states = pd.read_sql(sa.text("SELECT DISTINCT dataset, quarter, state FROM marts.compliance_matrix"), conn)
    starts = pd.to_datetime([Quarter.parse(q).start for q in states["quarter"]])
    states = states[(starts >= prev_start) & (starts <= cur_end)]
    notes = {}
    for dataset, rows in states.groupby("dataset"):
        kinds = set(rows["state"])
        notes[dataset] = "not held by the authority" if kinds == {"not_held"} else (
            "no records in these 24 months (returns: " + ", ".join(sorted(kinds)) + ")")
    return notes


def compare(current, previous) -> tuple[float, float]:
    """(change_pct, p_value) for two counts: percent only on a base of 20 or more."""
    pct = 100.0 * (current - previous) / previous if previous >= change.DEFAULT_MIN_BASE else np.nan
    if float(current).is_integer() and float(previous).is_integer():
        p = float(change.poisson_conditional_p([current], [previous])[0])
    else:  # adjusted (fractional) casualties: square-root Z, normal approximation
        p = float(2 * norm.sf(abs(change.sqrt_z([current], [previous])[0])))
    return pct, p


def _row(csp, picture, measure, dataset, current, previous, note) -> dict:
    pct, p = compare(current, previous)
    return {"csp_code": csp, "picture": picture, "measure": measure, "source_dataset": dataset,
            "current_12m": float(current), "previous_12m": float(previous), "change_pct": pct,
            "p_value": p, "note": note}


def _empty_row(csp, picture, measure, dataset, note) -> dict:
    return {"csp_code": csp, "picture": picture, "measure": measure, "source_dataset": dataset,
            "current_12m": np.nan, "previous_12m": np.nan, "change_pct": np.nan,
            "p_value": np.nan, "note": note}


def measure_rows(counts: pd.DataFrame, csps, absent: dict[str, str]) -> list[dict]:
    rows = []
    present = set(counts["dataset"])
    for m in MEASURES:
        if m.dataset not in present:
            reason = absent.get(m.dataset, "no records in these 24 months")
            rows += [_empty_row(csp, m.picture, m.measure, m.dataset, reason) for csp in csps]
            continue
        chosen = counts[counts["dataset"].eq(m.dataset)]
        chosen = chosen[m.selects(chosen).fillna(False).astype(bool)]
        sums = chosen.pivot_table(index="csp_code", columns="period", values="events",
                                  aggfunc="sum", fill_value=0)
        for csp in csps:
            cur = sums.at[csp, "current"] if csp in sums.index and "current" in sums else 0
            prev = sums.at[csp, "previous"] if csp in sums.index and "previous" in sums else 0
            rows.append(_row(csp, m.picture, m.measure, m.dataset, cur, prev, m.note))
    for csp in csps:
        rows.append(_empty_row(csp, "young_people", "ASB involving young people", "police_incidents",
                               NOT_IDENTIFIABLE))
    return rows


def road_rows(ksi: pd.DataFrame, csps, absent: dict[str, str]) -> list[dict]:
    measures = [("KSI casualties, adults (reported severity)", "ksi_adults"),
                ("KSI casualties, children 0-15 (reported severity)", "ksi_children")]
    if ksi.empty:
        reason = absent.get("road_collisions", "no records in these 24 months")
        return [_empty_row(csp, "road_danger", name, "road_collisions", reason)
                for csp in csps for name in [*(n for n, _ in measures), "KSI casualties (adjusted severity)"]]
    table = ksi.set_index(["csp_code", "period"])
    rows = []
    for csp in csps:
        def value(column, period, csp=csp):
            return float(table[column].get((csp, period), 0) or 0)
        for name, column in measures:
            rows.append(_row(csp, "road_danger", name, "road_collisions", value(column, "current"),
                             value(column, "previous"), "age split as reported: the adjustment is not split by age"))
        adjusted = value("adjusted_rows", "current") + value("adjusted_rows", "previous")
        collisions = value("collisions", "current") + value("collisions", "previous")
        if adjusted == 0:
            name, column = "KSI casualties (reported severity)", "ksi_reported"
            note = "no adjusted severity in these returns: reported severity used"
        else:
            name, column = "KSI casualties (adjusted severity)", "ksi_adjusted"
            coverage = (f"all {collisions:.0f} collisions" if adjusted == collisions else
                        f"{adjusted:.0f} of {collisions:.0f} collisions, reported severity on the rest")
            note = f"adjusted severity on {coverage}; p-value by square-root Z (normal approximation)"
        rows.append(_row(csp, "road_danger", name, "road_collisions",
                         round(value(column, "current"), 6), round(value(column, "previous"), 6), note))
    return rows


def cluster_rows(places: pd.DataFrame, counts_by_place: pd.DataFrame, csps) -> list[dict]:
    """One row per CSP and agency naming the night-time-economy cluster's places, with their
    events now and a year earlier."""
    rows = []
    if places.empty:  # too little data to look for a cluster (a first quarter)
        return rows
    for (csp, dataset), found in places[places["in_cluster"]].groupby(["csp_code", "source_dataset"]):
        if csp not in csps:
            continue
        spec = nte.SOURCES[dataset]
        here = counts_by_place[(counts_by_place["source_dataset"] == dataset)
                               & counts_by_place["place"].isin(found["place"])]
        cur = here.loc[here["period"] == "current", "events"].sum()
        prev = here.loc[here["period"] == "previous", "events"].sum()
        share, area = found["events"].sum() / found["base_events"].sum(), found["area_share"].iloc[0]
        note = (f"{spec.place_type} {', '.join(sorted(found['place']))}: {spec.share_name} "
                f"{100 * share:.0f} % against {100 * area:.0f} % area-wide")
        rows.append(_row(csp, "violence", f"night-time-economy cluster: {spec.measure}", dataset,
                         cur, prev, note))
    return rows


def cross_agency_table(conn: Connection, reference_month, places: pd.DataFrame | None = None) -> pd.DataFrame:
    csps = sorted(pd.read_sql(sa.text(
        "SELECT DISTINCT csp_code FROM core.dim_geography WHERE in_area AND csp_code IS NOT NULL"), conn)["csp_code"])
    absent = source_states(conn, reference_month)
    rows = measure_rows(event_counts(conn, reference_month), csps, absent)
    rows += road_rows(ksi_counts(conn, reference_month), csps, absent)
    if places is None:
        places = nte.nte_places(conn, reference_month)
    rows += cluster_rows(places, nte.place_counts(conn, reference_month), csps)
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.sort_values(["csp_code", "picture", "measure"], ignore_index=True)
