"""Reference tables the SQL models join to, built from the published lookups and the
registry's theme rules. Rebuilt on every warehouse run: they are small and this keeps the
warehouse in step with the reference data directory."""
from __future__ import annotations

import pandas as pd

from csp import area, geography
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


def tables(settings: Settings) -> dict[str, pd.DataFrame]:
    """Reference tables by name (created as reference.<name>)."""
    lookup = lsoa_lookup(settings)
    return {
        "lsoa_lookup": lookup,
        "lsoa21_to_lsoa11": area.lsoa21_to_lsoa11(settings.reference_dir),
        "outward_code_areas": area.outward_code_lsoas(settings.reference_dir),
        "theme_rules": pd.DataFrame(
            [(d, p, t, i) for i, (d, p, t) in enumerate(THEME_RULES)],
            columns=["dataset", "pattern", "theme", "priority"],
        ),
        "measure_themes": pd.DataFrame(list(MEASURE_THEMES.items()), columns=["measure", "theme"]),
    }
