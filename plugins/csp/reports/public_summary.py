"""The public summary of the assessment and plan: aggregate figures only, every table through
disclosure control (csp.reports.disclosure), for publication.

Three tables, each quantity published once:
- events by theme and quarter of the last 12 months, with the 12-month total of each theme;
- events by theme in the 12 months before (its own list: different events, no shared figure);
- events by ward and theme over the last 12 months, with a row for events that have no ward
  (health events are located by postcode district only). Its theme totals are the first
  table's, so the two are protected together.
Percent changes are worked out from the published (rounded) figures and only where neither is
suppressed, so no figure can be recovered from them; no rate is published.

The context only carries ProtectedTable objects as tables (``require_protected``), and
``render_public_summary`` refuses anything else: there is no path to a public table that skips
disclosure control.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from csp.geography import Partnership
from csp.registry import THEMES
from csp.reports import queries
from csp.reports.disclosure import TOTAL, ProtectedTable, Spec, load_rule, protect_linked, protect_series
from csp.reports.readiness import Period
from csp.templating import render

TEMPLATE = "public_summary.html.j2"
NO_WARD = "No ward recorded"

NOTHING_RECORDED = "all_themes"

def public_summary(conn: Connection, partnership: Partnership, period: Period) -> dict:
    codes = [partnership.code]
    bounds = queries.period_bounds(period)
    rule = load_rule()
    events = queries.read(conn, """
        SELECT month, theme, ward_code, CAST(SUM(events) AS BIGINT) AS events
        FROM marts.monthly_counts
        WHERE csp_code IN :codes AND area_status = 'in_area' AND month BETWEEN :prev AND :end
        GROUP BY month, theme, ward_code
    """, codes=codes, **bounds)
    events["month"] = pd.to_datetime(events["month"]).dt.date
    wards = queries.read(conn, """
        SELECT DISTINCT ward_code, ward_name FROM core.dim_geography WHERE csp_code IN :codes AND in_area
    """, codes=codes)

    # A partnership with nothing recorded yet still gets its tables: zeros, under one row.
    themes = _themes(events) or {NOTHING_RECORDED: "All themes"}
    current = events[events["month"] >= bounds["start"]]
    previous = events[events["month"] < bounds["start"]]
    by_quarter = _by_quarter(current, period, themes)
    by_ward = _by_ward(current, wards, themes)
    links = [(("quarters", t, TOTAL), ("wards", TOTAL, t)) for t in themes.values()]
    links.append((("quarters", TOTAL, TOTAL), ("wards", TOTAL, TOTAL)))
    protected = protect_linked({"quarters": Spec(by_quarter), "wards": Spec(by_ward)}, links, rule)
    before = previous.groupby("theme")["events"].sum().reindex(list(themes), fill_value=0)
    before.index = list(themes.values())
    protected["previous"] = protect_series(before, name="12 months before", rule=rule)

    context = {
        "partnership": partnership,
        "period_start": bounds["start"],
        "period_end": bounds["end"],
        "previous_start": bounds["prev"],
        "previous_end": period.quarters[0].shift(-1).months[-1],
        "provisional": period.provisional,
        "missing": list(period.missing),
        "tables": protected,
        "changes": changes(protected["quarters"], protected["previous"], list(themes.values())),
        "priorities": _priorities(conn, partnership.code),
        "rule": rule,
    }
    require_protected(context)
    return context


def render_public_summary(context: dict, path: Path) -> Path:
    """The only way the public summary is written: the context is checked first."""
    require_protected(context)
    return render(TEMPLATE, context, path)


def require_protected(context: dict) -> None:
    """Raise unless every table of the context went through disclosure control and no raw frame
    rides along elsewhere in it."""
    tables = context.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise TypeError("the public summary needs its tables under 'tables'")
    for name, table in tables.items():
        if not isinstance(table, ProtectedTable):
            raise TypeError(f"public table {name!r} is a {type(table).__name__}, not a ProtectedTable: "
                            "pass it through csp.reports.disclosure.protect() first")
    for key, value in context.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, (pd.DataFrame, pd.Series)):
                raise TypeError(f"context entry {key!r} holds raw figures ({type(item).__name__})")


def changes(by_quarter: ProtectedTable, previous: ProtectedTable, themes: list[str]) -> list[dict]:
    """Each theme's last 12 months against the 12 before, as published; the percent change from
    the rounded figures, where both are shown and the base is big enough to mean something."""
    rows = []
    for theme in themes:
        current, before = by_quarter.value(theme, TOTAL), previous.value(theme, previous.column_labels[0])
        pct = None
        if current is not None and before is not None and before >= queries.MIN_BASE_FOR_PERCENT:
            pct = 100.0 * (current - before) / before
        rows.append({"theme": theme, "current": by_quarter.format(current),
                     "previous": previous.format(before), "change_pct": pct})
    return rows


def _themes(events: pd.DataFrame) -> dict[str, str]:
    """Theme id -> published name, in the registry's order, for themes with any event."""
    present = set(events.loc[events["events"] > 0, "theme"])
    ordered = [t for t in THEMES if t in present] + sorted(present - set(THEMES))
    return {t: queries.theme_name(t) for t in ordered}


def _quarter_label(quarter) -> str:
    return f"{quarter.start:%b} to {quarter.end:%b %Y}"


def _by_quarter(current: pd.DataFrame, period: Period, themes: dict[str, str]) -> pd.DataFrame:
    frame = current.copy()
    quarter_of = {m: _quarter_label(q) for q in period.quarters for m in q.months}
    frame["quarter"] = frame["month"].map(quarter_of)
    table = frame.pivot_table(index="theme", columns="quarter", values="events", aggfunc="sum", fill_value=0)
    table = table.reindex(index=list(themes), columns=[_quarter_label(q) for q in period.quarters], fill_value=0)
    table.index = list(themes.values())
    return table.astype("int64")


def _by_ward(current: pd.DataFrame, wards: pd.DataFrame, themes: dict[str, str]) -> pd.DataFrame:
    """Wards (by name, code added where two share a name) x themes, and the events with no ward."""
    names = wards.sort_values(["ward_name", "ward_code"])
    duplicated = names["ward_name"].duplicated(keep=False)
    label = names["ward_name"].where(~duplicated, names["ward_name"] + " (" + names["ward_code"] + ")")
    label_of = dict(zip(names["ward_code"], label, strict=True))
    frame = current.copy()
    frame["ward"] = frame["ward_code"].map(label_of).fillna(NO_WARD)
    table = frame.pivot_table(index="ward", columns="theme", values="events", aggfunc="sum", fill_value=0)
    table = table.reindex(index=[*label, NO_WARD], columns=list(themes), fill_value=0)
    if table.loc[NO_WARD].sum() == 0:
        table = table.drop(index=NO_WARD)
    table.columns = list(themes.values())
    return table.astype("int64")


def _priorities(conn: Connection, csp_code: str) -> list[str] | None:
    """The plan's priorities by rank; None while the priority analysis has not been run."""
    if not queries.table_exists(conn, "analysis", "priorities"):
        return None
    frame = queries.read(conn, """
        SELECT theme, rank FROM analysis.priorities WHERE csp_code = :code AND is_priority ORDER BY rank, theme
    """, code=csp_code)
    return [queries.theme_name(t) for t in frame["theme"]]
