"""Police returns: crimes (dataset 2) and incidents (dataset 1).

Two delivery formats: the force extracts (``force_crimes``/``force_incidents`` contracts, with
time, Home Office offence code and NSIR category) or the police.uk street files (month only,
snapped location, ASB rows without Crime ID).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from csp.quarters import Quarter
from csp.registry import SOURCE_FORMATS
from csp.synth import events, places, rates, timing
from csp.synth.context import Context
from csp.synth.csvfile import write_csv

CSS_WEIGHTS = Path("crime_severity") / "css_weights_by_ho_offence_code.csv"
NSIR_CODES = Path("incident_categories") / "mps_cad_incident_codes_nsir_groups.csv"

# police.uk crime type -> (hourly profile, weekday profile)
CRIME_TIMING = {
    "Anti-social behaviour": ("evening", "weekend"),
    "Bicycle theft": ("daytime", "even"),
    "Burglary": ("overnight", "even"),
    "Criminal damage and arson": ("evening", "weekend"),
    "Drugs": ("late_evening", "even"),
    "Other crime": ("daytime", "even"),
    "Other theft": ("daytime", "even"),
    "Possession of weapons": ("late_evening", "weekend"),
    "Public order": ("late_evening", "weekend"),
    "Robbery": ("late_evening", "even"),
    "Shoplifting": ("daytime", "even"),
    "Theft from the person": ("daytime", "weekend"),
    "Vehicle crime": ("overnight", "even"),
    "Violence and sexual offences": ("late_evening", "weekend"),
}
# The commonest NSIR categories within each group; the others weigh 1.
NSIR_WEIGHTS = {
    "Rowdy Or Inconsiderate Behaviour": 12, "Rowdy / Nuisance Neighbours": 6,
    "Vehicle Nuisance / Inappropriate Use": 5, "Noise": 3, "Nuisance - Opening Code": 3,
    "RTC / Incident - Damage Only": 8, "Highway Disruption": 5, "Road Related Offence": 4,
    "RTC / Incident - Injury": 3, "RTC / Incident - Death": 0.05,
    "Concern For Safety": 12, "Domestic Incident": 10, "Suspicious Circumstances": 8,
    "Missing Person": 4, "Collapse / Illness / Injury Trap": 4, "Civil Disputes": 3,
    "Abandoned Call": 6, "Alarm: Premises Audible Only": 2, "Natural Disaster / Incident / Warn": 0.1,
}
NSIR_STREAMS = {
    rates.ASB: ("Anti Social Behaviour", "evening", "weekend"),
    "police_transport_incidents": ("Transport", "rush_hours", "even"),
    "police_public_safety_incidents": ("Public Safety and Welfare", "daytime", "even"),
}


@lru_cache(maxsize=4)
def offence_codes(reference_dir: Path) -> dict[str, pd.Series]:
    """police.uk crime type -> HO offence code weights. Rarer the more serious: weight 1/CSS
    weight, so homicide is a rare violence code and common assault a frequent one."""
    css = pd.read_csv(reference_dir / CSS_WEIGHTS, dtype={"ho_offence_code": str})
    css["css_weight"] = pd.to_numeric(css["css_weight"], errors="coerce")
    css = css[~css["offence_description"].str.contains("outcome only", na=False) & css["css_weight"].gt(0)]
    by_type = {}
    for crime_type in CRIME_TIMING:
        rows = css[css["police_uk_category"].str.lower() == crime_type.lower()]
        if not rows.empty:
            by_type[crime_type] = pd.Series(1 / rows["css_weight"].to_numpy(), index=rows["ho_offence_code"].to_numpy())
    return by_type


@lru_cache(maxsize=4)
def nsir_categories(reference_dir: Path) -> pd.DataFrame:
    codes = pd.read_csv(reference_dir / NSIR_CODES, dtype=str, keep_default_na=False)
    codes = codes[codes["mps_group"].isin({group for group, _, _ in NSIR_STREAMS.values()})].copy()
    codes["weight"] = codes["category"].map(NSIR_WEIGHTS).fillna(1.0)
    return codes.set_index("category")


@lru_cache(maxsize=4)
def police_uk_outcomes(reference_dir: Path) -> pd.Series:
    """Last outcome categories of crimes in the real Leicestershire file, with their counts."""
    sample = pd.read_csv(reference_dir / rates.POLICE_UK_SAMPLE, usecols=["Crime type", "Last outcome category"])
    crimes = sample[sample["Crime type"] != rates.ASB]
    return crimes["Last outcome category"].value_counts().sort_index()


def _month_events(ctx: Context, month_index: int, month, stream: str, monthly: float) -> pd.DataFrame:
    rng = ctx.rng("police", stream, str(month_index))
    multipliers = ctx.multipliers(month_index, month)
    factor = multipliers.police(stream) if stream in CRIME_TIMING else multipliers.seasonal(stream)
    lsoa = events.draw_lsoas(rng, ctx.expected(monthly, factor))
    hourly, weekday = CRIME_TIMING.get(stream) or NSIR_STREAMS[stream][1:]
    stamps = timing.draw_times(rng, month, len(lsoa), hourly, weekday)
    if stream == "Violence and sexual offences":
        night = rng.random(len(lsoa)) < multipliers.nte_night_share()[lsoa]
        stamps[night] = timing.draw_nte_night_times(rng, month, int(night.sum()))
    return pd.DataFrame({"stream": stream, "lsoa": lsoa, "stamp": stamps,
                         "point": ctx.points.pick(rng, lsoa)})


def quarter_events(ctx: Context, quarter: Quarter, streams: dict[str, float]) -> pd.DataFrame:
    frames = [_month_events(ctx, index, month, stream, monthly)
              for index, month in ctx.months(quarter) for stream, monthly in streams.items()]
    return (pd.concat(frames, ignore_index=True)
            .sort_values(["stamp", "lsoa", "stream"], kind="stable", ignore_index=True))


def _located(ctx: Context, rng: np.random.Generator, frame: pd.DataFrame) -> dict[str, object]:
    lsoas = ctx.area.lsoas
    return {
        "lsoa_code": lsoas["LSOA11CD"].to_numpy()[frame["lsoa"]],
        "latitude": places.fixed(places.jitter(rng, ctx.points.latitude[frame["point"]])),
        "longitude": places.fixed(places.jitter(rng, ctx.points.longitude[frame["point"]])),
    }


def write_force_crimes(ctx: Context, quarter: Quarter, crimes: pd.DataFrame) -> Path:
    rng = ctx.rng("police", "force_crimes", quarter.label)
    codes = offence_codes(ctx.reference_dir)
    ho_code = np.empty(len(crimes), dtype=object)
    for crime_type, rows in crimes.groupby("stream").groups.items():
        ho_code[rows] = events.pick(rng, codes[crime_type], len(rows))
    path = ctx.folder("police", quarter) / f"force_crimes_{quarter.label}.csv"
    write_csv(path, list(SOURCE_FORMATS["force_crimes"].required_columns), {
        "crime_ref": events.references(f"LP{quarter.label}C", 1, len(crimes)),
        "offence_date": timing.date_text(crimes["stamp"].to_numpy()),
        "offence_time": timing.time_text(crimes["stamp"].to_numpy()),
        "ho_offence_code": ho_code,
        "crime_type": crimes["stream"].to_numpy(),
        **_located(ctx, rng, crimes),
    })
    return path


def write_force_incidents(ctx: Context, quarter: Quarter, incidents: pd.DataFrame) -> Path:
    rng = ctx.rng("police", "force_incidents", quarter.label)
    categories = nsir_categories(ctx.reference_dir)
    category = np.empty(len(incidents), dtype=object)
    for stream, rows in incidents.groupby("stream").groups.items():
        group = categories[categories["mps_group"] == NSIR_STREAMS[stream][0]]
        category[rows] = events.pick(rng, group["weight"], len(rows))
    path = ctx.folder("police", quarter) / f"force_incidents_{quarter.label}.csv"
    write_csv(path, list(SOURCE_FORMATS["force_incidents"].required_columns), {
        "incident_ref": events.references(f"LP{quarter.label}I", 1, len(incidents)),
        "incident_date": timing.date_text(incidents["stamp"].to_numpy()),
        "incident_time": timing.time_text(incidents["stamp"].to_numpy()),
        "nsir_category": category,
        "nsir_qualifier": categories.loc[category, "mps_asb_qualifier"].to_numpy(),
        **_located(ctx, rng, incidents),
    })
    return path


def write_police_uk(ctx: Context, quarter: Quarter, rows: pd.DataFrame) -> list[Path]:
    """Three monthly street files: crimes and ASB, month only, snapped locations."""
    rng = ctx.rng("police", "police_uk", quarter.label)
    lsoas, points = ctx.area.lsoas, ctx.points
    force = lsoas["PFA19NM"].iloc[0]
    outcomes = police_uk_outcomes(ctx.reference_dir)
    located = rng.random(len(rows)) >= rates.NO_LOCATION_SHARE
    is_crime = rows["stream"].ne(rates.ASB).to_numpy()
    frame = pd.DataFrame({
        "Crime ID": np.where(is_crime, events.hex_ids(rng, len(rows)), ""),
        "Month": pd.Series(timing.date_text(rows["stamp"].to_numpy())).str.slice(0, 7).to_numpy(),
        "Reported by": f"{force} Police",
        "Falls within": f"{force} Police",
        "Longitude": np.where(located, places.fixed(points.longitude[rows["point"]]), ""),
        "Latitude": np.where(located, places.fixed(points.latitude[rows["point"]]), ""),
        "Location": np.where(located, "On or near " + points.name[rows["point"]], "No Location"),
        "LSOA code": np.where(located, lsoas["LSOA11CD"].to_numpy()[rows["lsoa"]], ""),
        "LSOA name": np.where(located, lsoas["LSOA11NM"].to_numpy()[rows["lsoa"]], ""),
        "Crime type": rows["stream"].to_numpy(),
        "Last outcome category": np.where(is_crime, events.pick(rng, outcomes, len(rows)), ""),
        "Context": "",
    })
    # police.uk lists rows by LSOA name, rows without a location last.
    frame = frame.sort_values(["Month", "LSOA name", "Location", "Crime type"], kind="stable",
                              key=lambda c: c.replace("", "\uffff") if c.name == "LSOA name" else c)
    slug = force.lower().replace(" ", "-")
    paths = []
    for month, month_rows in frame.groupby("Month", sort=True):
        path = ctx.folder("police", quarter) / f"{month}-{slug}-street.csv"
        write_csv(path, list(SOURCE_FORMATS["police_uk_street"].required_columns),
                  {name: month_rows[name].reset_index(drop=True) for name in month_rows.columns})
        paths.append(path)
    return paths


def generate(ctx: Context, police_format: str) -> list[Path]:
    mix = rates.police_crime_mix(ctx.reference_dir)
    crime_streams = {k: v for k, v in mix.items() if k != rates.ASB} if "police_crimes" in ctx.held else {}
    incident_streams = {}
    if "police_incidents" in ctx.held:
        incident_streams[rates.ASB] = mix[rates.ASB]
        if police_format == "force_extract":
            incident_streams |= {s: rates.MONTHLY_RATES[s].monthly for s in NSIR_STREAMS if s != rates.ASB}
    if not crime_streams and not incident_streams:
        return []
    paths = []
    for quarter in ctx.quarters:
        crimes = quarter_events(ctx, quarter, crime_streams) if crime_streams else None
        incidents = quarter_events(ctx, quarter, incident_streams) if incident_streams else None
        if police_format == "police_uk":
            rows = pd.concat([f for f in (crimes, incidents) if f is not None], ignore_index=True)
            paths += write_police_uk(ctx, quarter, rows)
        else:
            if crimes is not None:
                paths.append(write_force_crimes(ctx, quarter, crimes))
            if incidents is not None:
                paths.append(write_force_incidents(ctx, quarter, incidents))
    return paths
