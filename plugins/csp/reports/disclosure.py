"""Disclosure control: the mandatory step between the marts and any published table.

The rule (``config/disclosure.toml``, defaults in the style of NHS Digital's Hospital Episode
Statistics): counts of 1 to 7 are suppressed and shown as "*"; every other count is rounded to
the nearest 5; a zero is shown as 0 (the HES rule suppresses from 1; a true zero identifies
nobody). Totals are worked out from the true counts, then rounded, or suppressed when small,
like any other figure.

What the step guarantees
------------------------
The attacker knows every published figure, the rule (so a shown 10 means a true count from 8
to 12, since 1-7 would have been suppressed; a suppressed figure means a count of at least 1)
and that each row and column adds up to its total. With all of that, the smallest and largest
true value of each figure are linear programmes over the table. The table is published only
when, for that attacker:

1. every suppressed figure (primary or secondary: the attacker cannot tell which) has a
   feasible range at least ``protection_width`` wide (default 7). Because a suppressed figure
   is known to be at least 1, this means the range reaches 8 or more: the attacker cannot even
   tell whether it is a small count;
2. no rounded figure can be pinned to a single value by differencing (with rounding on; a rule
   with ``rounding_base = 1`` publishes exact counts by design). Knowing that a shown figure is
   at least 8 can narrow a rounded figure to fewer than five values, but never to one;
3. no row or column (totals included) holds exactly one suppressed figure, so the plain
   "total minus the other cells" difference never applies (the HES secondary-suppression rule).

A table of counts with row and column totals is a network (flows from rows to columns), so
its constraint matrix is totally unimodular: the linear-programme bounds are whole numbers and
every whole number between them is the value of that figure in some consistent table. The
ranges are therefore exactly what an attacker reasoning in whole counts can conclude.

How it is achieved: primary suppression of small counts, then complementary suppression of the
smallest non-zero figure of each row or column left with a single suppressed figure, repeated
until stable; then the attack above is run and, for a figure that fails, the smallest figure
sharing a row or column with it is suppressed too (a rounded figure that can be pinned is
itself suppressed), and the whole is repeated. Suppressing more only widens every range, so
the loop ends, at worst with everything suppressed.

Tables that publish the same figure (the theme totals of a theme-by-quarter table and of a
ward-by-theme table) are protected together (``protect_linked``): the shared figure is
suppressed in both or neither, and the attack treats it as one unknown. Two tables sharing one
margin are still a network (quarters -> themes -> wards), so the bounds stay exact.

Limits, stated plainly: the attacker is assumed not to exploit the choice of complements (that
the smallest was taken), and figures published in different reports are not linked here.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from csp.config import PROJECT_DIR

DEFAULT_CONFIG = PROJECT_DIR / "config" / "disclosure.toml"
TOTAL = "Total"
PUBLISHED, PRIMARY, SECONDARY = "published", "primary", "secondary"


@dataclass(frozen=True)
class DisclosureRule:
    threshold: int = 7  # counts 1..threshold are suppressed
    rounding_base: int = 5
    suppress_zero: bool = False
    marker: str = "*"
    protection_width: int = 7

    def __post_init__(self) -> None:
        if self.threshold < 0 or self.rounding_base < 1 or self.protection_width < 0:
            raise ValueError("threshold and protection_width must be >= 0 and rounding_base >= 1")
        if not self.marker or any(ch.isdigit() for ch in self.marker):
            raise ValueError(f"the suppression marker must be non-empty and not a number: {self.marker!r}")
        # A shown 0 must mean a true zero: every count that rounds to 0 has to be suppressed.
        if self.rounding_range(0)[1] > self.threshold:
            raise ValueError(f"rounding to {self.rounding_base} would show counts up to "
                             f"{self.rounding_range(0)[1]} as 0: raise the threshold or lower the base")

    def rounded(self, count: int) -> int:
        """Nearest multiple of the base, halves up (no halves arise for an odd base)."""
        base = self.rounding_base
        return base * ((count + base // 2) // base)

    def rounding_range(self, shown: int) -> tuple[int, int]:
        """The true counts that round to ``shown``."""
        base = self.rounding_base
        return shown - base // 2, shown + (base - 1 - base // 2)

    def is_primary(self, count: int) -> bool:
        """A small count, or one that would be shown as one once rounded (11 shown as 10 under
        a threshold of 10 would read as a small count and narrow the truth to 11 or 12)."""
        if count == 0:
            return self.suppress_zero
        return count <= self.threshold or self.rounded(count) <= self.threshold

    def known_range(self, shown: int | None) -> tuple[int, float]:
        """What a published figure tells the attacker about the true count (None: suppressed)."""
        if shown is None:
            return (0 if self.suppress_zero else 1), math.inf
        if shown == 0:
            return 0, 0
        low, high = self.rounding_range(shown)
        return max(low, self.threshold + 1), high


DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class Source:
    """A source published under its own rule (``[sources.<name>]`` of the configuration): the
    datasets it covers, the themes that stay under the default rule whatever their dataset, and
    its rule (the default rule's settings, overridden where it gives them)."""
    name: str
    title: str
    datasets: tuple[str, ...]
    exclude_themes: tuple[str, ...]
    rule: DisclosureRule

    def covers(self, dataset: str, theme: str) -> bool:
        return dataset in self.datasets and theme not in self.exclude_themes


def _config(path: Path | str | None) -> dict:
    with Path(path or DEFAULT_CONFIG).open("rb") as fh:
        return tomllib.load(fh)


def _rule(settings: dict, where: str) -> DisclosureRule:
    known = {f.name for f in fields(DisclosureRule)}
    unknown = set(settings) - known
    if unknown:
        raise ValueError(f"unknown disclosure settings {sorted(unknown)} in {where}; expected {sorted(known)}")
    return DisclosureRule(**settings)


def load_rule(path: Path | str | None = None, source: str | None = None) -> DisclosureRule:
    """The default rule, or with ``source`` the rule of that source."""
    cfg = _config(path)
    default = {k: v for k, v in cfg.items() if k != "sources"}
    if source in (None, DEFAULT_SOURCE):
        return _rule(default, "the default rule")
    return next(s.rule for s in load_sources(path) if s.name == source)


def load_sources(path: Path | str | None = None) -> list[Source]:
    """The configured per-source rules, in the order given."""
    cfg = _config(path)
    default = {k: v for k, v in cfg.items() if k != "sources"}
    sources = []
    for name, settings in cfg.get("sources", {}).items():
        settings = dict(settings)
        title = settings.pop("title", name.replace("_", " "))
        datasets = tuple(settings.pop("datasets", ()))
        excluded = tuple(settings.pop("exclude_themes", ()))
        if not datasets:
            raise ValueError(f"disclosure source {name!r} names no datasets")
        sources.append(Source(name, title, datasets, excluded, _rule({**default, **settings}, f"[sources.{name}]")))
    return sources


@dataclass(frozen=True)
class ProtectedTable:
    """A table as it may be published: figures rounded or suppressed, totals included. It holds
    no true count, so nothing unprotected can be rendered from it."""
    row_labels: tuple[str, ...]  # ends with TOTAL when column totals are published
    column_labels: tuple[str, ...]  # ends with TOTAL when row totals are published
    shown: tuple[tuple[int | None, ...], ...]  # None where suppressed
    status: tuple[tuple[str, ...], ...]  # PUBLISHED, PRIMARY or SECONDARY per figure
    row_total: bool
    col_total: bool
    rule: DisclosureRule

    @property
    def published(self) -> pd.DataFrame:
        """The published figures (nullable integers, missing where suppressed)."""
        return pd.DataFrame(list(self.shown), index=list(self.row_labels),
                            columns=list(self.column_labels), dtype="Int64")

    @property
    def suppression(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.status), index=list(self.row_labels), columns=list(self.column_labels))

    def value(self, row: str, column: str) -> int | None:
        return self.shown[self.row_labels.index(str(row))][self.column_labels.index(str(column))]

    def text(self, row: str, column: str) -> str:
        return self.format(self.value(row, column))

    def format(self, shown: int | None) -> str:
        return self.rule.marker if shown is None else f"{shown:,}"

    def cells(self, status: str) -> list[tuple[str, str]]:
        return [(r, c) for i, r in enumerate(self.row_labels) for j, c in enumerate(self.column_labels)
                if self.status[i][j] == status]

    @property
    def header(self) -> list[str]:
        return list(self.column_labels)

    @property
    def body(self) -> list[tuple[str, list[str]]]:
        """(row label, shown texts) of every row but the totals row."""
        rows = range(len(self.row_labels) - self.col_total)
        return [(self.row_labels[i], [self.format(v) for v in self.shown[i]]) for i in rows]

    @property
    def footer(self) -> tuple[str, list[str]] | None:
        if not self.col_total:
            return None
        return TOTAL, [self.format(v) for v in self.shown[-1]]


