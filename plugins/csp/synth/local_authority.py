"""Local authority returns: STATS19 collisions and casualties (dataset 5), school exclusions
(6), racial incidents (7) and council ASB (8)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from csp.quarters import Quarter
from csp.registry import SOURCE_FORMATS
from csp.synth import events, places, timing
from csp.synth.context import Context
from csp.synth.csvfile import write_csv
from csp.synth.police import nsir_categories
from csp.synth.rates import CASUALTIES_PER_COLLISION, MONTHLY_RATES, PERMANENT_EXCLUSION_SHARE

COLLISION_HEAD = Path("road_collisions") / "dft-road-casualty-statistics-collision-2021.head.csv"
CASUALTY_HEAD = Path("road_collisions") / "dft-road-casualty-statistics-casualty-2021.head.csv"
STATS19_POLICE_FORCE = {"E23000021": "33"}  # STATS19 police_force code of Leicestershire
# Road, light and weather conditions come row-wise from the real DfT rows, so they stay
# consistent with each other.
COLLISION_CONTEXT = (
    "first_road_class", "first_road_number", "road_type", "speed_limit", "junction_detail_historic",
    "junction_detail", "junction_control", "second_road_class", "second_road_number",
    "pedestrian_crossing_human_control_historic", "pedestrian_crossing_physical_facilities_historic",
    "pedestrian_crossing", "light_conditions", "weather_conditions", "road_surface_conditions",
    "special_conditions_at_site", "carriageway_hazards_historic", "carriageway_hazards",
    "urban_or_rural_area", "did_police_officer_attend_scene_of_accident", "trunk_road_flag",
    "enhanced_severity_collision",
)
CASUALTY_CONTEXT = (
    "casualty_class", "pedestrian_location", "pedestrian_movement", "car_passenger",
    "bus_or_coach_passenger", "pedestrian_road_maintenance_worker", "casualty_type",
    "casualty_imd_decile", "enhanced_casualty_severity", "casualty_distance_banding",
)
CASUALTY_SEVERITY = pd.Series({1: 0.012, 2: 0.21, 3: 0.778})  # fatal, serious, slight
CHILD_SHARE, UNKNOWN_AGE_SHARE = 0.11, 0.01
AGE_BAND_EDGES = np.array([0, 6, 11, 16, 21, 26, 36, 46, 56, 66, 76])  # STATS19 bands 1..11
INJURY_BASED_SHARE = 0.85  # collisions reported through injury-based systems (CRASH)

EXCLUSION_REASONS = pd.Series({"PD": 34, "PP": 15, "VA": 11, "OT": 17, "PA": 5, "VP": 5, "DA": 3, "DM": 3, "BU": 1,
                               "TH": 1, "RA": 1, "SM": 1})
PUPIL_GENDER = pd.Series({"M": 72, "F": 27, "U": 1})
SCHOOL_KINDS = pd.Series({"Academy": 4, "Community College": 2, "High School": 2, "Primary School": 3,
                          "C of E Primary School": 1})
SCHOOLS_PER_10K_RESIDENTS = 0.8
RACIAL_INCIDENT_TYPES = pd.Series({"Verbal abuse": 45, "Physical assault": 12, "Damage to property": 12, "Graffiti": 8,
                                   "Written / online abuse": 15, "Other": 8})
RACIAL_INCIDENT_PLACES = pd.Series({"Street": 35, "Home": 20, "School": 12, "Shop / business premises": 12,
                                    "Public transport": 6, "Workplace": 8, "Online": 7})


def _stamp_parts(stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    day = pd.to_datetime(timing.date_text(stamps))
    # STATS19 day_of_week: 1 = Sunday ... 7 = Saturday.
    weekday = ((day.dayofweek.to_numpy() + 1) % 7 + 1).astype(str)
    return day.strftime("%d/%m/%Y").to_numpy(), weekday, timing.time_text(stamps)


def _casualty_ages(rng: np.random.Generator, n: int) -> np.ndarray:
    adult = np.minimum(16 + rng.gamma(2.0, 14.0, n).astype(int), 98)
    child = rng.integers(0, 16, n)
    kind = rng.random(n)
    return np.where(kind < UNKNOWN_AGE_SHARE, -1, np.where(kind < UNKNOWN_AGE_SHARE + CHILD_SHARE, child, adult))


def write_stats19(ctx: Context, quarter: Quarter) -> list[Path]:
    rng = ctx.rng("local_authority", "stats19", quarter.label)
    collisions = []
    for _, month in ctx.months(quarter):
        lsoa = events.draw_lsoas(rng, ctx.expected(MONTHLY_RATES["road_collisions"].monthly))
        stamps = np.sort(timing.draw_times(rng, month, len(lsoa), "rush_hours"))
        ref = np.char.add(f"{STATS19_POLICE_FORCE.get(ctx.area.lsoas['PFA19CD'].iloc[0], '99')}{month.month:02d}",
                          np.char.zfill(np.arange(1, len(lsoa) + 1).astype(str), 5))
        collisions.append(pd.DataFrame({"lsoa": lsoa, "stamp": stamps, "ref": ref, "year": str(month.year)}))
    col = pd.concat(collisions, ignore_index=True)
    col["index"] = col["year"] + col["ref"]
    n = len(col)
    per = 1 + rng.poisson(CASUALTIES_PER_COLLISION - 1, n)
    cas = pd.DataFrame({"collision": np.repeat(np.arange(n), per)})
    cas["casualty_reference"] = cas.groupby("collision").cumcount() + 1
    m = len(cas)
    cas["severity"] = events.pick(rng, CASUALTY_SEVERITY, m).astype(int)
    cas["age"] = _casualty_ages(rng, m)
    injury_based = rng.random(n) < INJURY_BASED_SHARE
    # Adjusted severity: the probability a casualty would be serious under injury-based
    # reporting; certain for injury-based reports, estimated for slight casualties otherwise.
    p_serious = np.where(cas["severity"].eq(2), 1.0,
                         np.where(injury_based[cas["collision"]], 0.0, rng.uniform(0.03, 0.3, m)))
    p_serious = np.where(cas["severity"].eq(1), 0.0,
                         np.where(cas["severity"].eq(3) & injury_based[cas["collision"]], 0.0, p_serious))
    p_slight = np.where(cas["severity"].eq(1), 0.0, 1 - p_serious)
    severity = cas.groupby("collision")["severity"].min().to_numpy()
    col_serious = 1 - pd.Series(1 - p_serious).groupby(cas["collision"]).prod().to_numpy()
    col_serious = np.where(severity == 1, 0.0, col_serious)
    col_slight = np.where(severity == 1, 0.0, 1 - col_serious)

    lsoas = ctx.area.lsoas.loc[col["lsoa"]].reset_index(drop=True)
    point = ctx.points.pick(rng, col["lsoa"].to_numpy())
    lat, lon = places.jitter(rng, ctx.points.latitude[point]), places.jitter(rng, ctx.points.longitude[point])
    easting, northing = places.to_osgb(lon, lat)
    date, weekday, clock = _stamp_parts(col["stamp"].to_numpy())
    highway = lsoas["county_code"].fillna(lsoas["LAD19CD"])
    col_head = pd.read_csv(ctx.reference_dir / COLLISION_HEAD, dtype=str, keep_default_na=False)
    cas_head = pd.read_csv(ctx.reference_dir / CASUALTY_HEAD, dtype=str, keep_default_na=False)
    col_context = col_head.loc[rng.integers(0, len(col_head), n), list(COLLISION_CONTEXT)].reset_index(drop=True)
    cas_context = cas_head.loc[rng.integers(0, len(cas_head), m), list(CASUALTY_CONTEXT)].reset_index(drop=True)
    folder = ctx.folder("local_authority", quarter)
    collision_path = folder / f"dft-road-casualty-statistics-collision-{quarter.label}.csv"
    casualty_path = folder / f"dft-road-casualty-statistics-casualty-{quarter.label}.csv"
    write_csv(collision_path, list(col_head.columns), {
        "collision_index": col["index"], "collision_year": col["year"], "collision_ref_no": col["ref"],
        "location_easting_osgr": easting.astype(str), "location_northing_osgr": northing.astype(str),
        "longitude": places.fixed(lon), "latitude": places.fixed(lat),
        "police_force": STATS19_POLICE_FORCE.get(lsoas["PFA19CD"].iloc[0], "-1") if n else "",
        "collision_severity": severity.astype(str),
        "number_of_vehicles": (1 + rng.poisson(0.8, n)).astype(str), "number_of_casualties": per.astype(str),
        "date": date, "day_of_week": weekday, "time": clock,
        "local_authority_district": "-1", "local_authority_ons_district": lsoas["LAD19CD"],
        "local_authority_highway": highway, "local_authority_highway_current": highway,
        **{c: col_context[c] for c in COLLISION_CONTEXT},
        "lsoa_of_accident_location": lsoas["LSOA11CD"],
        "collision_injury_based": injury_based.astype(int).astype(str),
        "collision_adjusted_severity_serious": pd.Series(col_serious).round(6).astype(str),
        "collision_adjusted_severity_slight": pd.Series(col_slight).round(6).astype(str),
    })
    age = cas["age"].to_numpy()
    band = np.where(age < 0, -1, np.searchsorted(AGE_BAND_EDGES, age, side="right"))
    write_csv(casualty_path, list(cas_head.columns), {
        "collision_index": col["index"].to_numpy()[cas["collision"]],
        "collision_year": col["year"].to_numpy()[cas["collision"]],
        "collision_ref_no": col["ref"].to_numpy()[cas["collision"]],
        "vehicle_reference": "1", "casualty_reference": cas["casualty_reference"].astype(str),
        **{c: cas_context[c] for c in CASUALTY_CONTEXT},
        "sex_of_casualty": np.where(rng.random(m) < 0.01, "-1", np.where(rng.random(m) < 0.58, "1", "2")),
        "age_of_casualty": age.astype(str), "age_band_of_casualty": band.astype(str),
        "casualty_severity": cas["severity"].astype(str),
        "lsoa_of_casualty": lsoas["LSOA11CD"].to_numpy()[cas["collision"]],
        "casualty_injury_based": injury_based[cas["collision"]].astype(int).astype(str),
        "casualty_adjusted_severity_serious": pd.Series(p_serious).round(6).astype(str),
        "casualty_adjusted_severity_slight": pd.Series(p_slight).round(6).astype(str),
    })
    return [collision_path, casualty_path]


def make_schools(ctx: Context) -> pd.DataFrame:
    rng = ctx.rng("local_authority", "schools")
    lsoas = ctx.area.lsoas
    count = max(1, round(lsoas["population"].sum() / 10_000 * SCHOOLS_PER_10K_RESIDENTS))
    population = lsoas["population"].to_numpy(dtype=float)
    home = np.sort(rng.choice(len(lsoas), size=count, replace=False, p=population / population.sum()))
    kind = events.pick(rng, SCHOOL_KINDS, count)
    ward = lsoas["WD19NM"].to_numpy()[home]
    street = (pd.Series(rng.choice(places.STREET_STEMS, count)) + " "
              + pd.Series(rng.choice(places.STREET_SUFFIXES, count)))
    return pd.DataFrame({
        "lsoa": home,
        "name": pd.Series(ward) + " " + pd.Series(kind),
        "address": (pd.Series(rng.integers(1, 120, count).astype(str)) + " " + street + ", " + pd.Series(ward)
                    + ", " + lsoas["LAD19NM"].to_numpy()[home]),
        "secondary": ~pd.Series(kind).str.contains("Primary").to_numpy(),
        "weight": np.where(~pd.Series(kind).str.contains("Primary").to_numpy(), 6.0, 1.0),
    })


def write_exclusions(ctx: Context, quarter: Quarter, schools: pd.DataFrame) -> Path:
    rng = ctx.rng("local_authority", "exclusions", quarter.label)
    frames = []
    for _, month in ctx.months(quarter):
        count = rng.poisson(MONTHLY_RATES["school_exclusions"].monthly * ctx.scale)
        frames.append(pd.DataFrame({"stamp": timing.draw_times(rng, month, count, "school_day", "weekdays_only"),
                                    "school": events.pick(rng, schools["weight"], count)}))
    frame = pd.concat(frames, ignore_index=True).sort_values(["stamp", "school"], kind="stable", ignore_index=True)
    n = len(frame)
    school = schools.loc[frame["school"]].reset_index(drop=True)
    age = np.where(school["secondary"], rng.integers(11, 17, n), rng.integers(5, 11, n))
    path = ctx.folder("local_authority", quarter) / f"school_exclusions_{quarter.label}.csv"
    # The template's layout: the council sends the pupil's age (not the optional date of birth).
    columns = list(SOURCE_FORMATS["school_exclusions"].required_columns)
    columns.insert(columns.index("pupil_gender"), "pupil_age")
    write_csv(path, columns, {
        "exclusion_ref": events.references(f"EX{quarter.label}-", 1, n, 5),
        "start_date": timing.date_text(frame["stamp"].to_numpy()),
        "exclusion_type": np.where(rng.random(n) < PERMANENT_EXCLUSION_SHARE, "permanent", "fixed"),
        "reason_code": events.pick(rng, EXCLUSION_REASONS, n), "pupil_age": age.astype(str),
        "pupil_gender": events.pick(rng, PUPIL_GENDER, n), "school_name": school["name"],
        "school_address": school["address"],
        "school_lsoa": ctx.area.lsoas["LSOA11CD"].to_numpy()[school["lsoa"]],
    })
    return path


def _located_events(ctx: Context, rng: np.random.Generator, quarter: Quarter, stream: str, hourly: str) -> pd.DataFrame:
    frames = []
    for index, month in ctx.months(quarter):
        factor = ctx.multipliers(index, month).seasonal(stream)
        lsoa = events.draw_lsoas(rng, ctx.expected(MONTHLY_RATES[stream].monthly, factor))
        frames.append(pd.DataFrame({"lsoa": lsoa,
                                    "stamp": timing.draw_times(rng, month, len(lsoa), hourly, "weekend")}))
    return pd.concat(frames, ignore_index=True).sort_values(["stamp", "lsoa"], kind="stable", ignore_index=True)


def write_racial_incidents(ctx: Context, quarter: Quarter) -> Path:
    rng = ctx.rng("local_authority", "racial", quarter.label)
    frame = _located_events(ctx, rng, quarter, "racial_incidents", "daytime")
    n = len(frame)
    path = ctx.folder("local_authority", quarter) / f"racial_incidents_{quarter.label}.csv"
    write_csv(path, list(SOURCE_FORMATS["racial_incidents"].required_columns), {
        "incident_ref": events.references(f"RI{quarter.label}-", 1, n, 5),
        "incident_date": timing.date_text(frame["stamp"].to_numpy()),
        "incident_time": timing.time_text(frame["stamp"].to_numpy()),
        "incident_type": events.pick(rng, RACIAL_INCIDENT_TYPES, n),
        "lsoa_code": ctx.area.lsoas["LSOA11CD"].to_numpy()[frame["lsoa"]],
        "location_description": events.pick(rng, RACIAL_INCIDENT_PLACES, n),
    })
    return path


def write_council_asb(ctx: Context, quarter: Quarter) -> Path:
    rng = ctx.rng("local_authority", "council_asb", quarter.label)
    frame = _located_events(ctx, rng, quarter, "council_asb", "evening")
    categories = nsir_categories(ctx.reference_dir)
    asb = categories[categories["mps_group"] == "Anti Social Behaviour"]
    category = events.pick(rng, asb["weight"], len(frame))
    path = ctx.folder("local_authority", quarter) / f"council_asb_{quarter.label}.csv"
    write_csv(path, list(SOURCE_FORMATS["council_asb"].required_columns), {
        "incident_ref": events.references(f"CA{quarter.label}-", 1, len(frame), 5),
        "incident_date": timing.date_text(frame["stamp"].to_numpy()),
        "incident_time": timing.time_text(frame["stamp"].to_numpy()),
        "nsir_qualifier": asb.loc[category, "mps_asb_qualifier"].to_numpy(),
        "asb_category": category,
        "lsoa_code": ctx.area.lsoas["LSOA11CD"].to_numpy()[frame["lsoa"]],
    })
    return path


def generate(ctx: Context) -> list[Path]:
    paths = []
    schools = make_schools(ctx) if "school_exclusions" in ctx.held else None
    for quarter in ctx.quarters:
        if "road_collisions" in ctx.held:
            paths += write_stats19(ctx, quarter)
        if schools is not None:
            paths.append(write_exclusions(ctx, quarter, schools))
        if "racial_incidents" in ctx.held:
            paths.append(write_racial_incidents(ctx, quarter))
        if "council_asb" in ctx.held:
            paths.append(write_council_asb(ctx, quarter))
    return paths
