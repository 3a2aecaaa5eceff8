"""Local authority contracts: school_exclusions (6), racial_incidents (7), council_asb (8)."""
from __future__ import annotations

import pandas as pd

from csp.registry import SOURCE_FORMATS
from csp.sources.force_extracts import check_qualifier, lookup, nsir_categories
from csp.sources.frames import (ISO_DATE, Parsed, Verdicts, blank_to_null, canonical_frame, keep,
                                parse_date, parse_number, when_by_format, where)
from csp.sources.reading import SourceError, read_files

# School census exclusion reason codes (DfE).
EXCLUSION_REASONS = {
    "PP": "Physical assault against a pupil",
    "PA": "Physical assault against an adult",
    "VP": "Verbal abuse / threatening behaviour against a pupil",
    "VA": "Verbal abuse / threatening behaviour against an adult",
    "BU": "Bullying",
    "RA": "Racist abuse",
    "SM": "Sexual misconduct",
    "DA": "Drug and alcohol related",
    "DM": "Damage",
    "TH": "Theft",
    "PD": "Persistent disruptive behaviour",
    "OT": "Other",
}
EXCLUSION_TYPES = ("fixed", "permanent")
GENDERS = ("M", "F", "U")
PUPIL_AGES = (2, 19)  # compulsory school age with nursery and sixth form either side
RACIAL_INCIDENT_TYPES = ("Verbal abuse", "Physical assault", "Damage to property", "Graffiti",
                         "Written / online abuse", "Other")
ASB_GROUP = "Anti Social Behaviour"


def _school_exclusions(verdicts: Verdicts, rows: pd.DataFrame, quarter) -> dict:
    code = rows["reason_code"].str.upper()
    verdicts.check_known(code.isin(EXCLUSION_REASONS), rows["reason_code"], "reason_code")
    kind = rows["exclusion_type"].str.lower()
    verdicts.check_known(kind.isin(EXCLUSION_TYPES), rows["exclusion_type"], "exclusion_type")
    gender = rows["pupil_gender"].str.upper()
    verdicts.check_known(gender.isin(GENDERS), rows["pupil_gender"], "pupil_gender")
    age, bad_age = parse_number(rows["pupil_age"])
    from_birth, bad_birth = age_at(rows["pupil_date_of_birth"], rows["start_date"])
    verdicts.flag(bad_birth, "invalid_value", "pupil_date_of_birth is not a date in YYYY-MM-DD form")
    age = age.fillna(from_birth)
    bad_age |= age.notna() & ~(age.between(*PUPIL_AGES) & age.eq(age.round()))
    verdicts.flag(bad_age, "invalid_value",
                  f"pupil_age is not a whole number of years from {PUPIL_AGES[0]} to {PUPIL_AGES[1]}")
    return {
        **when_by_format(verdicts, rows, "school_exclusions", None, quarter),
        **where(verdicts, rows, lsoa="school_lsoa"),
        "source_ref": blank_to_null(rows["exclusion_ref"]),
        "category": code.map(EXCLUSION_REASONS),
        "category_code": code,
        "exclusion_type": kind,
        "pupil_gender": gender,
        "pupil_age": age.where(~bad_age).round().astype("Int64"),
        "school_name": blank_to_null(rows["school_name"]),
        "school_address": blank_to_null(rows["school_address"]),
    }


def age_at(birth: pd.Series, day: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole years from a date of birth to a day (both YYYY-MM-DD): the age replaces the date
    of birth, which goes no further. -> (ages as floats, mask of unreadable dates of birth)."""
    born, on = parse_date(birth, ISO_DATE), parse_date(day, ISO_DATE)
    before_birthday = (on.dt.month < born.dt.month) | ((on.dt.month == born.dt.month) & (on.dt.day < born.dt.day))
    return (on.dt.year - born.dt.year - before_birthday).astype("float64"), birth.ne("") & born.isna()


def _racial_incidents(verdicts: Verdicts, rows: pd.DataFrame, quarter) -> dict:
    verdicts.check_known(rows["incident_type"].isin(RACIAL_INCIDENT_TYPES), rows["incident_type"], "incident_type")
    return {
        **when_by_format(verdicts, rows, "racial_incidents", "incident_time", quarter),
        **where(verdicts, rows, lsoa="lsoa_code"),
        "source_ref": blank_to_null(rows["incident_ref"]),
        "category": rows["incident_type"],
        # Free text: carried only to depersonalisation, which redacts personal data from it.
        "location_description": blank_to_null(rows["location_description"]),
    }


def _council_asb(verdicts: Verdicts, rows: pd.DataFrame, quarter) -> dict:
    categories = nsir_categories()
    asb = categories[categories["mps_group"] == ASB_GROUP].set_index("key")
    key = rows["asb_category"].str.lower()
    verdicts.check_known(key.isin(asb.index), rows["asb_category"], "asb_category")
    return {
        **when_by_format(verdicts, rows, "council_asb", "incident_time", quarter),
        **where(verdicts, rows, lsoa="lsoa_code"),
        "source_ref": blank_to_null(rows["incident_ref"]),
        "category": lookup(key, asb["category"]),
        "category_code": lookup(key, asb["mps_cad_code"]),
        "nsir_qualifier": check_qualifier(verdicts, rows["nsir_qualifier"]),
    }


BUILDERS = {"school_exclusions": _school_exclusions, "racial_incidents": _racial_incidents,
            "council_asb": _council_asb}


def parse(dataset, format_id, paths, quarter) -> Parsed:
    source = SOURCE_FORMATS[format_id]
    table = read_files(paths, source.required_columns, source.optional_columns, allow_xlsx=True)
    if source.optional_columns and not set(source.optional_columns) & table.columns_seen:
        raise SourceError(paths[0], "missing_column",
                          f"missing required columns: one of {', '.join(source.optional_columns)}", line=1)
    rows = table.rows
    verdicts = Verdicts(rows)
    values = BUILDERS[format_id](verdicts, rows, quarter)
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    return Parsed(frame, verdicts.quarantine(), len(rows), 0, table.notes)
