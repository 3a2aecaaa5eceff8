"""The synthetic partnership's places: the force area's LSOAs with a crime weight each, their
outward codes, and the LSOAs chosen for the planted signals.

The weight is resident population times a spatial factor (Leicester city busier than the
county, plus lognormal variation between neighbourhoods); it is drawn from the seed alone,
so ``signals=False`` describes the same partnership.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from csp import area as area_codes_module
from csp import geography

CITY_DISTRICT = "E06000016"  # Leicester
CITY_FACTOR = 1.5  # city LSOAs record more crime per resident than county ones
NEIGHBOURHOOD_SPREAD = 0.35  # sigma of the lognormal factor between LSOAs
CITY_CENTRE_OUTWARD = "LE1"
_KM_PER_DEGREE_LAT = 111.2
_COS_LAT = np.cos(np.radians(52.6))


@dataclass(frozen=True)
class SynthArea:
    lsoas: pd.DataFrame  # one row per LSOA, index 0..n-1, with weight and outward_code
    weights: np.ndarray  # crime weight per LSOA (sums to 1)

    @property
    def size(self) -> int:
        return len(self.lsoas)

    def positions(self, codes) -> np.ndarray:
        return self.lsoas.index[self.lsoas["LSOA11CD"].isin(list(codes))].to_numpy()

    def xy_km(self) -> np.ndarray:
        return np.column_stack([
            self.lsoas["longitude"].to_numpy() * _COS_LAT * _KM_PER_DEGREE_LAT,
            self.lsoas["latitude"].to_numpy() * _KM_PER_DEGREE_LAT,
        ])


@dataclass(frozen=True)
class SignalAreas:
    hotspot: tuple[str, ...]
    nte: tuple[str, ...]
    nte_outward_codes: tuple[str, ...]
    initiative: tuple[str, ...]
    buffer: tuple[str, ...]
    control: tuple[str, ...]


def outward_codes_for_lsoas(reference_dir: Path, police_force_area: str, lsoas: pd.DataFrame) -> np.ndarray:
    """Each LSOA's nearest postcode district among the area's active, populated districts.

    Candidates are the outward codes the platform assigns to this area (csp.area centroid
    rule), so every generated health record resolves back into the partnership."""
    in_area = area_codes_module.area_codes(reference_dir, police_force_area).outward_codes
    districts = pd.read_csv(
        reference_dir / geography.GEOGRAPHY / area_codes_module.POSTCODE_DISTRICTS,
        usecols=["Postcode", "Latitude", "Longitude", "Active postcodes", "Population"],
    )
    districts = districts[
        districts["Postcode"].isin(in_area)
        & districts["Active postcodes"].gt(0)
        & districts["Population"].gt(0)
    ].sort_values("Postcode")
    tree = cKDTree(np.column_stack([districts["Longitude"] * _COS_LAT, districts["Latitude"]]))
    _, nearest = tree.query(np.column_stack([lsoas["longitude"] * _COS_LAT, lsoas["latitude"]]))
    return districts["Postcode"].to_numpy()[nearest]


def load_area(reference_dir: Path, police_force_area: str, rng: np.random.Generator) -> SynthArea:
    lsoas = (
        geography.area_lsoas(reference_dir, police_force_area)
        .dropna(subset=["latitude", "longitude", "population"])
        .sort_values("LSOA11CD")
        .reset_index(drop=True)
    )
    lsoas["outward_code"] = outward_codes_for_lsoas(reference_dir, police_force_area, lsoas)
    factor = np.where(lsoas["LAD19CD"].eq(CITY_DISTRICT), CITY_FACTOR, 1.0)
    factor = factor * rng.lognormal(-NEIGHBOURHOOD_SPREAD**2 / 2, NEIGHBOURHOOD_SPREAD, len(lsoas))
    weight = lsoas["population"].to_numpy(dtype=float) * factor
    lsoas["weight"] = weight / weight.sum()
    return SynthArea(lsoas=lsoas, weights=lsoas["weight"].to_numpy())


def _nearest(area: SynthArea, centre: int, count: int) -> list[int]:
    xy = area.xy_km()
    order = np.argsort(np.hypot(*(xy - xy[centre]).T), kind="stable")
    return [int(i) for i in order[:count]]


def _per_resident(area: SynthArea, positions) -> float:
    rows = area.lsoas.loc[list(positions)]
    return float(rows["weight"].sum() / rows["population"].sum())


def choose_signal_areas(area: SynthArea, hotspot_csp: str, nte_size: int = 4,
                        initiative_size: int = 4, buffer_size: int = 8, control_size: int = 8) -> SignalAreas:
    lsoas, xy = area.lsoas, area.xy_km()
    codes = lsoas["LSOA11CD"].to_numpy()

    # NTE: the LSOAs nearest the city-centre postcode district's centroid.
    centre_rows = lsoas.index[lsoas["outward_code"].eq(CITY_CENTRE_OUTWARD)]
    centre_xy = xy[centre_rows].mean(axis=0)
    by_centre = np.argsort(np.hypot(*(xy - centre_xy).T), kind="stable")
    nte = [int(i) for i in by_centre[:nte_size]]

    # Hotspot: the 5-LSOA cluster in the CSP whose underlying rate is closest to the CSP's own,
    # so a planted x3 is the signal and not an accident of the spatial noise.
    in_csp = lsoas.index[lsoas["CSP19CD"].eq(hotspot_csp)].to_numpy()
    csp_rate = _per_resident(area, in_csp)
    clusters = [_nearest(area, int(c), 5) for c in in_csp]
    clusters = [c for c in clusters if set(c) <= set(in_csp)]
    hotspot = min(clusters, key=lambda c: abs(_per_resident(area, c) / csp_rate - 1))

    # Initiative: a busy city neighbourhood 2.5-5 km from the centre (clear of the NTE), its
    # buffer the next nearest LSOAs, the control the city LSOAs at least 3 km away whose
    # weights are closest to the initiative's.
    distance = np.hypot(*(xy - centre_xy).T)
    city = lsoas["LAD19CD"].eq(CITY_DISTRICT).to_numpy()
    candidates = np.flatnonzero(city & (distance > 2.5) & (distance < 5.0))
    centre = int(candidates[np.argmax(area.weights[candidates])])
    ring = _nearest(area, centre, initiative_size + buffer_size)
    initiative, buffer = ring[:initiative_size], ring[initiative_size:]
    taken = set(ring) | set(nte) | set(hotspot)
    far = np.hypot(*(xy - xy[centre]).T) > 3.0
    pool = [int(i) for i in np.flatnonzero(city & far) if int(i) not in taken]
    target = area.weights[initiative].mean()
    control = sorted(pool, key=lambda i: (abs(area.weights[i] - target), i))[:control_size]

    return SignalAreas(
        hotspot=tuple(codes[hotspot]),
        nte=tuple(codes[nte]),
        nte_outward_codes=tuple(sorted(set(lsoas.loc[nte, "outward_code"]))),
        initiative=tuple(codes[initiative]),
        buffer=tuple(codes[buffer]),
        control=tuple(sorted(codes[control])),
    )
