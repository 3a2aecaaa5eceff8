"""The public summary of the assessment and plan, for the council's website: aggregate figures
only, every table through disclosure control (csp.reports.disclosure).

Per source (``config/disclosure.toml``): police-recorded crime, which police.uk already
publishes street by street, is published under its own rule (exact counts by default) and
every other dataset under the default rule (small counts hidden, the rest rounded to 5). The
two never share a published figure, so neither can be recovered from the other by differencing.
For each source:

- events by theme and quarter of the last 12 months, with the 12-month total of each theme;
- events by theme in the 12 months before (its own list: different events, no shared figure);
- for police-recorded crime, events by ward and theme over the last 12 months. Its theme
  totals are the first table's, so the two are protected together.

Percent changes: for a source published as exact counts, from the exact counts (so they are
the internal assessment's figures for that source); for a rounded source, from the published
figures and only where neither is suppressed, so no hidden figure can be recovered from them.

Rates per 1,000 residents (the partnership, the county and the force area) are of events located
to a neighbourhood, on the same numerators for all three, to one decimal: one decimal of a rate
per 1,000 spans more than a rounding step of 5 for any partnership population above 50,000 and
close to it below, and a rate on a count at or below the default threshold is not shown.

The context only carries ProtectedTable objects as tables (``require_protected``), and
``render_public_summary`` refuses anything else: there is no path to a public table that skips
disclosure control.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection

from csp import clock
from csp.config import PROJECT_DIR
from csp.geography import Partnership
from csp.registry import THEMES
from csp.reports import charts, counting, maps, queries
from csp.reports.disclosure import (
    DEFAULT_SOURCE, TOTAL, DisclosureRule, ProtectedTable, Source, Spec, load_rule, load_sources, protect_linked,
    protect_series,
)
from csp.reports.readiness import Period
from csp.templating import render

TEMPLATE = "public_summary.html.j2"
PLAN_FILE = "plan.csv"
NO_WARD = "No ward recorded"
NOTHING_RECORDED = "all_themes"
HELP_CONFIG = PROJECT_DIR / "config" / "public_summary.toml"

# What each theme counts, in words a resident reads: the theme rules of csp.themes, source by source.
THEME_DESCRIPTIONS = {
    "violence": "violence and sexual offences and possession of weapons recorded by the police, violence against "
                "fire and rescue staff, and hospital admissions, ambulance call-outs and emergency department "
                "attendances for assault",
    "domestic_abuse": "domestic incidents recorded by the police, and hospital admissions for domestic abuse",
    "asb": "anti-social behaviour reported to the police and to the council: nuisance, rowdy behaviour, noise, "
           "and malicious false alarms to the fire and rescue service",
    "acquisitive": "robbery, burglary, vehicle crime, shoplifting, bicycle theft and other theft",
    "criminal_damage_arson": "criminal damage and arson recorded by the police, and deliberate fires attended by "
                             "the fire and rescue service",
    "drugs_alcohol": "drug offences recorded by the police, street drinking and drug litter reported to them, and "
                     "hospital admissions and ambulance call-outs caused by alcohol or drugs",
    "hate": "racial incidents reported to the council",
    "road_danger": "road traffic collisions in which someone was hurt, damage-only collisions and other road "
                   "incidents recorded by the police, and ambulance call-outs to traffic incidents",
    "public_safety": "public order and other offences recorded by the police, calls to the police about people's "
                     "safety and welfare (among them the police's record of an injury road collision, which road "
                     "danger counts from the collision records), and dwelling fires with no smoke alarm",
    "young_people": "school exclusions",
    "mental_health": "mental-health outpatient first attendances",
}
DEFAULT_HELP = {
    "emergency": "In an emergency, or if a crime is happening now, call 999.",
    "police": "To report a crime or anti-social behaviour that is not an emergency, call 101 or report it online at "
              "police.uk.",
    "crimestoppers": "To give information anonymously, call Crimestoppers on 0800 555 111 (crimestoppers-uk.org).",
    "asb": "To report anti-social behaviour such as noise, fly-tipping or graffiti, contact your local council.",
    "domestic_abuse": "For help with domestic abuse, call the free 24-hour National Domestic Abuse Helpline on "
                      "0808 2000 247; men can call the Men's Advice Line on 0808 801 0327.",
    "victims": "For support as a victim of crime, whether or not you reported it, call Victim Support on "
               "0808 16 89 111.",
}


@dataclass(frozen=True)
class Family:
    """One source's published tables: its name (the configured source, or DEFAULT_SOURCE),
    what it is called and its rule."""
    name: str
    title: str
    rule: DisclosureRule
    exact: bool


def help_contacts(path: Path = HELP_CONFIG) -> dict[str, str]:
    """How to report and get help: ``[help]`` of config/public_summary.toml over national defaults."""
    configured = {}
    if path.exists():
        with path.open("rb") as fh:
            configured = tomllib.load(fh).get("help", {})
    return {**DEFAULT_HELP, **{k: str(v) for k, v in configured.items()}}


def families(rule: DisclosureRule, sources: list[Source]) -> list[Family]:
    out = [Family(s.name, s.title, s.rule, s.rule.rounding_base == 1 and s.rule.threshold == 0) for s in sources]
    out.append(Family(DEFAULT_SOURCE, "Recorded by the other partners (fire and rescue, council, health)"
                      if sources else "Recorded by the partners", rule, False))
    return out


def family_of(events: pd.DataFrame, sources: list[Source]) -> pd.Series:
    """The published family of each row (dataset, theme)."""
    family = pd.Series(DEFAULT_SOURCE, index=events.index, dtype=object)
    for source in sources:
        covered = events["dataset"].isin(source.datasets) & ~events["theme"].isin(source.exclude_themes)
        family = family.mask(covered & (family == DEFAULT_SOURCE), source.name)
    return family


def public_summary(conn: Connection, partnership: Partnership, period: Period, partnership_dir: Path | None = None,
                   reference_dir: Path | None = None, disclosure_config: Path | None = None) -> dict:
    """The summary's context: ``partnership_dir`` gives the plan (without it the priorities
    read "not yet set"), ``reference_dir`` the boundaries for the map (without it, no map),
    ``disclosure_config`` another disclosure configuration than config/disclosure.toml."""
    codes = [partnership.code]
    bounds = queries.period_bounds(period)
    rule, sources = load_rule(disclosure_config), load_sources(disclosure_config)
    events = queries.public_events(conn, codes, bounds)
    events["month"] = pd.to_datetime(events["month"]).dt.date
    events["family"] = family_of(events, sources)
    wards = queries.partnership_wards(conn, codes)

    tables: dict[str, ProtectedTable] = {}
    shown_families, changes_by_theme = [], {}
    all_themes = _themes(events) or {NOTHING_RECORDED: "All themes"}
    for family in families(rule, sources):
        own = events[events["family"] == family.name]
        themes = _themes(own)
        if not themes:
            continue
        current = own[own["month"] >= bounds["start"]]
        previous = own[own["month"] < bounds["start"]]
        # A record counts under one theme (csp.reports.counting), so a source's themes add up to
        # its total; the other partners' family holds several kinds of record, and a total of
        # those would add one source to another, so its themes are not added up.
        specs = {f"{family.name}.quarters": Spec(_by_quarter(current, period, themes), col_total=family.exact)}
        links = []
        with_wards = family.exact
        if with_wards:
            specs[f"{family.name}.wards"] = Spec(_by_ward(current, wards, themes), row_total=True, col_total=True)
            links = [((f"{family.name}.quarters", t, TOTAL), (f"{family.name}.wards", TOTAL, t))
                     for t in themes.values()]
            links.append(((f"{family.name}.quarters", TOTAL, TOTAL), (f"{family.name}.wards", TOTAL, TOTAL)))
        protected = protect_linked(specs, links, family.rule)
        before = previous.groupby("theme")["events"].sum().reindex(list(themes), fill_value=0)
        before.index = list(themes.values())
        protected[f"{family.name}.previous"] = protect_series(before, name="12 months before", total=family.exact,
                                                              rule=family.rule)
        tables.update(protected)
        exact_now = current.groupby("theme")["events"].sum()
        for theme, name in themes.items():
            changes_by_theme.setdefault(theme, []).append(_change(
                family, protected[f"{family.name}.quarters"], protected[f"{family.name}.previous"], name,
                int(exact_now.get(theme, 0)), int(before.get(name, 0))))
        shown_families.append({"name": family.name, "title": family.title, "rule": family.rule,
                               "exact": family.exact, "wards": with_wards})
    if not tables:  # a partnership with nothing recorded yet still gets its tables: zeros, under one row
        family = families(rule, [])[-1]
        empty = events.iloc[0:0]
        protected = protect_linked({f"{family.name}.quarters": Spec(_by_quarter(empty, period, all_themes))}, [], rule)
        protected[f"{family.name}.previous"] = protect_series(
            pd.Series([0], index=list(all_themes.values())), name="12 months before", rule=rule)
        tables.update(protected)
        shown_families.append({"name": family.name, "title": family.title, "rule": rule, "exact": False,
                               "wards": False})

    context = {
        "partnership": partnership,
        "period_start": bounds["start"],
        "period_end": bounds["end"],
        "previous_start": bounds["prev"],
        "previous_end": period.quarters[0].shift(-1).months[-1],
        "published_on": clock.today(),
        "provisional": period.provisional,
        "missing": list(period.missing),
        "tables": tables,
        "families": shown_families,
        "changes": [{"theme": all_themes.get(t, queries.theme_name(t)), "description": THEME_DESCRIPTIONS.get(t, ""),
                     "sources": rows} for t, rows in sorted(changes_by_theme.items(), key=lambda kv: _order(kv[0]))],
        "priorities": agreed_priorities(partnership_dir, partnership.code) if partnership_dir is not None else None,
        "rates": rates(conn, partnership, period, rule),
        "help": help_contacts(),
        "rule": rule,
        "sources": sources,
        "counted": published_headline(events, shown_families, tables),
        "chart": None,
        "map": None,
    }
    police = next((f for f in shown_families if f["exact"]), None)
    if police is not None:
        context["chart"], context["map"] = _police_figures(conn, partnership, period, events, police, wards,
                                                           reference_dir)
    require_protected(context)
    return context


def published_headline(events: pd.DataFrame, families: list[dict], tables: dict[str, ProtectedTable]) -> dict:
    """The headline as published: the total of a family that is one source and adds its themes
    (police-recorded crime), the protected figure its tables already show; the sources of the
    other families named, with their figures by theme only (no sum of unlike sources)."""
    totals, by_theme = [], []
    for family in families:
        datasets = sorted(events.loc[(events["family"] == family["name"]) & (events["events"] > 0), "dataset"].unique())
        now, before = tables[f"{family['name']}.quarters"], tables[f"{family['name']}.previous"]
        if family["exact"] and len(datasets) == 1 and now.col_total and before.col_total:
            totals.append({"dataset": datasets[0], "counted": counting.counted(datasets[0]),
                           "current": now.text(TOTAL, TOTAL), "previous": before.text(TOTAL, before.column_labels[0])})
        else:
            by_theme += [counting.counted(d) for d in datasets]
    return {"sources": totals, "by_theme": by_theme, "membership": counting.THEME_MEMBERSHIP}


def _order(theme: str) -> int:
    order = list(THEMES)
    return order.index(theme) if theme in order else len(order)


def _change(family: Family, quarters: ProtectedTable, previous: ProtectedTable, name: str,
            exact_now: int, exact_before: int) -> dict:
    """One source's figures for a theme as published, with the percent change: from the exact
    counts for a source published exactly, else from the published figures."""
    now, before = quarters.value(name, TOTAL), previous.value(name, previous.column_labels[0])
    pct = None
    if family.exact:
        if exact_before >= queries.MIN_BASE_FOR_PERCENT:
            pct = 100.0 * (exact_now - exact_before) / exact_before
    elif now is not None and before is not None and before >= queries.MIN_BASE_FOR_PERCENT:
        pct = 100.0 * (now - before) / before
    return {"family": family.title, "current": quarters.format(now), "previous": previous.format(before),
            "change_pct": pct}


def agreed_priorities(partnership_dir: Path, csp: str) -> list[dict] | None:
    """The partnership plan's priorities (plan.csv, as the strategy group agreed them, never
    the system's recommendations), each with its measure and target in words and the plan's
    actions where the plan gives them (an ``actions`` column); None without a plan."""
    plan = queries.partnership_file(partnership_dir, PLAN_FILE)
    if plan.empty:
        return None
    mine = plan[plan["csp_code"] == csp]
    out = []
    for row in mine.itertuples(index=False):
        pct = float(row.target_change_pct)
        aim = ("hold it at its level" if pct == 0 else
               f"{'reduce' if pct < 0 else 'increase'} it by {abs(pct):g}%")
        start = str(row.baseline_period).split("-")[0]
        out.append({"theme": queries.theme_name(row.priority_theme), "measure": row.measure,
                    "target": f"{aim} on the baseline from {start}",
                    "actions": str(getattr(row, "actions", "") or "").strip()})
    return out


def rates(conn: Connection, partnership: Partnership, period: Period, rule: DisclosureRule) -> list[dict]:
    """Per theme: events located to a neighbourhood per 1,000 residents in the partnership, its
    county (two-tier areas) and the force area, 12 months to the period's end, on one numerator."""
    frame = queries.comparison_rates(conn, period, partnership.code, partnership.county_code)
    rows = []
    for theme, own in frame.groupby("theme", sort=False):
        def rate(kind, own=own):
            hit = own[own["area"] == kind]
            if hit.empty or not hit["population"].iloc[0]:
                return None
            count = int(hit["events"].iloc[0])
            return "*" if 0 < count <= rule.threshold else f"{1000.0 * count / hit['population'].iloc[0]:,.1f}"
        rows.append({"theme": queries.theme_name(theme), "order": _order(theme), "csp": rate("csp"),
                     "county": rate("county"), "force": rate("force")})
    return sorted(rows, key=lambda r: r["order"])


