"""Reference tables the SQL models join to, built from the published lookups and the
registry's theme rules. Rebuilt on every warehouse run: they are small and this keeps the
warehouse in step with the reference data directory."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from csp import geography
from csp.config import Settings
from csp.themes import MEASURE_THEMES, THEME_RULES

_SQL_TYPES = {"int64": "BIGINT", "Int64": "BIGINT", "float64": "DOUBLE PRECISION"}


def create_sql(table: str, frame: pd.DataFrame) -> str:
    columns = ", ".join(
        f"{name} {_SQL_TYPES.get(str(dtype), 'VARCHAR')}" for name, dtype in frame.dtypes.items()
    )
    return f"CREATE TABLE reference.{table} ({columns})"


def lsoa_lookup(settings: Settings) -> pd.DataFrame:
    lookup = geography.lsoa_lookup(settings.reference_dir)
    return pd.DataFrame(
        {
            "lsoa11_code": lookup["LSOA11CD"],
            "lsoa11_name": lookup["LSOA11NM"],
            "ward_code": lookup["WD19CD"],
            "ward_name": lookup["WD19NM"],
            "district_code": lookup["LAD19CD"],
            "district_name": lookup["LAD19NM"],
            "csp_code": lookup["CSP19CD"].replace("", None),
            "csp_name": lookup["CSP19NM"].replace("", None),
            "county_code": lookup["county_code"],
            "county_name": lookup["county_name"],
            "pfa_code": lookup["PFA19CD"],
            "pfa_name": lookup["PFA19NM"],
            "latitude": lookup["latitude"],
            "longitude": lookup["longitude"],
            "population": lookup["population"].astype("Int64"),
        }
    )


def lsoa21_to_lsoa11(settings: Settings) -> pd.DataFrame:
    """LSOA 2021 codes (police.uk files mix them with 2011 codes) -> an LSOA 2011 code."""
    path = settings.reference_dir / geography.POPULATION / "ons_LSOA11_to_LSOA21_to_LAD22_lookup_EW.csv"
    pairs = pd.read_csv(path, dtype=str, encoding="utf-8-sig", usecols=["F_LSOA11CD", "LSOA21CD"])
    return pd.DataFrame({"lsoa21_code": pairs["LSOA21CD"], "lsoa11_code": pairs["F_LSOA11CD"]})


def outward_code_areas(settings: Settings, lookup: pd.DataFrame) -> pd.DataFrame:
    """Each postcode district (outward code) -> the LSOA nearest its centroid, hence a ward,
    district and CSP. Health data stays at outward-code precision; this only says which
    partnership an outward code's figures belong to (centroid rule, documented)."""
    districts = pd.read_csv(
        settings.reference_dir / geography.GEOGRAPHY / "doogal_postcode_districts.csv",
        usecols=["Postcode", "Latitude", "Longitude"],
    ).dropna()
    located = lookup.dropna(subset=["latitude", "longitude"]).reset_index(drop=True)
    scale = np.cos(np.radians(52.5))  # equirectangular: adequate for nearest-centroid in England
    tree = cKDTree(np.column_stack([located["longitude"] * scale, located["latitude"]]))
    _, nearest = tree.query(np.column_stack([districts["Longitude"] * scale, districts["Latitude"]]))
    return pd.DataFrame(
        {"outward_code": districts["Postcode"].str.upper().values,
         "lsoa11_code": located["lsoa11_code"].iloc[nearest].values}
    )


def tables(settings: Settings) -> dict[str, pd.DataFrame]:
    lookup = lsoa_lookup(settings)
    return {
        "lsoa_lookup": lookup,
        "lsoa21_to_lsoa11": lsoa21_to_lsoa11(settings),
        "outward_code_areas": outward_code_areas(settings, lookup),
        "theme_rules": pd.DataFrame(
            [(d, p, t, i) for i, (d, p, t) in enumerate(THEME_RULES)],
            columns=["dataset", "pattern", "theme", "priority"],
        ),
        "measure_themes": pd.DataFrame(list(MEASURE_THEMES.items()), columns=["measure", "theme"]),
    }
