"""Batch acceptance with Great Expectations 1.x, called directly (its Airflow provider cannot
be installed with Airflow 3.3).

Each dataset's suite is `expectations/<dataset>.json`, reviewed like code. Values that depend
on the return (the quarter's dates, the partnership's LSOAs, the plausible row-count band)
are GX suite parameters (``{"$PARAMETER": name}``) supplied at validation time. Suites run in
SUMMARY mode (per-row results with unexpected indices are far too slow at a million rows),
and the stored result is stripped of sample values so no raw cell is ever kept.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from csp.config import PROJECT_DIR

EXPECTATIONS_DIR = PROJECT_DIR / "expectations"


def _quiet_great_expectations() -> None:
    """Keep GX's INFO lines out of the task log, so a task's log shows the task's own lines:
    importing GX logs one per documented function it registers (over 200), and one of its
    modules sets its own logger to INFO when imported (so this runs again after the import)."""
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("great_expectations.") and isinstance(logger, logging.Logger) and logger.level:
            logger.setLevel(max(logger.level, logging.WARNING))
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


_quiet_great_expectations()  # before GX is first imported (inside the functions below)
# Result keys that carry sample values from the data: never stored or shown.
_SAMPLE_KEYS = ("partial_unexpected_list", "partial_unexpected_counts",
                "partial_unexpected_index_list", "unexpected_list", "unexpected_index_list",
                "details", "observed_value_list")


@dataclass(frozen=True)
class BatchOutcome:
    accepted: bool
    failures: list[str]  # one readable reason per failed expectation
    result: dict  # the GX result, without sample values


def suite_path(dataset_id: str) -> Path:
    return EXPECTATIONS_DIR / f"{dataset_id}.json"


@cache
def _batch_definition():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet_great_expectations()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("csp_returns")
    return source.add_dataframe_asset("return").add_batch_definition_whole_dataframe("whole")


def _suite_spec(dataset_id: str) -> dict:
    return json.loads(suite_path(dataset_id).read_text())


# Expectations that read nothing but the columns their kwargs name (and the row count).
_NAMED_COLUMNS_ONLY = {
    "expect_column_to_exist", "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
    "expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique",
    "expect_table_row_count_to_be_between",
}
_COLUMN_KWARGS = ("column", "column_A", "column_B")


def suite_columns(spec: dict) -> set[str] | None:
    """The columns a suite reads, or None when an expectation may read others (a column
    set or count, say)."""
    columns = set()
    for expectation in spec["expectations"]:
        if expectation["type"] not in _NAMED_COLUMNS_ONLY:
            return None
        kwargs = expectation["kwargs"]
        columns.update(kwargs[k] for k in _COLUMN_KWARGS if k in kwargs)
        columns.update(kwargs.get("column_list", []))
    return columns


def _suite_view(frame: pd.DataFrame, spec: dict) -> pd.DataFrame:
    """The frame's columns the suite reads (same rows, same index). GX fingerprints every
    batch by hashing it whole, a second of a million-row validation, mostly spent on columns
    no expectation reads (the 64-character record keys above all); only the fingerprint in
    the stored result's batch_markers changes."""
    needed = suite_columns(spec)
    if needed is None:
        return frame
    kept = [c for c in frame.columns if c in needed] or list(frame.columns[:1])
    return frame[kept]


def _describe(result) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column") or ", ".join(config.kwargs.get("column_list", []))
    reason = (config.meta or {}).get("reason") or config.type.replace("_", " ")
    observed = result.result or {}
    detail = ""
    if "unexpected_count" in observed:
        detail = f" ({observed['unexpected_count']} of {observed.get('element_count')} rows fail)"
    elif "observed_value" in observed and not isinstance(observed["observed_value"], str):
        detail = f" (observed {observed['observed_value']})"
    return f"{reason}{' [' + column + ']' if column else ''}{detail}"


def _strip_samples(value):
    if isinstance(value, dict):
        return {k: _strip_samples(v) for k, v in value.items() if k not in _SAMPLE_KEYS}
    if isinstance(value, list):
        return [_strip_samples(v) for v in value]
    return value


def validate_batch(frame: pd.DataFrame, dataset_id: str, parameters: dict) -> BatchOutcome:
    """Run the dataset's suite on a staged frame and decide acceptance."""
    import great_expectations as gx
    from great_expectations.validator.v1_validator import Validator

    spec = _suite_spec(dataset_id)
    suite = gx.ExpectationSuite(**spec)
    # What ``batch_definition.get_batch(...).validate(suite)`` does, less the first batch:
    # that validator gets its own, so the frame would be loaded and fingerprinted twice.
    validator = Validator(_batch_definition(), result_format="SUMMARY",
                          batch_parameters={"dataframe": _suite_view(frame, spec)})
    result = validator.validate_expectation_suite(suite, expectation_parameters=parameters)
    failures = [_describe(r) for r in result.results if not r.success]
    return BatchOutcome(
        accepted=bool(result.success),
        failures=failures,
        result=_strip_samples(result.to_json_dict()),
    )


def render_result(dataset, quarter, outcome: BatchOutcome) -> str:
    """A Data Docs page for one validation: every expectation, its verdict and its counts.
    Rendered from the stripped result, so it can hold no raw value of the return."""
    from csp.templating import VALIDATION_TEMPLATE, environment

    rows = []
    for result in outcome.result.get("results", []):
        config = result.get("expectation_config", {})
        observed = result.get("result") or {}
        value = observed.get("observed_value")
        rows.append({
            "expectation": config.get("type", ""),
            "column": config.get("kwargs", {}).get("column")
            or ", ".join(config.get("kwargs", {}).get("column_list", [])),
            "reason": (config.get("meta") or {}).get("reason", ""),
            "success": result.get("success"),
            "unexpected": observed.get("unexpected_count"),
            "rows": observed.get("element_count"),
            "observed": value if isinstance(value, (int, float)) else None,
        })
    return environment().get_template(VALIDATION_TEMPLATE).render(
        dataset=dataset, quarter=quarter, accepted=outcome.accepted, rows=rows,
        failures=outcome.failures,
    )
