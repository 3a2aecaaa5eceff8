"""The deployment's area in the codes returns use: LSOA 2011 and 2021 codes, and the postcode
districts (outward codes) assigned to it by the centroid rule.

Outward codes: each postcode district goes to the LSOA nearest its centroid (and so to that
LSOA's ward, district and CSP). Health data stays at outward-code precision; the rule only
says whose figures they are.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from csp import geography

LSOA21_LOOKUP = "ons_LSOA11_to_LSOA21_to_LAD22_lookup_EW.csv"
POSTCODE_DISTRICTS = "doogal_postcode_districts.csv"


@dataclass(frozen=True)
class AreaCodes:
    lsoas: frozenset[str]  # 2011 and 2021 codes of the area's LSOAs
    outward_codes: frozenset[str]


@lru_cache(maxsize=4)
def lsoa21_to_lsoa11(reference_dir: Path) -> pd.DataFrame:
    pairs = pd.read_csv(
        reference_dir / geography.POPULATION / LSOA21_LOOKUP,
        dtype=str, encoding="utf-8-sig", usecols=["F_LSOA11CD", "LSOA21CD"],
    )
    return pd.DataFrame({"lsoa21_code": pairs["LSOA21CD"], "lsoa11_code": pairs["F_LSOA11CD"]})


@lru_cache(maxsize=4)
def outward_code_lsoas(reference_dir: Path) -> pd.DataFrame:
    """Every postcode district of England and Wales -> the LSOA 2011 nearest its centroid
    (districts farther than 10 km from any LSOA centroid, e.g. in Scotland, are left out)."""
    from csp.locate import nearest_lsoa

    districts = pd.read_csv(
        reference_dir / geography.GEOGRAPHY / POSTCODE_DISTRICTS,
        usecols=["Postcode", "Latitude", "Longitude"],
    ).dropna()
    nearest = nearest_lsoa(districts["Latitude"], districts["Longitude"], reference_dir)
    mapped = pd.DataFrame({"outward_code": districts["Postcode"].str.upper(), "lsoa11_code": nearest})
    return mapped.dropna().astype(str).reset_index(drop=True)


@lru_cache(maxsize=4)
def area_codes(reference_dir: Path, police_force_area: str) -> AreaCodes:
    lsoas = set(geography.area_lsoas(reference_dir, police_force_area)["LSOA11CD"])
    mapped21 = lsoa21_to_lsoa11(reference_dir)
    outward = outward_code_lsoas(reference_dir)
    return AreaCodes(
        lsoas=frozenset(lsoas | set(mapped21.loc[mapped21["lsoa11_code"].isin(lsoas), "lsoa21_code"])),
        outward_codes=frozenset(outward.loc[outward["lsoa11_code"].isin(lsoas), "outward_code"]),
    )
