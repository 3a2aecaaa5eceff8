"""The reportable period: the year a warehouse run reports, decided once per run from the marts.

A quarter is reportable once every held dataset of it is in (complete) or its statutory
deadline has passed (provisional: the reports name what is missing); marts.quarter_readiness
says which. The period is the four quarters ending with the latest reportable one. The
warehouse DAG decides it after building the models and hands the same decision to the analysis
and the reports (``to_xcom`` / ``from_xcom``), so the two can never report different years.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from csp.quarters import Quarter

REPORTABLE = ("complete", "provisional")


class Undecided(enum.Enum):
    """The default of a ``period`` parameter: no decision passed in (None is a decision:
    nothing is reportable yet)."""
    UNDECIDED = "undecided"


UNDECIDED = Undecided.UNDECIDED


@dataclass(frozen=True)
class Period:
    """Four quarters ending with the latest reportable one."""
    quarters: tuple[Quarter, ...]
    provisional: bool
    missing: tuple[dict, ...]  # {"quarter", "authority", "dataset", "state"} of each gap
    inputs: tuple[tuple[str, str, int], ...]  # (dataset, quarter, version) loaded

    @property
    def last(self) -> Quarter:
        return self.quarters[-1]

    def to_xcom(self) -> dict:
        """Plain JSON for an Airflow XCom (the analysis and reports tasks read it back)."""
        return {"quarters": [q.label for q in self.quarters], "provisional": self.provisional,
                "missing": [dict(m) for m in self.missing], "inputs": [list(i) for i in self.inputs]}

    @classmethod
    def from_xcom(cls, value: dict) -> Period:
        return cls(quarters=tuple(Quarter.parse(q) for q in value["quarters"]),
                   provisional=bool(value["provisional"]),
                   missing=tuple(dict(m) for m in value["missing"]),
                   inputs=tuple((d, q, int(v)) for d, q, v in value["inputs"]))


def reportable_period(conn: Connection) -> Period | None:
    """The year to report now, or None while no quarter is reportable."""
    ready = pd.read_sql(sa.text("SELECT quarter, state FROM marts.quarter_readiness"), conn)
    ready = ready[ready["state"].isin(REPORTABLE)]
    if ready.empty:
        return None
    last = max(Quarter.parse(q) for q in ready["quarter"])
    quarters = tuple(last.shift(i) for i in range(-3, 1))
    labels = [q.label for q in quarters]
    compliance = pd.read_sql(sa.text(
        "SELECT quarter, authority, dataset, state FROM marts.compliance_matrix WHERE held"), conn)
    gaps = compliance[compliance["quarter"].isin(labels) & ~compliance["state"].isin(["on_time", "late"])]
    loaded = pd.read_sql(sa.text("SELECT dataset, quarter, version FROM staging.loaded_returns"), conn)
    loaded = loaded[loaded["quarter"].isin(labels)].sort_values(["dataset", "quarter"])
    return Period(
        quarters=quarters,
        provisional=not gaps.empty,
        missing=tuple(gaps.sort_values(["quarter", "authority", "dataset"]).to_dict("records")),
        inputs=tuple((d, q, int(v)) for d, q, v in loaded.itertuples(index=False)),
    )
