"""SQL lives in sql/ and the query modules (DESIGN.md, "The marts are the contract"): the count of
SELECTs written in Python elsewhere (scripts/count_selects.py) may only go down. Each file's
ceiling is today's count; the target is none outside reports/queries.py, the analysis input
module and the warehouse loader. New SQL goes into sql/ or its layer's query module; when a
file's count falls, lower its ceiling here so it cannot creep back."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import count_selects  # noqa: E402

CEILINGS = {
    "plugins/csp/analysis/cross_agency.py": 4,
    "plugins/csp/analysis/locations.py": 7,
    "plugins/csp/analysis/nte.py": 4,
    "plugins/csp/analysis/plan_progress.py": 1,
    "plugins/csp/analysis/run.py": 4,
    "plugins/csp/bench/baselines.py": 5,
    "plugins/csp/key_rotation.py": 3,
    "plugins/csp/reports/problem_profile.py": 4,
    "plugins/csp/status.py": 2,
    "plugins/csp/warehouse/engine.py": 1,
    "plugins/csp/warehouse/models.py": 3,
    "plugins/csp/warehouse/period.py": 3,
    "plugins/csp/warehouse/security.py": 9,
}


def test_no_file_writes_more_sql_in_python_than_its_ceiling():
    over = {name: (n, CEILINGS.get(name, 0)) for name, n in count_selects.counts().items()
            if n > CEILINGS.get(name, 0)}
    assert not over, (
        "SELECTs in Python outside sql/ and the query modules (file: found, allowed): "
        f"{over}; put the SQL in sql/ or the layer's query module")


def test_every_ceiling_is_todays_count():
    """A ceiling above its file's count would let SQL creep back in unnoticed."""
    counts = count_selects.counts()
    loose = {name: (counts.get(name, 0), ceiling) for name, ceiling in CEILINGS.items()
             if counts.get(name, 0) < ceiling}
    assert not loose, f"lower these ceilings to the count found (file: found, ceiling): {loose}"