def _police_figures(conn: Connection, partnership: Partnership, period: Period, events: pd.DataFrame, family: dict,
                    wards: pd.DataFrame, reference_dir: Path | None):
    """The one chart (police-recorded crime per month, 36 months) and the one map (by ward, per
    1,000 residents): figures police.uk publishes, so showing them exactly discloses nothing."""
    own = events[events["family"] == family["name"]]
    monthly = queries.family_months(conn, partnership.code, period, own["dataset"].unique().tolist(),
                                    own["theme"].unique().tolist())
    chart = charts.monthly_series(
        monthly, title=f"{family['title']} each month, {partnership.name}", y_label="Crimes per month",
        source="Police recorded crime (as published on police.uk)", assessed_from=period.quarters[0].start) \
        if not monthly.empty else None
    if reference_dir is None or wards.empty:
        return chart, None
    current = own[own["month"] >= period.quarters[0].start].groupby("ward_code")["events"].sum()
    population = wards.set_index("ward_code")["population"]
    values = pd.DataFrame({"ward_code": population.index,
                           "value": [1000.0 * current.get(w, 0) / p if p else float("nan")
                                     for w, p in population.items()]})
    area_map = maps.ward_rate_map(
        values, reference_dir, title=f"{family['title']} per 1,000 residents by ward, 12 months to "
                                     f"{period.last.months[-1]:%B %Y}",
        legend_label="Crimes per 1,000 residents", source="Police recorded crime; ONS mid-2020 population",
        area_codes=population.index.tolist())
    return chart, area_map


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
