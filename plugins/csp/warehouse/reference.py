"""Reference tables the SQL models join to, built from the published lookups and the
registry's theme rules. Rebuilt on every warehouse run: they are small and this keeps the
warehouse in step with the reference data directory."""
from __future__ import annotations

import pandas as pd

from csp import area, clock, geography
from csp.config import Settings
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.staging import Staging
from csp.themes import CLASSIFICATIONS, LOCATED_AT_INSTITUTION, MEASURE_THEMES, SECONDARY_THEME_RULES, THEME_RULES
from csp.warehouse import crime_severity

HOUSEHOLDS = "census2021_ts054_households_by_tenure_lsoa21_EW.csv"
# Types a table's frame cannot always show (it is empty before the first return is staged).
COLUMN_TYPES = {
    "expected_returns": {"due_date": "DATE", "held": "BOOLEAN"},
    "as_of": {"today": "DATE"},
}

def lsoa_lookup(settings: Settings) -> pd.DataFrame:
    lookup = geography.lsoa_lookup(settings.reference_dir)
    return pd.DataFrame(
        {
            "lsoa11_code": lookup["LSOA11CD"],
            "lsoa11_name": lookup["LSOA11NM"],
            "ward_code": lookup["WD19CD"],
            "ward_name": lookup["WD19NM"],
            "district_code": lookup["district_code"],
            "district_name": lookup["district_name"],
            "district_2019_code": lookup["LAD19CD"],
            "csp_code": lookup["csp_code"].replace("", None),
            "csp_name": lookup["csp_name"].replace("", None),
            "county_code": lookup["county_code"],
            "county_name": lookup["county_name"],
            "pfa_code": lookup["PFA19CD"],
            "pfa_name": lookup["PFA19NM"],
            "latitude": lookup["latitude"],
            "longitude": lookup["longitude"],
            "population": lookup["population"].astype("Int64"),
        }
    )


def households(settings: Settings) -> pd.DataFrame:
    """Census 2021 households per LSOA 2011. Households are published by LSOA 2021; each 2021
    LSOA's households are shared among the 2011 LSOAs it was made from in proportion to their
    mid-2020 population (exact for unchanged and split LSOAs, an estimate for merges)."""
    published = pd.read_csv(
        settings.reference_dir / geography.POPULATION / HOUSEHOLDS,
        usecols=["LSOA21CD", "total_households"], dtype={"LSOA21CD": str},
    )
    pairs = area.lsoa21_to_lsoa11(settings.reference_dir).drop_duplicates()
    population = geography.lsoa_lookup(settings.reference_dir).set_index("LSOA11CD")["population"]
    pairs = pairs.assign(population=pairs["lsoa11_code"].map(population).fillna(0).astype(float))
    share = pairs["population"] / pairs.groupby("lsoa21_code")["population"].transform("sum")
    pairs = pairs.assign(share=share.fillna(1.0 / pairs.groupby("lsoa21_code")["lsoa11_code"].transform("size")))
    merged = pairs.merge(published, left_on="lsoa21_code", right_on="LSOA21CD", how="inner")
    result = (merged["share"] * merged["total_households"]).groupby(merged["lsoa11_code"]).sum()
    return pd.DataFrame({"lsoa11_code": result.index, "households": result.round().astype("int64").to_numpy()})


def css_weights(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ONS Crime Severity Score weights: by Home Office offence code (exact, for force extracts)
    and by police.uk crime type (the mean over its codes, csp.warehouse.crime_severity)."""
    by_code = pd.read_csv(settings.reference_dir / crime_severity.CSS_FILE, dtype={"ho_offence_code": str},
                          usecols=["ho_offence_code", "css_weight"])
    by_type = crime_severity.css_weights(settings.reference_dir)[["category", "css_weight"]]
    return by_code.rename(columns={"ho_offence_code": "offence_code"}), by_type


def served_partnerships(settings: Settings) -> pd.DataFrame:
    served = geography.served_area(settings.reference_dir, settings.area)
    return pd.DataFrame(
        [(p.code, p.name, p.county_code, p.county_name, served.police_force_area) for p in served.partnerships],
        columns=["csp_code", "csp_name", "county_code", "county_name", "pfa_code"],
    )


def expected_returns(settings: Settings, ledger: pd.DataFrame) -> pd.DataFrame:
    """Every statutory return the partnership is owed: each mandated dataset for each quarter
    from the first quarter in the ledger to the last one that has ended. The compliance matrix
    starts from this grid, so a return nobody sent shows as missing even before (or without)
    any task recording it."""
    columns = ["authority", "dataset", "quarter", "due_date", "held"]
    if ledger.empty:
        return pd.DataFrame(columns=columns)
    first = min(Quarter.parse(q) for q in ledger["quarter"])
    last = Quarter.of(clock.today()).previous()
    not_held = settings.area.get("not_held", {})
    rows = []
    quarter = first
    while quarter <= last:
        for dataset in DATASETS.values():
            if dataset.mandated:
                rows.append((dataset.authority, dataset.id, quarter.label, quarter.deadline,
                             dataset.id not in not_held))
        quarter = quarter.next()
    return pd.DataFrame(rows, columns=columns)


def tables(settings: Settings) -> dict[str, pd.DataFrame]:
    """Reference tables by name (created as reference.<name>)."""
    lookup = lsoa_lookup(settings)
    weights_by_code, weights_by_type = css_weights(settings)
    return {
        "lsoa_lookup": lookup,
        "css_offence_weights": weights_by_code,
        "css_crime_type_weights": weights_by_type,
        "lsoa_households": households(settings),
        "served_partnerships": served_partnerships(settings),
        "expected_returns": expected_returns(settings, Staging(settings.staging_dir).ledger()),
        # "Today" for the models (csp.clock: CSP_TODAY in tests and replays), so a warehouse
        # rebuilt from the same inputs on the same day gives the same marts.
        "as_of": pd.DataFrame({"today": [clock.today()]}),
        "lsoa21_to_lsoa11": area.lsoa21_to_lsoa11(settings.reference_dir),
        "outward_code_areas": area.outward_code_lsoas(settings.reference_dir),
        "theme_rules": pd.DataFrame(
            [(d, p, t, i) for i, (d, p, t) in enumerate(THEME_RULES)],
            columns=["dataset", "pattern", "theme", "priority"],
        ),
        "secondary_theme_rules": pd.DataFrame(SECONDARY_THEME_RULES, columns=["dataset", "pattern", "theme"]),
        "classifications": pd.DataFrame(list(CLASSIFICATIONS.items()), columns=["dataset", "classification"]),
        "measure_themes": pd.DataFrame(list(MEASURE_THEMES.items()), columns=["measure", "theme"]),
        "located_at_institution": pd.DataFrame(list(LOCATED_AT_INSTITUTION.items()),
                                               columns=["dataset", "institution"]),
    }
