"""Harm weights, a reference table: the ONS Crime Severity Score weight of each Home Office offence
code and of each police.uk crime type (reference.css_offence_weights, reference.css_crime_type_weights;
the models weight police crimes with them, core.fact_event.harm_weight).

Method
------
The ONS Crime Severity Score (ONS 2016, 'Research outputs: developing a Crime Severity Score for
England and Wales using data on crimes recorded by the police') weights each Home Office offence
code by the average sentence it attracts (days in custody equivalent). police.uk publishes
only 14 broad crime types, so each type gets the **unweighted mean** of the CSS weights of the
Home Office offence codes that map to it (``crime_severity/css_weights_by_ho_offence_code.csv``,
one row per offence code, derived from the mopd police.uk / ONS join file beside it; weights of
about 2020). The mean is a documented simplification: the true type weight is the
volume-weighted mean, which needs offence-level counts the police.uk data does not carry, and
rare grave offences (homicide) pull the mean of 'Violence and sexual offences' up. Pass
``statistic='median'`` for a weight less driven by them.

Anti-social behaviour is not a crime and has no CSS weight: it gets no weight (NaN harm), never
a silent zero. Category names are matched without regard to case ('Other Theft' in the CSS file
is police.uk's 'Other theft').
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

CSS_FILE = Path("crime_severity") / "css_weights_by_ho_offence_code.csv"

# police.uk crime types as spelled in the street files (the category labels of dataset 2)
POLICE_UK_CRIME_TYPES = [
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
]


def _canonical(names: pd.Series) -> pd.Series:
    lookup = {t.casefold(): t for t in POLICE_UK_CRIME_TYPES}
    folded = names.astype(str).str.strip().str.casefold()
    return folded.map(lookup).fillna(names)


def css_weights(reference_dir: Path | str | None = None, *, statistic: str = "mean") -> pd.DataFrame:
    """category (police.uk spelling), css_weight, n_offence_codes, statistic; one row per type."""
    if statistic not in ("mean", "median"):
        raise ValueError("statistic must be 'mean' or 'median'")
    if reference_dir is None:
        from csp.config import settings

        reference_dir = settings().reference_dir
    table = pd.read_csv(Path(reference_dir) / CSS_FILE)
    table = table.dropna(subset=["police_uk_category", "css_weight"])
    table = table.assign(category=_canonical(table["police_uk_category"]))
    out = (table.groupby("category")["css_weight"].agg([statistic, "size"])
           .rename(columns={statistic: "css_weight", "size": "n_offence_codes"}).reset_index())
    out["statistic"] = statistic
    return out.sort_values("css_weight", ascending=False, ignore_index=True)
