"""Where in an LSOA an event is put: a few anonymised map points per LSOA, police.uk style.

police.uk snaps every crime to a nearby anonymisation point named after a street or a
landmark ("On or near Supermarket"); the generator gives each LSOA a handful of such points
and places every record-level event on one of them, with a small jitter for the sources
that hold exact locations.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from csp.geometry import to_british_grid
from csp.synth.areas import SynthArea

POINTS_PER_LSOA = 6
POINT_SPREAD_DEGREES = 0.003  # about 300 m
EXACT_JITTER_DEGREES = 0.0006  # about 60 m
LANDMARK_SHARE = 0.2

STREET_STEMS = (
    "Church", "Mill", "Station", "Park", "High", "Main", "Victoria", "Queen", "King", "London",
    "Leicester", "Ashby", "Loughborough", "Melton", "Forest", "Manor", "Orchard", "Meadow",
    "Chapel", "School", "Granby", "Windmill", "Springfield", "Belvoir", "Charnwood", "Bradgate",
    "Swithland", "Welford", "Narborough", "Hinckley", "Oakham", "Beaumont", "Abbey", "Elm",
)
STREET_SUFFIXES = ("Street", "Road", "Lane", "Close", "Avenue", "Way", "Drive", "Crescent", "Gardens")
# Landmark names as police.uk uses them for snap points.
LANDMARKS = (
    "Supermarket", "Petrol Station", "Parking Area", "Sports/Recreation Area", "Shopping Area",
    "Park/Open Space", "Nightclub", "Further/Higher Educational Building", "Bus/Coach Station",
    "Hospital", "Theatre/Concert Hall", "Conference/Exhibition Centre",
)

@dataclass(frozen=True)
class Points:
    latitude: np.ndarray  # per point, LSOA-major: point p of LSOA i is i * POINTS_PER_LSOA + p
    longitude: np.ndarray
    name: np.ndarray

    def pick(self, rng: np.random.Generator, lsoa: np.ndarray) -> np.ndarray:
        return lsoa * POINTS_PER_LSOA + rng.integers(0, POINTS_PER_LSOA, size=len(lsoa))


def make_points(rng: np.random.Generator, area: SynthArea) -> Points:
    n = area.size * POINTS_PER_LSOA
    lat = np.repeat(area.lsoas["latitude"].to_numpy(), POINTS_PER_LSOA) + rng.normal(0, POINT_SPREAD_DEGREES, n)
    lon = np.repeat(area.lsoas["longitude"].to_numpy(), POINTS_PER_LSOA) + rng.normal(0, POINT_SPREAD_DEGREES * 1.6, n)
    streets = pd.Series(rng.choice(STREET_STEMS, n)) + " " + pd.Series(rng.choice(STREET_SUFFIXES, n))
    name = np.where(rng.random(n) < LANDMARK_SHARE, rng.choice(LANDMARKS, n), streets.to_numpy())
    return Points(latitude=lat.round(6), longitude=lon.round(6), name=name.astype(object))


def jitter(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    return (values + rng.normal(0, EXACT_JITTER_DEGREES, len(values))).round(6)


def to_osgb(longitude: np.ndarray, latitude: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 -> OSGB36 British National Grid easting, northing (metres, rounded)."""
    easting, northing = to_british_grid(longitude=longitude, latitude=latitude)
    return np.round(easting).astype(int), np.round(northing).astype(int)


def fixed(values: np.ndarray, decimals: int = 6) -> np.ndarray:
    """Numbers as fixed-point text (stable bytes, no scientific notation)."""
    return np.char.mod(f"%.{decimals}f", np.asarray(values, dtype=float)).astype(object)
