"""Fire and rescue returns: an LFB-style incident-records file (datasets 3 and 4, with the
non-mandated rows a real service file also holds) and the ``fire_other_incidents`` contract."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from csp.quarters import Quarter
from csp.registry import SOURCE_FORMATS
from csp.synth import events, places, timing
from csp.synth.context import Context
from csp.synth.csvfile import write_csv
from csp.synth.rates import MONTHLY_RATES

LFB_SAMPLE = Path("fire") / "lfb_incident_records_sample.csv"
PUMP_HOUR_COST = 364  # notional cost per pump hour, as LFB publishes it

OUTDOOR = ("Outdoor",
           ("Loose refuse", "Grassland, pasture, grazing etc", "Scrub land", "Road surface/pavement", "Park"))
OUTDOOR_STRUCTURE = ("Outdoor Structure",
                     ("Small refuse/rubbish container", "Wheelie Bin", "Refuse/rubbish tip", "Shed", "Fence"))
DWELLING = ("Dwelling",
            ("House - single occupancy", "Purpose Built Flats/Maisonettes - Up to 3 storeys",
             "Converted Flat/Maisonette - Up to 2 storeys"))
NON_RESIDENTIAL = ("Non Residential", ("Warehouse", "Retail", "School", "Pub/wine bar/bar", "Office"))
ROAD_VEHICLE = ("Road Vehicle", ("Car", "Van", "Motorcycle", "Lorry/HGV"))


@dataclass(frozen=True)
class FireKind:
    dataset: str | None  # mandated dataset the rows serve; None for rows only a real file has
    group: str
    stop_codes: dict[str, float]
    properties: tuple[tuple[str, tuple[str, ...]], ...]
    motives: dict[str, float]
    hourly: str


FIRE_KINDS = {
    "deliberate_primary_fires": FireKind("fire_incidents", "Fire", {"Primary Fire": 1},
                                         (DWELLING, NON_RESIDENTIAL, OUTDOOR_STRUCTURE), {"Deliberate": 1}, "evening"),
    "deliberate_vehicle_fires": FireKind("fire_incidents", "Fire", {"Primary Fire": 1}, (ROAD_VEHICLE,),
                                         {"Deliberate": 1}, "overnight"),
    "deliberate_secondary_fires": FireKind("fire_incidents", "Fire", {"Secondary Fire": 1},
                                           (OUTDOOR, OUTDOOR_STRUCTURE), {"Deliberate": 1}, "evening"),
    "accidental_fires": FireKind(None, "Fire", {"Primary Fire": 0.6, "Secondary Fire": 0.3, "Chimney Fire": 0.1},
                                 (DWELLING, ROAD_VEHICLE, NON_RESIDENTIAL), {"Accidental": 0.9, "Not known": 0.1},
                                 "daytime"),
    "malicious_false_alarms": FireKind("fire_false_alarms", "False Alarm", {"False alarm - Malicious": 1},
                                       (DWELLING, OUTDOOR, NON_RESIDENTIAL), {"": 1}, "evening"),
    "other_false_alarms": FireKind(None, "False Alarm", {"AFA": 0.75, "False alarm - Good intent": 0.25},
                                   (DWELLING, NON_RESIDENTIAL, OUTDOOR), {"": 1}, "daytime"),
    "special_services": FireKind(None, "Special Service", {"Special Service": 1}, (ROAD_VEHICLE, DWELLING, OUTDOOR),
                                 {"": 1}, "daytime"),
}
SPECIAL_SERVICE_TYPES = pd.Series({"RTC": 5, "Flooding": 3, "Lift Release": 2, "Effecting entry/exit": 3,
                                   "Assist other agencies": 2, "Medical Incident": 2, "Animal assistance incidents": 1,
                                   "Removal of objects from people": 1})
ADDRESS_QUALIFIERS = pd.Series({"Correct incident location": 6, "Within same building": 2,
                                "In street close to gazetteer location": 2, "On land associated with building": 1,
                                "Open land/water - nearest gazetteer location": 1})
OTHER_KINDS = {"violence_against_fire_employees": "Violence against employees",
               "dwelling_fires_no_smoke_alarm": "Dwelling fire - no smoke alarm"}
# Station ground per Leicestershire district (others fall back to the district name).
STATION_GROUNDS = {
    "E06000016": "Western", "E06000017": "Oakham", "E07000129": "Southern", "E07000130": "Loughborough",
    "E07000131": "Market Harborough", "E07000132": "Hinckley", "E07000133": "Melton Mowbray",
    "E07000134": "Coalville", "E07000135": "Wigston",
}


def lfb_header(reference_dir: Path) -> list[str]:
    return [*pd.read_csv(reference_dir / LFB_SAMPLE, nrows=0).columns, "Motive"]


def _kind_rows(ctx: Context, rng: np.random.Generator, stream: str, kind: FireKind, index: int, month) -> pd.DataFrame:
    factor = ctx.multipliers(index, month).seasonal(stream)
    lsoa = events.draw_lsoas(rng, ctx.expected(MONTHLY_RATES[stream].monthly, factor))
    pairs = [(category, kind_type) for category, types in kind.properties for kind_type in types]
    chosen = rng.integers(0, len(pairs), size=len(lsoa))
    stop = events.pick(rng, pd.Series(kind.stop_codes), len(lsoa))
    return pd.DataFrame({
        "lsoa": lsoa, "stamp": timing.draw_times(rng, month, len(lsoa), kind.hourly),
        "IncidentGroup": kind.group, "StopCodeDescription": stop,
        "SpecialServiceType": (events.pick(rng, SPECIAL_SERVICE_TYPES, len(lsoa))
                               if kind.group == "Special Service" else ""),
        "PropertyCategory": np.array([p[0] for p in pairs], dtype=object)[chosen],
        "PropertyType": np.array([p[1] + " " for p in pairs], dtype=object)[chosen],  # LFB pads types with a space
        "Motive": np.where(np.isin(stop, ["Primary Fire", "Secondary Fire", "Chimney Fire"]),
                           events.pick(rng, pd.Series(kind.motives), len(lsoa)), ""),
    })


def write_incident_records(ctx: Context, quarter: Quarter, kinds: dict[str, FireKind]) -> Path:
    rng = ctx.rng("fire", "lfb", quarter.label)
    frame = pd.concat([_kind_rows(ctx, ctx.rng("fire", stream, str(i)), stream, kind, i, month)
                       for i, month in ctx.months(quarter) for stream, kind in kinds.items()], ignore_index=True)
    frame = frame.sort_values(["stamp", "lsoa"], kind="stable", ignore_index=True)
    n, lsoas = len(frame), ctx.area.lsoas.loc[frame["lsoa"]].reset_index(drop=True)
    stamps = frame["stamp"].to_numpy()
    seconds = rng.integers(0, 60, n)
    clock = pd.Series(timing.time_text(stamps)) + ":" + pd.Series(np.char.zfill(seconds.astype(str), 2))
    point = ctx.points.pick(rng, frame["lsoa"].to_numpy())
    lat, lon = places.jitter(rng, ctx.points.latitude[point]), places.jitter(rng, ctx.points.longitude[point])
    easting, northing = places.to_osgb(lon, lat)
    # LFB withholds exact locations of dwellings; the rounded grid reference stays.
    exact = frame["PropertyCategory"].ne("Dwelling").to_numpy()
    pumps = 1 + (rng.random(n) < 0.3).astype(int)
    pump_minutes = pumps * 60 * (1 + rng.poisson(0.4, n))
    attendance = rng.integers(180, 900, n)
    station = lsoas["LAD19CD"].map(STATION_GROUNDS).fillna(lsoas["LAD19NM"]).to_numpy()
    day = pd.to_datetime(timing.date_text(stamps))
    path = ctx.folder("fire", quarter) / f"lfb_incident_records_{quarter.label}.csv"
    write_csv(path, lfb_header(ctx.reference_dir), {
        "IncidentNumber": np.char.add(np.char.zfill(np.arange(1, n + 1).astype(str), 6), "-" + quarter.label),
        "DateOfCall": day.strftime("%d %b %Y").to_numpy(), "CalYear": day.year.astype(str).to_numpy(),
        "TimeOfCall": clock, "HourOfCall": pd.Series(timing.time_text(stamps)).str.slice(0, 2).astype(int).astype(str),
        **{c: frame[c] for c in ("IncidentGroup", "StopCodeDescription", "SpecialServiceType", "PropertyCategory",
                                 "PropertyType")},
        "AddressQualifier": events.pick(rng, ADDRESS_QUALIFIERS, n),
        "Postcode_district": lsoas["outward_code"],
        "IncGeo_BoroughCode": lsoas["LAD19CD"], "IncGeo_BoroughName": lsoas["LAD19NM"].str.upper(),
        "ProperCase": lsoas["LAD19NM"], "IncGeo_WardCode": lsoas["WD19CD"],
        "IncGeo_WardName": lsoas["WD19NM"], "IncGeo_WardNameNew": lsoas["WD19NM"],
        "Easting_m": np.where(exact, places.fixed(easting, 1), ""),
        "Northing_m": np.where(exact, places.fixed(northing, 1), ""),
        "Easting_rounded": (np.round(easting / 50) * 50).astype(int).astype(str),
        "Northing_rounded": (np.round(northing / 50) * 50).astype(int).astype(str),
        "Latitude": np.where(exact, places.fixed(lat, 10), ""), "Longitude": np.where(exact, places.fixed(lon, 10), ""),
        "FRS": ctx.area.lsoas["PFA19NM"].iloc[0], "IncidentStationGround": station,
        "FirstPumpArriving_AttendanceTime": places.fixed(attendance, 1),
        "FirstPumpArriving_DeployedFromStation": station,
        "NumStationsWithPumpsAttending": "1.0", "NumPumpsAttending": places.fixed(pumps, 1),
        "PumpCount": pumps.astype(str),
        "PumpMinutesRounded": places.fixed(pump_minutes, 1),
        "Notional Cost (£)": places.fixed(pump_minutes / 60 * PUMP_HOUR_COST, 1),
        "NumCalls": places.fixed(1 + rng.poisson(0.3, n), 1), "Motive": frame["Motive"],
    })
    return path


def write_other_incidents(ctx: Context, quarter: Quarter) -> Path:
    rng = ctx.rng("fire", "other", quarter.label)
    frames = []
    for _, month in ctx.months(quarter):
        for stream, label in OTHER_KINDS.items():
            lsoa = events.draw_lsoas(rng, ctx.expected(MONTHLY_RATES[stream].monthly))
            frames.append(pd.DataFrame({"lsoa": lsoa, "kind": label,
                                        "stamp": timing.draw_times(rng, month, len(lsoa), "evening")}))
    frame = pd.concat(frames, ignore_index=True).sort_values(["stamp", "lsoa"], kind="stable", ignore_index=True)
    point = ctx.points.pick(rng, frame["lsoa"].to_numpy())
    path = ctx.folder("fire", quarter) / f"fire_other_incidents_{quarter.label}.csv"
    write_csv(path, list(SOURCE_FORMATS["fire_other_incidents"].required_columns), {
        "incident_ref": events.references(f"FO{quarter.label}-", 1, len(frame), 5),
        "incident_date": timing.date_text(frame["stamp"].to_numpy()),
        "incident_time": timing.time_text(frame["stamp"].to_numpy()),
        "incident_kind": frame["kind"],
        "lsoa_code": ctx.area.lsoas["LSOA11CD"].to_numpy()[frame["lsoa"]],
        "latitude": places.fixed(places.jitter(rng, ctx.points.latitude[point])),
        "longitude": places.fixed(places.jitter(rng, ctx.points.longitude[point])),
    })
    return path


def generate(ctx: Context) -> list[Path]:
    kinds = {s: k for s, k in FIRE_KINDS.items() if k.dataset is None or k.dataset in ctx.held}
    if not ({"fire_incidents", "fire_false_alarms"} & ctx.held):
        return []
    paths = [write_incident_records(ctx, q, kinds) for q in ctx.quarters]
    if "fire_incidents" in ctx.held:
        paths += [write_other_incidents(ctx, q) for q in ctx.quarters]
    return paths
