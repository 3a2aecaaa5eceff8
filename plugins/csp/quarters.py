"""Calendar quarters, the unit of every statutory return.

A return for quarter Q is due by the end of the following quarter (SI 2007/1831), so the
deadline is derived here and nowhere else. Light module: imported at DAG parse time.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, timedelta

_LABEL = re.compile(r"^(\d{4})Q([1-4])$")
# No return, and no record in one, is older than the platform's first quarter. The default is
# the quarter in which the Crime and Disorder Act 1998 created the partnerships (then CDRPs,
# 30 September 1998); a deployment sets its own first quarter.
FIRST_QUARTER_ENV = "CSP_FIRST_QUARTER"
DEFAULT_FIRST_QUARTER = "1998Q3"


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, label: str) -> Quarter:
        match = _LABEL.match(label)
        if not match:
            raise ValueError(f"not a quarter label (expected e.g. 2024Q1): {label!r}")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.q}"

    def __str__(self) -> str:
        return self.label

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> date:
        """Last day of the quarter (inclusive)."""
        return self.next().start - timedelta(days=1)

    @property
    def deadline(self) -> date:
        """Statutory deadline for this quarter's return: the end of the following quarter."""
        return self.next().end

    @property
    def months(self) -> list[date]:
        return [date(self.year, 3 * self.q - 2 + i, 1) for i in range(3)]

    def next(self) -> Quarter:
        return Quarter(self.year + self.q // 4, self.q % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (self.q == 1), (self.q - 2) % 4 + 1)

    def shift(self, n: int) -> Quarter:
        index = self.year * 4 + self.q - 1 + n
        return Quarter(index // 4, index % 4 + 1)


def quarter_range(first: Quarter, count: int) -> list[Quarter]:
    return [first.shift(i) for i in range(count)]


def first_quarter() -> Quarter:
    """The platform's first quarter (``CSP_FIRST_QUARTER``, default 1998Q3)."""
    label = os.environ.get(FIRST_QUARTER_ENV, "").strip() or DEFAULT_FIRST_QUARTER
    try:
        return Quarter.parse(label)
    except ValueError:
        raise ValueError(f"{FIRST_QUARTER_ENV}={label!r} is not a quarter label (expected e.g. 2015Q1)") from None


def impossible_quarter(quarter: Quarter, today: date) -> str | None:
    """Why no return can exist for ``quarter`` (it is before the platform's first quarter, or
    it has not begun), or None. The quarterly ingest, ``csp history`` and ``csp resubmit`` all
    apply it, and ``possible_days`` to each record."""
    first = first_quarter()
    if quarter < first:
        return f"{quarter} is before the platform's first quarter {first} ({FIRST_QUARTER_ENV})"
    if quarter.start > today:
        return f"{quarter} has not begun (today is {today.isoformat()})"
    return None


def possible_days(today: date) -> tuple[date, date]:
    """The first and last day a record may be dated (the first quarter's start, today): any
    other date cannot be. ``csp.sources.frames`` quarantines records outside it
    (``impossible_date``) and ``csp history`` never makes a quarter of them."""
    return first_quarter().start, today
