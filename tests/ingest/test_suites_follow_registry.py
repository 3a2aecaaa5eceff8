"""The expectation suites (expectations/<dataset>.json) check the precisions the registry
declares (csp.registry.TIME_PRECISIONS, LOCATION_PRECISIONS): one list, read by both."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from csp.registry import DATASETS, LOCATION_PRECISIONS, TIME_PRECISIONS

EXPECTATIONS = Path(__file__).resolve().parents[2] / "expectations"
RECORD_DATASETS = [d.id for d in DATASETS.values() if d.kind == "record"]


@pytest.mark.parametrize("dataset_id", RECORD_DATASETS)
def test_precision_value_sets_are_the_registry_s(dataset_id):
    suite = json.loads((EXPECTATIONS / f"{dataset_id}.json").read_text())
    value_sets = {e["kwargs"]["column"]: e["kwargs"].get("value_set") for e in suite["expectations"]
                  if e["kwargs"].get("column") in ("time_precision", "location_precision")
                  and "value_set" in e["kwargs"]}
    assert value_sets == {"time_precision": list(TIME_PRECISIONS), "location_precision": list(LOCATION_PRECISIONS)}
