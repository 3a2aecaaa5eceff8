"""The one Jinja2 environment: autoescaping on, templates from report_templates/, CSS inlined so
each page is one self-contained file. A shared leaf: the reports and ingest's validation page
(csp.quality) both render through it, neither through the other."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from csp import legislation, safe_paths
from csp.config import PROJECT_DIR
from csp.registry import DATASETS

TEMPLATES = PROJECT_DIR / "report_templates"
# Ingest's page, not a report's: it is not part of what renders a report (csp.reports.readiness).
VALIDATION_TEMPLATE = "validation.html.j2"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: "n/a" if missing(n) else f"{int(n):,}"
    env.filters["pct"] = percent_change
    env.filters["qvalue"] = q_value
    env.filters["q"] = q_statement
    env.filters["decimal"] = decimal
    env.filters["label"] = lambda s: "" if s is None else str(s).replace("_", " ")
    env.filters["dataset_title"] = dataset_title
    # {{ si.prescribed_information.cited }}: every page cites an SI from one declaration
    env.globals["si"] = legislation.INSTRUMENTS
    return env


def dataset_title(dataset: str) -> str:
    """The registry's display name of a dataset (its id, spaced, where the registry has none)."""
    return DATASETS[dataset].title if dataset in DATASETS else str(dataset).replace("_", " ")


def percent_change(value) -> str:
    """'+12%', '-3%', '0%'; 'n/a' where no change is shown (None or NaN from pandas)."""
    if missing(value):
        return "n/a"
    rounded = round(value)
    return "0%" if rounded == 0 else f"{rounded:+d}%"


def missing(value) -> bool:
    """None, NaN (float or numpy) or pandas.NA, without importing pandas here."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN is the one value unequal to itself
    except TypeError:  # pandas.NA: its comparisons are NA, which has no truth value
        return True


def q_value(value) -> str:
    """An FDR-adjusted p-value as analysts read it: '< 0.001' rather than 3.2e-07."""
    if missing(value):
        return "n/a"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def q_statement(value) -> str:
    """'q = 0.034' or 'q < 0.001' in a sentence (never 'q = < 0.001')."""
    shown = q_value(value)
    return f"q {shown}" if shown.startswith("<") else f"q = {shown}"


def decimal(value, places: int = 1) -> str:
    return "n/a" if missing(value) else f"{value:,.{places}f}"


CONTENTS_MARK = "<!-- contents -->"
_H2 = re.compile(r"<h2(?P<attrs>[^>]*)>(?P<text>.*?)</h2>", re.S)
_ID = re.compile(r'\bid="([^"]+)"')


def with_contents(html: str) -> str:
    """The page with a contents list (links to every h2 section) where the base template marks
    it; an h2 without an id gets one. The PDF hides the list and has bookmarks instead."""
    if CONTENTS_MARK not in html:
        return html
    entries, used = [], set(_ID.findall(html))

    def anchor(match: re.Match) -> str:
        attrs, text = match.group("attrs"), match.group("text")
        found = _ID.search(attrs)
        if found:
            ident = found.group(1)
        else:
            base = "section-" + (re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]+>", "", text).lower()).strip("-") or "x")
            ident, n = base, 2
            while ident in used:
                ident, n = f"{base}-{n}", n + 1
            used.add(ident)
            attrs = f' id="{ident}"{attrs}'
        entries.append((ident, " ".join(re.sub(r"<[^>]+>", "", text).split())))
        return f"<h2{attrs}>{text}</h2>"

    html = _H2.sub(anchor, html)
    if len(entries) < 2:
        return html.replace(CONTENTS_MARK, "", 1)
    items = "\n".join(f'<li><a href="#{ident}">{text}</a></li>' for ident, text in entries)
    nav = (f'<nav class="contents" aria-labelledby="contents-title"><p class="contents-title" id="contents-title">'
           f"Contents</p>\n<ol>\n{items}\n</ol></nav>")
    return html.replace(CONTENTS_MARK, nav, 1)


def render(template: str, context: dict, path: Path) -> Path:
    html = with_contents(environment().get_template(template).render(**context))
    safe_paths.write_text(path, html)  # inside out/, through no link, never half-written
    return path
