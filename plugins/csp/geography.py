"""The partnership geography from the ONS lookups: LSOA -> ward -> district -> CSP -> police
force area, with the upper-tier county for two-tier areas and population-weighted centroids.

Reads the published lookup files as they are (see the reference data README) and returns
plain DataFrames; one deployment serves one police force area with several CSPs.

District reorganisations: the lookups describe December 2019. A district since abolished
(Allerdale, Carlisle and Copeland are in Cumberland since April 2023) is mapped to its
successor with the "active" code of the local-authority code list, so old data lands in
today's district and partnership. A successor unitary forms its own partnership; the lookups
here publish no CSP code for it, so its district code and name stand in. The 2019 codes are
kept (LAD19CD, CSP19CD) for lineage.
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
    code: str  # CSP19CD, or the successor district's code after a reorganisation
    name: str
    districts: tuple[str, ...]  # today's district codes
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
    codes = _read(geo / "drkane_la_all_codes.csv")
    successor = codes.set_index("LADCD")[["LADCD_ACTIVE", "LADNM_ACTIVE"]]
    counties = codes[["LADCD", "UTLACD", "UTLANM"]]
    centroids = _read(geo / "drkane_lsoa_latlong.csv")[["LSOACD", "latitude", "longitude"]]
    pop = _read(reference_dir / POPULATION / "lsoa11_population_totals_2015_2020_EW.csv")[
        ["LSOA11CD", "pop_mid2020"]
    ]
    lsoa = lsoa.assign(
        district_code=lsoa["LAD19CD"].map(successor["LADCD_ACTIVE"]).fillna(lsoa["LAD19CD"]),
        district_name=lsoa["LAD19CD"].map(successor["LADNM_ACTIVE"]).fillna(lsoa["LAD19NM"]),
    )
    out = (
        lsoa.merge(csp, on="LAD19CD", how="left", validate="many_to_one")
        .merge(counties, left_on="district_code", right_on="LADCD", how="left", validate="many_to_one")
        .drop(columns="LADCD")
        .merge(centroids, left_on="LSOA11CD", right_on="LSOACD", how="left", validate="one_to_one")
        .drop(columns="LSOACD")
        .merge(pop, on="LSOA11CD", how="left", validate="one_to_one")
    )
    reorganised = out["district_code"].ne(out["LAD19CD"])
    out["csp_code"] = out["CSP19CD"].mask(reorganised, out["district_code"])
    out["csp_name"] = out["CSP19NM"].mask(reorganised, out["district_name"])
    # A county exists only in two-tier areas: a unitary is its own upper tier.
    two_tier = out["UTLACD"].ne(out["district_code"]) & out["UTLACD"].ne("")
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
    for (code, name), rows in area.groupby(["csp_code", "csp_name"], sort=True):
        if not code:
            continue  # a district split between CSPs (see lsoa_lookup): no partnership to report
        county = rows[["county_code", "county_name"]].drop_duplicates()
        county_code, county_name = county.iloc[0] if len(county) == 1 else (None, None)
        result.append(
            Partnership(
                code=code,
                name=name,
                districts=tuple(sorted(rows["district_code"].unique())),
                county_code=None if pd.isna(county_code) else county_code,
                county_name=None if pd.isna(county_name) else county_name,
            )
        )
    return result


@dataclass(frozen=True)
class ServedArea:
    """What one deployment serves, from config/area.toml checked against the ONS lookups."""
    police_force_area: str
    partnerships: tuple[Partnership, ...]
    counties: tuple[tuple[str, str], ...]  # (code, name) of the two-tier counties in the area


def served_area(reference_dir: Path, area: dict) -> ServedArea:
    """The force area, partnerships and counties an area file names. `partnerships` and
    `county` are optional (default: every partnership and county of the force area); a code
    that is not in the force area is an error, never silently ignored."""
    pfa = area["area"]["police_force_area"]
    available = {p.code: p for p in partnerships(reference_dir, pfa)}
    wanted = area["area"].get("partnerships", sorted(available))
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        raise ValueError(
            f"area file: partnerships {unknown} are not in police force area {pfa} "
            f"(its partnerships: {', '.join(sorted(available))})"
        )
    chosen = tuple(available[code] for code in wanted)
    counties = sorted({(p.county_code, p.county_name) for p in chosen if p.county_code})
    county = area["area"].get("county")
    if county is not None and county not in {code for code, _ in counties}:
        raise ValueError(f"area file: county {county!r} is not the county of any partnership served")
    return ServedArea(police_force_area=pfa, partnerships=chosen, counties=tuple(counties))
