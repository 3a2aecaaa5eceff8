"""HES admitted patient care extracts (episodes) -> hospital_admissions (9) and
domestic_abuse_admissions (10), one admission per spell.

A spell's admission is its first episode (EPIORDER 1): the extract has no spell id to link
later episodes, so the codes of the first episode decide. Codes are 4-character without a dot
(X991); the artificial extract sometimes packs several codes into one cell separated by
commas, so each cell is split. Location is the outward postcode of residence only: LSOA11 and
every other HES geography column is never read.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from csp.registry import SOURCE_FORMATS
from csp.sources.force_extracts import read_reference
from csp.sources.frames import Parsed, Verdicts, blank_to_null, canonical_frame, check_outward, keep, when_by_format
from csp.sources.reading import read_files

DIAGNOSES = tuple(f"DIAG_4_{i:02d}" for i in range(1, 21))
CODE_COLUMNS = (*DIAGNOSES, "CAUSE_4")
POSTCODE = "POSTCODE_OUTWARD"
DOMESTIC_ABUSE_CODES = ("Y070", "Y071", "Y072")  # maltreatment by partner, parent, acquaintance
NO_POSTCODE_NOTE = "no outward postcode in the extract (no POSTCODE_OUTWARD column): location_precision is none"


@lru_cache(maxsize=1)
def admission_codes() -> pd.DataFrame:
    """The ICD-10 list: code without dot -> csp_group and description."""
    codes = read_reference("health/icd10_csp_admission_codes_who2019.csv")
    return codes.assign(code=codes["code"].str.replace(".", "", regex=False)).set_index("code")


def code_cells(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (row index, position, code): every code of DIAG_4_01..20 then CAUSE_4, in
    that order, upper-cased, with multi-code cells split."""
    present = [c for c in CODE_COLUMNS if c in rows.columns]
    long = rows[present].stack()
    long = long.str.upper().str.split(",").explode().str.strip()
    long = long[long.str.fullmatch(r"[A-Z]\d{2}[0-9A-Z]?")]
    return pd.DataFrame({"row": long.index.get_level_values(0), "code": long.to_numpy()})


def first_match(cells: pd.DataFrame, matches: pd.Series, index) -> pd.Series:
    """The first matching code of each row (null when none): stack() keeps column order."""
    first = cells[matches.to_numpy()].drop_duplicates("row").set_index("row")["code"]
    return first.reindex(index).astype("string")


def categorise(dataset_id: str, rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """-> (category, category_code), null for rows outside the dataset."""
    cells = code_cells(rows)
    codes = admission_codes()
    if dataset_id == "domestic_abuse_admissions":
        code = first_match(cells, cells["code"].str[:4].isin(DOMESTIC_ABUSE_CODES), rows.index)
        label = "Maltreatment " + code.str[:4].map(codes["description"]).str.lower()
    else:
        categories = codes[codes["level"] == "category"]["csp_group"]
        code = first_match(cells, cells["code"].str[:3].isin(categories.index), rows.index)
        label = code.str[:3].map(categories)
    return label.astype("string"), code


def parse(dataset, format_id, paths, quarter) -> Parsed:
    required = SOURCE_FORMATS[format_id].required_columns
    table = read_files(paths, required, (*DIAGNOSES[1:], POSTCODE))
    rows = table.rows
    first_episode = pd.to_numeric(rows["EPIORDER"], errors="coerce").eq(1)
    category, code = categorise(dataset.id, rows[first_episode])
    in_scope = pd.Series(False, index=rows.index)
    in_scope[first_episode] = category.notna().to_numpy()
    rows, category, code = rows[in_scope], category[category.notna()], code[category.notna()]
    verdicts = Verdicts(rows)
    timing = when_by_format(verdicts, rows, format_id, None, quarter)
    has_postcode = POSTCODE in table.columns_seen
    outward = check_outward(verdicts, rows[POSTCODE], POSTCODE)
    values = {
        **timing,
        "source_ref": blank_to_null(rows["EPIKEY"]),
        "category": category,
        "category_code": code,
        "outward_postcode": outward,
        "location_precision": pd.Series(np.where(outward.notna(), "outward_postcode", "none"), index=rows.index),
    }
    ok = verdicts.ok
    frame = canonical_frame(dataset, rows[ok], **keep(values, ok))
    notes = table.notes + ([] if has_postcode else [NO_POSTCODE_NOTE])
    return Parsed(frame, verdicts.quarantine(), len(rows), len(table.rows) - len(rows), notes)
