"""The Reports page: every rendered report in the output folder (csp.reports.catalogue, the
same reading the index page uses), by partnership (or county), newest period first."""
from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from csp.reports.catalogue import REPORT_TYPE_NAMES, ReportEntry

TYPE_ORDER = list(dict.fromkeys(REPORT_TYPE_NAMES))


@dataclass(frozen=True)
class ListedReport:
    type_name: str
    title: str
    period: str
    html: str  # path below the output folder, as the page links it
    pdf: str | None
    provisional: bool | None
    generated: str


@dataclass(frozen=True)
class AreaReports:
    code: str
    name: str
    reports: tuple[ListedReport, ...]


def _below(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(path, out_dir)).as_posix()


def by_area(entries: list[ReportEntry], out_dir: Path, names: dict[str, str]) -> list[AreaReports]:
    def type_rank(entry: ReportEntry) -> int:
        return TYPE_ORDER.index(entry.report_type) if entry.report_type in TYPE_ORDER else len(TYPE_ORDER)

    areas = []
    ordered = sorted(entries, key=lambda e: (names.get(e.area, e.area), e.area))
    for code, rows in groupby(ordered, key=lambda e: e.area):
        rows = sorted(rows, key=lambda e: (e.period, -type_rank(e), e.subject), reverse=True)
        areas.append(AreaReports(code, names.get(code, code), tuple(
            ListedReport(type_name=e.type_name, title=e.title, period=e.period_label,
                         html=_below(e.html, out_dir), pdf=_below(e.pdf, out_dir) if e.pdf.exists() else None,
                         provisional=e.provisional, generated=f"{e.generated_at:%Y-%m-%d %H:%M} UTC")
            for e in rows)))
    return areas
