"""Calendar quarters, the unit of every statutory return.

A return for quarter Q is due by the end of the following quarter (SI 2007/1831), so the
deadline is derived here and nowhere else. Light module: imported at DAG parse time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_LABEL = re.compile(r"^(\d{4})Q([1-4])$")


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