def protect(table: pd.DataFrame, *, row_total: bool = True, col_total: bool = True,
            rule: DisclosureRule | None = None) -> ProtectedTable:
    """Apply the rule to a 2-D table of non-negative whole counts (index: rows such as themes or
    wards; columns: such as quarters). Totals, when asked for, are added from the true counts."""
    return protect_linked({"table": Spec(table, row_total, col_total)}, rule=rule)["table"]


@dataclass(frozen=True)
class Spec:
    """One table of a linked set: the counts and which totals to publish with them."""
    table: pd.DataFrame
    row_total: bool = True
    col_total: bool = True


Figure = tuple[str, str, str]  # (table name, row label, column label); TOTAL for a total


def protect_linked(specs: dict[str, Spec], links: list[tuple[Figure, Figure]] = (),
                   rule: DisclosureRule | None = None) -> dict[str, ProtectedTable]:
    """Protect tables that publish the same figure more than once (a margin shared by two
    tables): each linked pair holds the same true count, is suppressed in both or neither, and
    the attack runs over all the tables at once, the pair as one unknown."""
    rule = rule or load_rule()
    parts = {name: _Part(spec, offset=0) for name, spec in specs.items()}
    offset = 0
    for part in parts.values():
        part.offset = offset
        offset += part.flat.size
    flat = np.concatenate([p.flat for p in parts.values()])
    is_total = np.concatenate([p.is_total for p in parts.values()])
    lines = [line + p.offset for p in parts.values() for line in p.lines]
    pairs = [(parts[a[0]].index(a[1:]), parts[b[0]].index(b[1:])) for a, b in links]
    for a, b in pairs:
        if flat[a] != flat[b]:
            raise ValueError(f"linked figures differ ({flat[a]} and {flat[b]}): they are not the same count")

    primary = np.array([rule.is_primary(int(v)) for v in flat], dtype=bool)
    suppressed = primary.copy()
    audit = _Audit(flat, lines, pairs, rule)
    while True:
        _complete_pattern(flat, suppressed, lines, pairs, is_total, rule)
        exposed = audit.first_exposed(suppressed)
        if exposed is None:
            break
        suppressed[_remedy(exposed, flat, suppressed, lines, is_total, rule)] = True
    return {name: part.published(flat, primary, suppressed, rule) for name, part in parts.items()}


