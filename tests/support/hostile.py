"""Builders and fixtures of the hostile-input tests (tests/*/test_hostile_*.py): a small valid
return, the quarter's landing folder, and the JailGuard every such test runs under."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from csp.quarters import Quarter
from support.jail_guard import JailGuard

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT_DIR / "docs" / "data-contracts" / "templates"
Q = Quarter(2024, 1)
ASB = "council_asb_2024Q1.csv"


def asb_return(n: int = 4, ref: str = "ASB") -> bytes:
    """A valid council ASB return of ``n`` rows (from the contract's template), dated 2024-01-10."""
    with (TEMPLATES / "council_asb.csv").open(newline="", encoding="utf-8") as handle:
        base = next(csv.DictReader(handle))
    out = io.StringIO()
    writer = csv.DictWriter(out, list(base), lineterminator="\n")
    writer.writeheader()
    writer.writerows({**base, "incident_ref": f"{ref}-{i}"} for i in range(n))
    return out.getvalue().encode()


@pytest.fixture
def guard(workspace, tmp_path):
    """The test's JailGuard: started by the test once its hostile files are in place, checked
    when the test ends (or earlier, by the test, before it inspects the bait itself)."""
    guard = JailGuard(tmp_path, workspace.data_dir, workspace.out_dir)
    yield guard
    assert guard.inotify is not None or guard.checked, "the test never started its JailGuard"
    guard.check()


@pytest.fixture
def landing(workspace) -> Path:
    """The local authority's 2024Q1 landing folder, empty."""
    folder = workspace.landing_dir / "local_authority" / Q.label
    folder.mkdir(parents=True)
    return folder
