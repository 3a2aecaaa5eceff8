"""The index page ``<out>/index.html``: every report in the output folder, by report type,
partnership and period, with relative links to its HTML and PDF, whether it is provisional
and when it was generated. Built from the files themselves (csp.reports.catalogue), so it
lists exactly what is on disk, whichever run wrote it."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

from csp.reports.catalogue import REPORT_TYPE_NAMES, ReportEntry, find_reports
from csp.templating import render

TYPE_ORDER = list(dict.fromkeys(REPORT_TYPE_NAMES))  # the partnership's products in their usual order


def write_index(out_dir: Path, names: Mapping[str, str] | None = None) -> Path:
    """Write and return ``out_dir/index.html``. ``names`` maps CSP / county codes to names
    (codes are shown where it has none)."""
    out_dir = Path(out_dir)
    names = dict(names or {})
    entries = find_reports(out_dir)
    return render("index.html.j2", {
        "groups": _groups(entries, out_dir, names),
        "report_count": len(entries),
        "generated_at": f"{datetime.now(UTC):%d %B %Y %H:%M} UTC",
    }, out_dir / "index.html")


def _type_key(entry: ReportEntry) -> tuple[int, str]:
    kind = entry.report_type
    return (TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER), kind)


def _groups(entries: list[ReportEntry], out_dir: Path, names: dict[str, str]) -> list[dict]:
    """[{type_name, partnerships: [{name, code, reports: [row...]}]}], latest period first."""
    groups = []
    for _, of_type in groupby(sorted(entries, key=_type_key), key=_type_key):
        of_type = list(of_type)
        by_area = sorted(of_type, key=lambda e: (names.get(e.area, e.area), e.area))
        partnerships = []
        for area, rows in groupby(by_area, key=lambda e: e.area):
            rows = sorted(rows, key=lambda e: (e.period, e.subject), reverse=True)
            partnerships.append({
                "code": area,
                "name": names.get(area, area),
                "reports": [_row(e, out_dir) for e in rows],
            })
        groups.append({"type_name": of_type[0].type_name, "partnerships": partnerships})
    return groups


def _row(entry: ReportEntry, out_dir: Path) -> dict:
    return {
        "title": entry.title,
        "period": entry.period_label,
        "html_href": _href(entry.html, out_dir),
        "pdf_href": _href(entry.pdf, out_dir) if entry.pdf.exists() else None,
        "provisional": entry.provisional,
        "generated": f"{entry.generated_at:%Y-%m-%d %H:%M} UTC",
    }


def _href(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(path, out_dir)).as_posix()