class _Part:
    """One table of a linked set laid out as a flat run of figures, totals included."""

    def __init__(self, spec: Spec, offset: int):
        self.spec = spec
        self.offset = offset
        counts = _counts(spec.table)
        grid = _with_totals(counts, spec.row_total, spec.col_total)
        self.shape = grid.shape
        self.flat = grid.ravel()
        self.is_total = _total_mask(counts.shape, spec.row_total, spec.col_total).ravel()
        self.lines = _lines(counts.shape, spec.row_total, spec.col_total)
        self.rows = [str(r) for r in counts.index] + ([TOTAL] if spec.col_total else [])
        self.columns = [str(c) for c in counts.columns] + ([TOTAL] if spec.row_total else [])

    def index(self, cell: tuple[str, str]) -> int:
        row, column = (str(x) for x in cell)
        return self.offset + self.rows.index(row) * self.shape[1] + self.columns.index(column)

    def published(self, flat, primary, suppressed, rule) -> ProtectedTable:
        own = slice(self.offset, self.offset + self.flat.size)
        shown = [None if s else rule.rounded(int(v)) for v, s in zip(flat[own], suppressed[own], strict=True)]
        status = [PRIMARY if p else SECONDARY if s else PUBLISHED
                  for p, s in zip(primary[own], suppressed[own], strict=True)]
        width = self.shape[1]
        return ProtectedTable(
            row_labels=tuple(self.rows), column_labels=tuple(self.columns),
            shown=tuple(tuple(shown[i * width:(i + 1) * width]) for i in range(self.shape[0])),
            status=tuple(tuple(status[i * width:(i + 1) * width]) for i in range(self.shape[0])),
            row_total=self.spec.row_total, col_total=self.spec.col_total, rule=rule,
        )


