"""The statutory instruments the platform cites, declared once: every report footer, chart
source and page reads its number and title from here, so no page can pair one SI's number
with the other's title (SI 2007/1830 and 2007/1831 are made the same day and easily swapped).
A shared leaf: light, imported by the templating environment and at DAG parse time."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Instrument:
    number: str  # "2007/1831"
    title: str

    @property
    def short(self) -> str:
        """'SI 2007/1831'."""
        return f"SI {self.number}"

    @property
    def cited(self) -> str:
        """'the Crime and Disorder (...) Regulations 2007 (SI 2007/1831)'."""
        return f"the {self.title} ({self.short})"


# The duty to share the quarterly depersonalised returns: what the platform ingests.
PRESCRIBED_INFORMATION = Instrument("2007/1831", "Crime and Disorder (Prescribed Information) Regulations 2007")
# The duty to prepare the strategic assessment and the partnership plan from them.
STRATEGY = Instrument("2007/1830", "Crime and Disorder (Formulation and Implementation of Strategy) Regulations 2007")

INSTRUMENTS = {"prescribed_information": PRESCRIBED_INFORMATION, "strategy": STRATEGY}
