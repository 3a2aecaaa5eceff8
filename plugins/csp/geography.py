"""The partnership geography from the ONS lookups: LSOA -> ward -> district -> CSP -> police
force area, with the upper-tier county for two-tier areas and population-weighted centroids.

Reads the published lookup files as they are (see the reference data README) and returns
plain DataFrames; one deployment serves one police force area with several CSPs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

GEOGRAPHY = "geography"
POPULATION = "population"


@dataclass(frozen=True)
class Partnership:
    code: str  # CSP19CD
    name: str
    districts: tuple[str, ...]  # LAD19CD
    county_code: str | None  # upper-tier county in two-tier areas, None for unitaries
    county_name: str | None


def _read(path: Path, **kwargs) -> pd.DataFrame:
    # utf-8-sig: some ONS files keep their byte-order mark.
    return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False, **kwargs)


@lru_cache(maxsize=4)
def lsoa_lookup(reference_dir: Path) -> pd.DataFrame:
    """Every LSOA 2011 in England and Wales with ward, district, CSP, force area, county,
    centroid and mid-2020 population."""
    geo = reference_dir / GEOGRAPHY
    lsoa = _read(geo / "ons_LSOA11_to_WD19_to_LAD19_lookup_EW_Dec2019.csv").drop(columns="FID")
    csp = _read(geo / "ons_LAD19_to_CSP19_to_PFA19_lookup_EW_Dec2019.csv").drop(
        columns=["FID", "LAD19NM"]
    )
    # Two districts formed in 2019 (East Suffolk; Bournemouth, Christchurch and Poole) still
    # span several CSPs in the Dec 2019 lookup. A district-level lookup cannot choose between
    # them, so their LSOAs keep the force area but get no CSP rather than a guessed one.
    split = csp["LAD19CD"].duplicated(keep=False)
    csp = pd.concat(
        [csp[~split], csp[split].drop_duplicates("LAD19CD").assign(CSP19CD="", CSP19NM="")]
    )
    counties = _read(geo / "drkane_la_all_codes.csv")[["LADCD", "UTLACD", "UTLANM"]]
    centroids = _read(geo / "drkane_lsoa_latlong.csv")[["LSOACD", "latitude", "longitude"]]
    pop = _read(reference_dir / POPULATION / "lsoa11_population_totals_2015_2020_EW.csv")[
        ["LSOA11CD", "pop_mid2020"]
    ]
    out = (
        lsoa.merge(csp, on="LAD19CD", how="left", validate="many_to_one")
        .merge(counties, left_on="LAD19CD", right_on="LADCD", how="left", validate="many_to_one")
        .drop(columns="LADCD")
        .merge(centroids, left_on="LSOA11CD", right_on="LSOACD", how="left", validate="one_to_one")
        .drop(columns="LSOACD")
        .merge(pop, on="LSOA11CD", how="left", validate="one_to_one")
    )
    # A county exists only in two-tier areas: a unitary is its own upper tier.
    two_tier = out["UTLACD"].ne(out["LAD19CD"]) & out["UTLACD"].ne("")
    out["county_code"] = out["UTLACD"].where(two_tier)
    out["county_name"] = out["UTLANM"].where(two_tier)
    out["latitude"] = pd.to_numeric(out["latitude"])
    out["longitude"] = pd.to_numeric(out["longitude"])
    out["population"] = pd.to_numeric(out["pop_mid2020"]).astype("Int64")
    return out.drop(columns=["UTLACD", "UTLANM", "pop_mid2020"])


def area_lsoas(reference_dir: Path, police_force_area: str) -> pd.DataFrame:
    lookup = lsoa_lookup(reference_dir)
    area = lookup[lookup["PFA19CD"] == police_force_area].reset_index(drop=True)
    if area.empty:
        raise ValueError(f"no LSOA falls in police force area {police_force_area!r}")
    return area


def partnerships(reference_dir: Path, police_force_area: str) -> list[Partnership]:
    area = area_lsoas(reference_dir, police_force_area)
    result = []
    for (code, name), rows in area.groupby(["CSP19CD", "CSP19NM"], sort=True):
        county = rows[["county_code", "county_name"]].drop_duplicates()
        county_code, county_name = county.iloc[0] if len(county) == 1 else (None, None)
        result.append(
            Partnership(
                code=code,
                name=name,
                districts=tuple(sorted(rows["LAD19CD"].unique())),
                county_code=None if pd.isna(county_code) else county_code,
                county_name=None if pd.isna(county_name) else county_name,
            )
        )
    return result