def protect_series(series: pd.Series, *, total: bool = True, rule: DisclosureRule | None = None,
                   name: str | None = None) -> ProtectedTable:
    """A one-dimensional list of counts (index: the labels), with its total as the last row."""
    column = name or (str(series.name) if series.name is not None else "Count")
    return protect(series.to_frame(name=column), row_total=False, col_total=total, rule=rule)


def _counts(table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"protect() takes a pandas DataFrame of counts, not {type(table).__name__}")
    if table.empty:
        raise ValueError("protect() needs at least one row and one column")
    labels = [str(x) for x in table.index], [str(x) for x in table.columns]
    for kind, names in zip(("row", "column"), labels, strict=True):
        if len(set(names)) != len(names):
            raise ValueError(f"{kind} labels must be unique: {names}")
        if TOTAL in names:
            raise ValueError(f"'{TOTAL}' is reserved for the totals the step adds ({kind} labels {names})")
    values = table.to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(values).any() or (values < 0).any() or (values != np.round(values)).any():
        raise ValueError("protect() takes non-negative whole counts with no missing values")
    return pd.DataFrame(values.astype(np.int64), index=table.index, columns=table.columns)


def _with_totals(counts: pd.DataFrame, row_total: bool, col_total: bool) -> np.ndarray:
    grid = counts.to_numpy()
    if row_total:
        grid = np.column_stack([grid, grid.sum(axis=1)])
    if col_total:
        grid = np.vstack([grid, grid.sum(axis=0)])
    return grid


def _total_mask(shape: tuple[int, int], row_total: bool, col_total: bool) -> np.ndarray:
    mask = np.zeros((shape[0] + col_total, shape[1] + row_total), dtype=bool)
    if row_total:
        mask[:, -1] = True
    if col_total:
        mask[-1, :] = True
    return mask


def _lines(shape: tuple[int, int], row_total: bool, col_total: bool) -> list[np.ndarray]:
    """Each additive constraint as flat indices: the parts first, the total last."""
    n_rows, n_cols = shape[0] + col_total, shape[1] + row_total
    lines = []
    if row_total:
        lines += [np.array([r * n_cols + c for c in range(n_cols)]) for r in range(n_rows)]
    if col_total:
        lines += [np.array([r * n_cols + c for r in range(n_rows)]) for c in range(n_cols)]
    return lines


def _eligible(flat: np.ndarray, suppressed: np.ndarray, rule: DisclosureRule) -> np.ndarray:
    """Figures that may be suppressed as complements: a shown zero is exact by the rule, so
    hiding one protects nothing."""
    return ~suppressed & ((flat > 0) | rule.suppress_zero)


def _smallest(candidates: np.ndarray, flat: np.ndarray, is_total: np.ndarray) -> int:
    """The smallest figure, an inner cell before a total, then the first."""
    return int(min(candidates, key=lambda i: (flat[i], is_total[i], i)))


