"""Jinja2 environment: autoescaping on, templates from report_templates/, CSS inlined so each
report is one self-contained file."""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from csp.config import PROJECT_DIR

TEMPLATES = PROJECT_DIR / "report_templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["pct"] = percent_change
    return env


def percent_change(value) -> str:
    """'+12%', '-3%', '0%'; 'n/a' where no change is shown (None or NaN from pandas)."""
    if value is None or math.isnan(value):
        return "n/a"
    rounded = round(value)
    return "0%" if rounded == 0 else f"{rounded:+d}%"


def render(template: str, context: dict, path: Path) -> Path:
    html = environment().get_template(template).render(**context)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
