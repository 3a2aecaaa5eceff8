"""sql/staging/events.sql against the registry: one UNION branch per record-level dataset
(extras included), each selecting the dataset's name, the lineage it keeps and every shared
event column in the registry's order, from that dataset's staging table. A dataset added to the
registry without its branch (or a branch for one that is gone) fails here, not in a report."""
from __future__ import annotations

import re
from pathlib import Path

from csp.registry import DATASETS, EVENT_COLUMNS

EVENTS_SQL = Path(__file__).resolve().parents[2] / "sql" / "staging" / "events.sql"
BRANCH = re.compile(r"SELECT '(?P<dataset>\w+)'(?: AS dataset)?, (?P<columns>[\w, ]+?) FROM staging\.(?P<table>\w+)")


def branches() -> list[re.Match]:
    return list(BRANCH.finditer(EVENTS_SQL.read_text()))


def test_one_branch_per_record_dataset():
    record = [d.id for d in DATASETS.values() if d.kind == "record"]
    found = [m["dataset"] for m in branches()]
    assert found == record, "events.sql's UNION branches must follow the registry's record datasets, in order"


def test_each_branch_selects_the_shared_event_columns_from_its_own_table():
    expected = ["return_id", "source_line", *EVENT_COLUMNS]
    for match in branches():
        assert match["table"] == match["dataset"]
        assert [c.strip() for c in match["columns"].split(",")] == expected, match["dataset"]
