"""Versioned staging and the returns ledger."""
from __future__ import annotations

import pytest

from csp.staging import Staging
from support.staging import Q, DATASET, frame, quarantine


@pytest.fixture
def landed(tmp_path):
    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text)
        return [path]
    return write


def test_same_files_twice_is_one_version(tmp_path, landed):
    staging = Staging(tmp_path / "staging")
    files = landed("council_asb_2024Q2.csv", "a")
    first = staging.stage(DATASET, Q, files, frame(3), quarantine(1), rows_in=4, rows_loaded=3,
                          validation={"success": True}, validation_html="<html></html>")
    again = staging.stage(DATASET, Q, files, frame(3), quarantine(1), rows_in=4, rows_loaded=3)
    assert again == first and first.version == 1
    assert [e.version for e in staging.versions(DATASET.id, Q)] == [1]  # v1.validation.json is not a version
    folder = staging.folder(DATASET.id, Q)
    assert sorted(p.name for p in folder.iterdir()) == [
        "v1.json", "v1.parquet", "v1.quarantine.csv", "v1.validation.html", "v1.validation.json"]


def test_resubmission_supersedes_and_replaces_not_received(tmp_path, landed):
    staging = Staging(tmp_path / "staging")
    staging.record_status(DATASET, Q, "not_received", "no return by 2024-09-30")
    staging.stage(DATASET, Q, landed("a.csv", "a"), frame(2), quarantine(0), rows_in=2, rows_loaded=2)
    staging.stage(DATASET, Q, landed("b.csv", "b"), frame(5), quarantine(0), rows_in=5, rows_loaded=5)
    ledger = staging.ledger()
    assert ledger[["version", "status", "rows_loaded"]].values.tolist() == [[1, "superseded", 2], [2, "accepted", 5]]
    assert staging.latest_accepted(DATASET.id, Q).version == 2


def test_rows_must_reconcile(tmp_path, landed):
    staging = Staging(tmp_path / "staging")
    with pytest.raises(ValueError, match="rows do not reconcile: 5 in != 3 loaded \\+ 1 quarantined"):
        staging.stage(DATASET, Q, landed("a.csv", "a"), frame(3), quarantine(1), rows_in=5, rows_loaded=3)
    assert not staging.folder(DATASET.id, Q).exists()


def test_rejected_return_has_no_parquet(tmp_path, landed):
    staging = Staging(tmp_path / "staging")
    entry = staging.stage(DATASET, Q, landed("a.csv", "a"), frame(3), quarantine(0), rows_in=3,
                          rows_loaded=3, status="rejected", failures=["event date outside the quarter"])
    assert entry.rows_loaded == 0 and entry.failures == ["event date outside the quarter"]
    assert entry.rows_in == entry.rows_loaded + entry.rows_quarantined + entry.rows_rejected == 3
    assert not (staging.folder(DATASET.id, Q) / "v1.parquet").exists()
    assert staging.latest_accepted(DATASET.id, Q) is None


def test_resending_an_older_version_makes_it_newest_again(tmp_path, landed):
    staging = Staging(tmp_path / "staging")
    first = landed("a.csv", "a")
    staging.stage(DATASET, Q, first, frame(2), quarantine(0), rows_in=2, rows_loaded=2)
    staging.stage(DATASET, Q, landed("b.csv", "b"), frame(5), quarantine(0), rows_in=5, rows_loaded=5)
    back = staging.stage(DATASET, Q, first, frame(2), quarantine(0), rows_in=2, rows_loaded=2)
    assert back.version == 3 and staging.latest_accepted(DATASET.id, Q).rows_loaded == 2
