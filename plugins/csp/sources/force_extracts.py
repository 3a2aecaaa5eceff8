"""Force crime and incident extracts (contracts force_crimes, force_incidents): a police force's
own records with date, time and Home Office offence code or NSIR incident category."""
from __future__ import annotations

from functools import lru_cache
import pandas as pd

from csp.config import settings
from csp.registry import SOURCE_FORMATS
from csp.sources.frames import Parsed, Verdicts, blank_to_null, canonical_frame, keep, when_by_format, where
from csp.sources.police_uk import CRIME_TYPES
from csp.sources.reading import read_files

NSIR_QUALIFIERS = ("Personal", "Nuisance", "Environmental")
# Dataset 1 is the NSIR Transport, ASB and Public Safety and Welfare themes; crime and
# administration codes of a force's CAD list belong to no part of it.
INCIDENT_GROUPS = ("Transport", "Anti Social Behaviour", "Public Safety and Welfare")


def read_reference(relative: str) -> pd.DataFrame:
    return pd.read_csv(settings().reference_dir / relative, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@lru_cache(maxsize=1)
def nsir_categories() -> pd.DataFrame:
    """NSIR incident categories: category, mps_cad_code, mps_group, mps_asb_qualifier, with a
    lower-cased ``key`` to match on."""
    codes = read_reference("incident_categories/mps_cad_incident_codes_nsir_groups.csv")
    return codes.assign(key=codes["category"].str.lower())


@lru_cache(maxsize=1)
def offence_groups() -> pd.Series:
    """Home Office offence code -> ONS offence group."""
    weights = read_reference("crime_severity/css_weights_by_ho_offence_code.csv")
    return weights.drop_duplicates("ho_offence_code").set_index("ho_offence_code")["ons_offence_group"]


def lookup(values: pd.Series, table: pd.Series) -> pd.Series:
    """Map values through ``table`` (null when absent), keeping the index."""
    return values.map(table).astype("string")


def check_qualifier(verdicts: Verdicts, raw: pd.Series) -> pd.Series:
    qualifier = raw.str.capitalize()
    verdicts.check_known(qualifier.isin(NSIR_QUALIFIERS), raw, "nsir_qualifier", allow_blank=True)
    return blank_to_null(qualifier)


def parse(dataset, format_id, paths, quarter) -> Parsed:
    table = read_files(paths, SOURCE_FORMATS[format_id].required_columns, allow_xlsx=True)
    rows = table.rows
    if format_id == "force_incidents":
        # Known codes outside the incident themes (crimes, administration) are out of scope;
        # unknown ones are quarantined below.
        group = rows["nsir_category"].str.lower().map(nsir_categories().set_index("key")["mps_group"])
        in_scope = group.isna() | group.isin(INCIDENT_GROUPS)
        rows = rows[in_scope]
    verdicts = Verdicts(rows)
    location = where(verdicts, rows, lsoa="lsoa_code", latitude="latitude", longitude="longitude")
    specific = _crime_values if format_id == "force_crimes" else _incident_values
    values = {**location, **specific(verdicts, rows, quarter)}
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    out_of_scope = len(table.rows) - len(rows)
    return Parsed(frame, verdicts.quarantine(), len(rows), out_of_scope, table.notes)


def _crime_values(verdicts: Verdicts, rows: pd.DataFrame, quarter) -> dict:
    ho_code = rows["ho_offence_code"].str.upper()
    group = lookup(ho_code, offence_groups())
    verdicts.check_known(group.notna(), rows["ho_offence_code"], "ho_offence_code")
    verdicts.check_known(rows["crime_type"].isin(CRIME_TYPES), rows["crime_type"], "crime_type")
    return {**when_by_format(verdicts, rows, "force_crimes", "offence_time", quarter),
            "source_ref": blank_to_null(rows["crime_ref"]), "category": rows["crime_type"],
            "category_code": ho_code, "offence_group": group}


def _incident_values(verdicts: Verdicts, rows: pd.DataFrame, quarter) -> dict:
    categories = nsir_categories().set_index("key")
    key = rows["nsir_category"].str.lower()
    verdicts.check_known(key.isin(categories.index), rows["nsir_category"], "nsir_category")
    return {**when_by_format(verdicts, rows, "force_incidents", "incident_time", quarter),
            "source_ref": blank_to_null(rows["incident_ref"]),
            "category": lookup(key, categories["category"]),
            "category_code": lookup(key, categories["mps_cad_code"]),
            "nsir_qualifier": check_qualifier(verdicts, rows["nsir_qualifier"])}
