"""The registry against the data contract of DESIGN.md and the regulations."""
import re

import pytest

from csp.registry import (
    AUTHORITIES,
    COUNT_COLUMNS,
    DATASETS,
    EVENT_COLUMNS,
    SOURCE_FORMATS,
    THEMES,
)

STOP_WORDS = {"and", "of", "the", "not", "only", "records", "aggregate", "with", "no"}


def design_contract(reference_dir) -> dict[int, str]:
    """Dataset number -> 'fields that must be shared' cell of DESIGN.md's table."""
    text = (reference_dir.parent / "DESIGN.md").read_text()
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", text, re.M)
    return {int(number): fields.strip() for number, _, _, fields in rows}


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower())} - STOP_WORDS


MANDATED = [d for d in DATASETS.values() if d.mandated]


def test_twelve_datasets_four_authorities():
    assert sorted(d.number for d in MANDATED) == list(range(1, 13))
    assert set(AUTHORITIES) == {"police", "fire", "local_authority", "health"}
    assert {d.authority for d in DATASETS.values()} == set(AUTHORITIES)


@pytest.mark.parametrize("dataset", MANDATED, ids=lambda d: d.id)
def test_every_mandated_field_is_in_the_canonical_schema(dataset, reference_dir):
    contract = design_contract(reference_dir)[dataset.number]
    declared = " ".join(dataset.mandated_fields)
    # Both ways: every word of DESIGN's field list is declared, and nothing declared is invented.
    assert words(contract) <= words(declared), (dataset.id, contract)
    assert words(declared) <= words(contract), (dataset.id, declared)
    for field, columns in dataset.mandated_fields.items():
        assert columns, field
        assert set(columns) <= set(dataset.columns), (field, columns)


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.id)
def test_dataset_declarations_are_consistent(dataset):
    assert dataset.kind in {"record", "count"}
    base = EVENT_COLUMNS if dataset.kind == "record" else COUNT_COLUMNS
    assert set(base) <= set(dataset.columns)
    assert set(dataset.source_formats) <= set(SOURCE_FORMATS)
    assert dataset.themes and set(dataset.themes) <= set(THEMES)
    assert set(dataset.unique_key) <= set(dataset.columns)


def test_health_locations_are_outward_codes_only():
    for dataset_id in ("hospital_admissions", "domestic_abuse_admissions"):
        assert DATASETS[dataset_id].mandated_fields.keys() >= {"admission date"}
        assert any("outward" in f.lower() for f in DATASETS[dataset_id].mandated_fields)
