"""The attacker's side of disclosure control, written apart from csp.reports.disclosure so that
the test does not grade the step with its own arithmetic.

The attacker reads only what is published (the HTML, or the shown figures of a table) and the
rule: a suppressed figure is at least 1 (0 when zeros are suppressed too); a shown 0 is a true
zero; a shown v > 0 is a true count in v's rounding range (8-12 for 10 with base 5) and above
the threshold. Each row and column adds up to its total, and figures published twice (a margin
two tables share) are one unknown. For every figure, the smallest and largest true values
consistent with all that are linear programmes (scipy's HiGHS). A publication is safe when:

- no shown figure is a small count (1..threshold) and every one is a multiple of the base;
- no row or column holds exactly one suppressed figure (plain differencing);
- every suppressed figure's range is at least the rule's protection width;
- no rounded figure is pinned to a single value.

``assert_disclosure_safe(html)`` applies this to every table of a rendered page. Every table
must be marked as protected (class "protected"), so an unprotected table fails the check; a
table names the source rule it was published under (``data-rule``, config/disclosure.toml), and
the tables of each rule are attacked together (tables of different sources share no figure).
The one table of another kind is a table of rates (class "rates"): it may hold only rates to one
decimal or the marker, never a count.
A table that shares a margin declares it with ``data-columns-are-rows-of="<other table id>"``:
its column totals are the other table's row totals and the grand totals are the same figure.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
from scipy.optimize import linprog

from csp.reports.disclosure import DisclosureRule, load_rule

TOTAL = "Total"


@dataclass
class Published:
    """A table as the reader sees it: labels and the shown texts, totals included."""
    name: str
    rows: list[str]
    columns: list[str]
    texts: list[list[str]]
    row_total: bool
    col_total: bool
    columns_are_rows_of: str | None = None
    rule_name: str = "default"


def from_protected(name: str, table, columns_are_rows_of: str | None = None) -> Published:
    """The reader's view of a ProtectedTable: only its shown texts."""
    return Published(name, list(table.row_labels), list(table.column_labels),
                     [[table.format(v) for v in row] for row in table.shown],
                     table.row_total, table.col_total, columns_are_rows_of)


class _TableParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"attrs": attrs, "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []
        elif tag == "caption":
            self._in_caption = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._cell is not None and not self._in_caption:
            self._cell.append(data)


def parse_tables(html: str) -> list[Published]:
    parser = _TableParser()
    parser.feed(html)
    tables = []
    for k, raw in enumerate(parser.tables):
        attrs = raw["attrs"]
        if "rates" in attrs.get("class", "").split():
            for row in raw["rows"][1:]:
                for text in row[1:]:
                    assert re.fullmatch(r"[\d,]+\.\d|\*|n/a", text), f"rates table {k}: {text!r} is not a rate"
            continue
        assert "protected" in attrs.get("class", "").split(), (
            f"table {k} ({attrs}) did not pass through disclosure control")
        header, *body = [r for r in raw["rows"] if r]
        tables.append(Published(
            name=attrs.get("id", f"table{k}"),
            rows=[r[0] for r in body],
            columns=header[1:],
            texts=[r[1:] for r in body],
            row_total=attrs.get("data-row-total") == "yes",
            col_total=attrs.get("data-col-total") == "yes",
            columns_are_rows_of=attrs.get("data-columns-are-rows-of"),
            rule_name=attrs.get("data-rule", "default"),
        ))
    return tables


def shown_value(text: str, rule: DisclosureRule) -> int | None:
    """None for the marker; the whole number shown otherwise (anything else is an error)."""
    if text == rule.marker:
        return None
    digits = text.replace(",", "")
    assert digits.isdigit(), f"{text!r} is neither a count nor the suppression marker"
    return int(digits)


def attacker_bounds(value: int | None, rule: DisclosureRule) -> tuple[int, float]:
    if value is None:
        return (0 if rule.suppress_zero else 1), math.inf
    if value == 0:
        return 0, 0
    half_down = rule.rounding_base // 2
    half_up = rule.rounding_base - 1 - half_down
    return max(value - half_down, rule.threshold + 1), value + half_up


@dataclass
class _System:
    """All figures of the tables as LP variables, with the additivity and link equations."""
    index: dict[tuple[str, int, int], int] = field(default_factory=dict)
    values: list[int | None] = field(default_factory=list)
    equations: list[dict[int, float]] = field(default_factory=list)


def _build(tables: list[Published], rule: DisclosureRule) -> _System:
    system = _System()
    for t in tables:
        assert len(t.texts) == len(t.rows) and all(len(r) == len(t.columns) for r in t.texts), t.name
        for i, row in enumerate(t.texts):
            for j, text in enumerate(row):
                system.index[(t.name, i, j)] = len(system.values)
                system.values.append(shown_value(text, rule))
        n_rows, n_cols = len(t.rows), len(t.columns)
        if t.row_total:
            assert t.columns[-1] == TOTAL, f"{t.name}: row totals must be the last column"
            for i in range(n_rows):
                equation = {system.index[(t.name, i, j)]: 1.0 for j in range(n_cols - 1)}
                equation[system.index[(t.name, i, n_cols - 1)]] = -1.0
                system.equations.append(equation)
        if t.col_total:
            assert t.rows[-1] == TOTAL, f"{t.name}: column totals must be the last row"
            for j in range(n_cols):
                equation = {system.index[(t.name, i, j)]: 1.0 for i in range(n_rows - 1)}
                equation[system.index[(t.name, n_rows - 1, j)]] = -1.0
                system.equations.append(equation)
    by_name = {t.name: t for t in tables}
    for t in tables:
        if t.columns_are_rows_of:
            _link_margin(system, t, by_name[t.columns_are_rows_of])
    return system


