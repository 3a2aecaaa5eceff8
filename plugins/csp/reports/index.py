"""The index page ``<out>/index.html``: one matrix of every partnership (and county) by product,
each cell the latest report of that kind with its period, whether it is provisional, and links
to its HTML, PDF and data pack; earlier reports listed below it; and how to ask for a problem
profile. Built from the files themselves (csp.reports.catalogue), so it lists exactly what is on
disk, whichever run wrote it."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from csp.reports.catalogue import REPORT_TYPE_NAMES, ReportEntry, find_reports
from csp.templating import render

TYPE_ORDER = list(dict.fromkeys(REPORT_TYPE_NAMES))  # the partnership's products in their usual order
DATA_PACK_SUFFIXES = (".csv", ".zip")  # a report's data pack: files named after it (assessment's data packs)


def write_index(out_dir: Path, names: Mapping[str, str] | None = None) -> Path:
    """Write and return ``out_dir/index.html``. ``names`` maps CSP / county codes to names
    (codes are shown where it has none)."""
    out_dir = Path(out_dir)
    names = dict(names or {})
    entries = find_reports(out_dir)
    columns = _columns(entries)
    rows, earlier = _matrix(entries, out_dir, names, columns)
    return render("index.html.j2", {
        "columns": [{"kind": kind, "name": _type_name(kind, entries)} for kind in columns],
        "rows": rows,
        "earlier": earlier,
        "report_count": len(entries),
        "generated_at": f"{datetime.now(UTC):%d %B %Y %H:%M} UTC",
    }, out_dir / "index.html")


def _type_key(kind: str) -> tuple[int, str]:
    return (TYPE_ORDER.index(kind) if kind in TYPE_ORDER else len(TYPE_ORDER), kind)


def _columns(entries: list[ReportEntry]) -> list[str]:
    return sorted({e.report_type for e in entries}, key=_type_key)


def _type_name(kind: str, entries: list[ReportEntry]) -> str:
    return next(e.type_name for e in entries if e.report_type == kind)


def _matrix(entries: list[ReportEntry], out_dir: Path, names: dict[str, str], columns: list[str]):
    """Rows (one per area, by name) of cells (per product: the latest period's reports, one for
    most products, one per theme for problem profiles), and every earlier report."""
    areas = sorted({e.area for e in entries}, key=lambda a: (names.get(a, a), a))
    rows, earlier = [], []
    for area in areas:
        cells = []
        for kind in columns:
            mine = sorted((e for e in entries if e.area == area and e.report_type == kind),
                          key=lambda e: (e.period, e.subject), reverse=True)
            latest = mine[0].period if mine else None
            cells.append([_row(e, out_dir) for e in mine if e.period == latest])
            earlier += [{**_row(e, out_dir), "area": names.get(area, area), "type_name": e.type_name}
                        for e in mine if e.period != latest]
        rows.append({"code": area, "name": names.get(area, area), "cells": cells})
    return rows, earlier


def _row(entry: ReportEntry, out_dir: Path) -> dict:
    pack = [p for p in sorted(entry.html.parent.glob(f"{entry.html.stem}*")) if p.suffix in DATA_PACK_SUFFIXES]
    return {
        "title": entry.title,
        "theme": entry.subject.split("/", 1)[1].replace("_", " ") if "/" in entry.subject else None,
        "period": entry.period_label,
        "html_href": _href(entry.html, out_dir),
        "pdf_href": _href(entry.pdf, out_dir) if entry.pdf.exists() else None,
        "pack": [{"href": _href(p, out_dir), "name": p.name} for p in pack],
        "provisional": entry.provisional,
        "generated": f"{entry.generated_at:%Y-%m-%d %H:%M} UTC",
    }


def _href(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(path, out_dir)).as_posix()