def _complete_pattern(flat, suppressed, lines, pairs, is_total, rule) -> None:
    """Until no row or column holds exactly one suppressed figure, suppress the smallest
    eligible figure of each that does; a figure published twice is hidden in both places."""
    changed = True
    while changed:
        changed = False
        for a, b in pairs:
            if suppressed[a] != suppressed[b]:
                suppressed[a] = suppressed[b] = True
                changed = True
        for line in lines:
            if suppressed[line].sum() != 1:
                continue
            candidates = line[_eligible(flat[line], suppressed[line], rule)]
            if len(candidates) == 0:
                # The line's total equals its one non-zero figure, so the other must be eligible.
                raise AssertionError(f"no complement for line {line.tolist()} of {flat.tolist()}")
            suppressed[_smallest(candidates, flat, is_total)] = True
            changed = True


def _remedy(exposed: int, flat, suppressed, lines, is_total, rule) -> int:
    """What to suppress next for a figure the attack exposes: a rounded figure that can be
    pinned is hidden itself; a suppressed one gets the smallest complement sharing a row or
    column with it, else the smallest next to any suppressed figure."""
    if not suppressed[exposed]:
        return exposed
    own = [line for line in lines if exposed in line]
    near = [line for line in lines if suppressed[line].any()]
    for group in (own, near):
        candidates = np.unique(np.concatenate(group)) if group else np.array([], dtype=int)
        candidates = candidates[_eligible(flat[candidates], suppressed[candidates], rule)]
        if len(candidates):
            return _smallest(candidates, flat, is_total)
    raise AssertionError(f"figure {exposed} exposed with nothing left to suppress in {flat.tolist()}")


class _Audit:
    """The attack of the module docstring, run by the step on its own output.

    Every feasible table the programmes find (and the true one) widens the range observed for
    every figure; a figure whose observed range already meets its requirement needs no
    programme of its own. Suppressing more only enlarges the feasible set, so what was
    observed stays feasible across rounds."""

    def __init__(self, flat: np.ndarray, lines: list[np.ndarray], pairs: list[tuple[int, int]],
                 rule: DisclosureRule):
        self.rule = rule
        self.flat = flat
        self.a_eq = np.zeros((len(lines) + len(pairs), len(flat)))
        for k, line in enumerate(lines):
            self.a_eq[k, line[:-1]] = 1.0
            self.a_eq[k, line[-1]] = -1.0
        for k, (a, b) in enumerate(pairs, start=len(lines)):
            self.a_eq[k, a], self.a_eq[k, b] = 1.0, -1.0
        self.seen_low = flat.astype(float)
        self.seen_high = flat.astype(float)

    def first_exposed(self, suppressed: np.ndarray) -> int | None:
        shown = [None if s else self.rule.rounded(int(v)) for v, s in zip(self.flat, suppressed, strict=True)]
        bounds = [self.rule.known_range(v) for v in shown]
        bounds = [(lo, None if math.isinf(hi) else hi) for lo, hi in bounds]
        # Suppressed figures first, smallest first: their programmes move the most figures.
        order = sorted(range(len(self.flat)), key=lambda i: (not suppressed[i], self.flat[i], i))
        for i in order:
            if self._meets(i, suppressed[i], self.seen_low[i], self.seen_high[i]):
                continue
            low, high = self._range(i, bounds)
            if not self._meets(i, suppressed[i], low, high):
                return i
        return None

    def _meets(self, i: int, suppressed: bool, low: float, high: float) -> bool:
        if suppressed:
            return high - low >= self.rule.protection_width
        if self.rule.rounding_base == 1 or self.flat[i] == 0:
            return True  # exact by the rule: published as it is
        return high > low

    def _range(self, i: int, bounds: list) -> tuple[float, float]:
        if len(self.a_eq) == 0:
            low, high = bounds[i]
            return low, math.inf if high is None else high
        ends = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(self.flat))
            objective[i] = sign
            result = linprog(objective, A_eq=self.a_eq, b_eq=np.zeros(len(self.a_eq)), bounds=bounds,
                             method="highs")
            if result.status == 3:  # unbounded: only the maximum can be
                ends.append(math.inf)
                continue
            if result.status != 0:
                raise RuntimeError(f"disclosure audit: the published table has no consistent solution "
                                   f"({result.message})")
            self.seen_low = np.minimum(self.seen_low, result.x)
            self.seen_high = np.maximum(self.seen_high, result.x)
            ends.append(round(sign * result.fun))
        return ends[0], ends[1]