def _link_margin(system: _System, table: Published, other: Published) -> None:
    """``table``'s column totals are ``other``'s row totals: the same figure, shown the same."""
    assert table.col_total and other.row_total, (table.name, other.name)
    for j, column in enumerate(table.columns):
        i = other.rows.index(column)  # TOTAL pairs the two grand totals
        mine = system.index[(table.name, len(table.rows) - 1, j)]
        theirs = system.index[(other.name, i, len(other.columns) - 1)]
        assert system.values[mine] == system.values[theirs], (
            f"{column!r} is shown differently in {table.name} and {other.name}")
        system.equations.append({mine: 1.0, theirs: -1.0})


def attack(tables: list[Published], rule: DisclosureRule) -> dict[tuple[str, int, int], tuple[float, float]]:
    """The smallest and largest true value of every figure consistent with the publication."""
    system = _build(tables, rule)
    n = len(system.values)
    bounds = [attacker_bounds(v, rule) for v in system.values]
    lp_bounds = [(lo, None if math.isinf(hi) else hi) for lo, hi in bounds]
    a_eq = np.zeros((len(system.equations), n))
    for k, equation in enumerate(system.equations):
        for var, coefficient in equation.items():
            a_eq[k, var] = coefficient
    ranges = {}
    for key, var in system.index.items():
        if not system.equations:
            ranges[key] = bounds[var]
            continue
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(n)
            c[var] = sign
            result = linprog(c, A_eq=a_eq, b_eq=np.zeros(len(a_eq)), bounds=lp_bounds, method="highs")
            assert result.status in (0, 3), f"publication is inconsistent: {result.message}"
            ends.append(math.inf if result.status == 3 else sign * result.fun)
        ranges[key] = (ends[0], ends[1])
    return ranges


def assert_figures_allowed(table: Published, rule: DisclosureRule) -> None:
    for row, texts in zip(table.rows, table.texts, strict=True):
        for column, text in zip(table.columns, texts, strict=True):
            value = shown_value(text, rule)
            if value is None:
                continue
            where = f"{table.name}[{row!r}, {column!r}] = {text}"
            assert not 1 <= value <= rule.threshold, f"small count published: {where}"
            assert value % rule.rounding_base == 0, f"not rounded to {rule.rounding_base}: {where}"
            assert value > 0 or not rule.suppress_zero, f"zero published though zeros are suppressed: {where}"


def assert_no_single_suppression(table: Published, rule: DisclosureRule) -> None:
    """Plain differencing: a total minus the other figures of its row or column."""
    marks = np.array([[t == rule.marker for t in row] for row in table.texts])
    if table.row_total:
        for i, row in enumerate(marks):
            assert row.sum() != 1, f"{table.name}: row {table.rows[i]!r} has one suppressed figure"
    if table.col_total:
        for j, column in enumerate(marks.T):
            assert column.sum() != 1, f"{table.name}: column {table.columns[j]!r} has one suppressed figure"


def assert_tables_safe(tables: list[Published], rule: DisclosureRule | None = None, truth: dict | None = None):
    """Every check of the module docstring; ``truth`` (key -> true count), where the test knows
    it, must lie inside the attacker's ranges (the attacker's reasoning is sound)."""
    rule = rule or load_rule()
    for table in tables:
        assert_figures_allowed(table, rule)
        assert_no_single_suppression(table, rule)
    ranges = attack(tables, rule)
    by_name = {t.name: t for t in tables}
    for (name, i, j), (low, high) in ranges.items():
        table = by_name[name]
        text = table.texts[i][j]
        where = f"{name}[{table.rows[i]!r}, {table.columns[j]!r}]"
        if truth is not None:
            true = truth[(name, i, j)]
            assert low - 1e-6 <= true <= high + 1e-6, f"{where}: true {true} outside [{low}, {high}]"
        if text == rule.marker:
            assert high - low >= rule.protection_width - 1e-6, (
                f"{where}: suppressed figure narrowed to [{low:g}, {high:g}]")
        elif rule.rounding_base > 1 and text != "0":
            assert high - low > 0.5, f"{where}: rounded figure {text} pinned to {low:g}"
    return ranges


def assert_disclosure_safe(html: str, rule: DisclosureRule | None = None) -> int:
    """Check every table of a rendered publication, the tables of each source rule together
    under that rule (``rule`` replaces the default one); returns how many tables were checked."""
    tables = parse_tables(html)
    for name in sorted({t.rule_name for t in tables}):
        group = [t for t in tables if t.rule_name == name]
        assert_tables_safe(group, rule if name == "default" and rule is not None else load_rule(source=name))
    return len(tables)
