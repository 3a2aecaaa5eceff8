"""Batch acceptance with the committed GX suites: readable reasons, no raw values kept."""
from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from csp import quality
from csp.ingest import plausible_row_band
from csp.quarters import Quarter
from csp.registry import DATASETS

Q = Quarter(2024, 1)
PARAMS = {
    "quarter_start": pd.Timestamp(Q.start), "quarter_end": pd.Timestamp(Q.end),
    "area_lsoas": ["E01013636", "E01025631"], "area_outward_codes": ["LE1"],
    "min_rows": 0, "max_rows": 10**9,
}


def racial_incidents(n: int) -> pd.DataFrame:
    dataset = DATASETS["racial_incidents"]
    frame = pd.DataFrame({c: [None] * n for c in dataset.columns})
    frame["record_key"] = [f"{i:064x}" for i in range(n)]
    frame["event_date"] = pd.Timestamp("2024-02-10")
    frame["category"] = "Verbal abuse"
    frame["time_precision"] = "day"
    frame["location_precision"] = "lsoa"
    frame["lsoa_code"] = "E01013636"
    return frame


@pytest.mark.parametrize("dataset", DATASETS.values(), ids=lambda d: d.id)
def test_every_dataset_has_a_suite_covering_its_mandated_columns(dataset):
    spec = json.loads(quality.suite_path(dataset.id).read_text())
    assert spec["name"] == dataset.id
    checked = {e["kwargs"]["column"] for e in spec["expectations"] if e["type"] == "expect_column_to_exist"}
    assert checked == {c for cols in dataset.mandated_fields.values() for c in cols}
    assert all(e["meta"]["reason"] for e in spec["expectations"])


def test_clean_return_is_accepted():
    outcome = quality.validate_batch(racial_incidents(50), "racial_incidents", PARAMS)
    assert outcome.accepted and outcome.failures == []


def test_rejections_name_their_reason_and_keep_no_raw_values():
    frame = racial_incidents(50)
    frame.loc[:9, "event_date"] = pd.Timestamp("2023-12-31")  # before the quarter
    frame.loc[10:, "lsoa_code"] = "W01SECRETVALUE"  # outside the area for 80 %
    frame.loc[1, "record_key"] = frame.loc[0, "record_key"]
    outcome = quality.validate_batch(frame, "racial_incidents", PARAMS)
    assert not outcome.accepted
    assert outcome.failures == [
        "event date outside the quarter [event_date] (10 of 50 rows fail)",
        "too few rows located inside the partnership area [lsoa_code] (40 of 50 rows fail)",
        "duplicate records (same source reference twice) [record_key] (2 of 50 rows fail)",
    ]
    stored = json.dumps(outcome.result, default=str)
    assert "W01SECRETVALUE" not in stored and frame.loc[0, "record_key"] not in stored
    html = quality.render_result(DATASETS["racial_incidents"], Q, outcome)
    assert "rejected" in html and "W01SECRETVALUE" not in html


def test_row_count_band():
    assert plausible_row_band([]) == (0, sys.maxsize)  # no history: no band
    low, high = plausible_row_band([1000, 1100, 900, 1050])
    assert 300 < low < 500 and 2100 < high < 2300
    assert plausible_row_band([3, 2, 4])[0] == 0
    frame = racial_incidents(30)
    outcome = quality.validate_batch(frame, "racial_incidents", {**PARAMS, "min_rows": 100, "max_rows": 500})
    assert outcome.failures == [
        "row count outside the plausible band of the authority's previous quarters (observed 30)"]


VALIDATE_IN_A_TASK_LIKE_PROCESS = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(name)s %(message)s")
sys.path.insert(0, sys.argv[1])
from test_quality import PARAMS, racial_incidents
from csp import quality
outcome = quality.validate_batch(racial_incidents(20), "racial_incidents", PARAMS)
logging.getLogger("csp.ingest").info("validated: accepted=%s", outcome.accepted)
"""


def test_validation_keeps_great_expectations_info_out_of_the_log():
    """An Airflow task logs at INFO: a validation (GX imported for the first time in the
    process, as in every ingest task) adds no Great Expectations line to it, where importing GX
    alone used to add over 200."""
    import subprocess
    from pathlib import Path

    result = subprocess.run([sys.executable, "-c", VALIDATE_IN_A_TASK_LIKE_PROCESS, str(Path(__file__).parent)],
                            capture_output=True, text=True, check=True, timeout=300)
    lines = result.stdout.splitlines()
    assert lines[-1] == "INFO csp.ingest validated: accepted=True"
    assert [line for line in lines if "great_expectations" in line] == []
