"""Disclosure control: the rule, secondary suppression, and the differencing attack (an
independent LP attacker in tests/support/disclosure_checks.py) on hand-made and random tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csp.reports.disclosure import (
    PRIMARY, PUBLISHED, SECONDARY, TOTAL, DisclosureRule, Spec, load_rule, protect, protect_linked,
    protect_series,
)
from support.disclosure_checks import Published, assert_tables_safe, attack, from_protected

RULE = DisclosureRule()


def frame(rows: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=[f"r{i}" for i in range(len(rows))],
                        columns=[f"c{j}" for j in range(len(rows[0]))])


def truth_of(name: str, counts: pd.DataFrame, row_total: bool, col_total: bool) -> dict:
    grid = counts.to_numpy()
    if row_total:
        grid = np.column_stack([grid, grid.sum(axis=1)])
    if col_total:
        grid = np.vstack([grid, grid.sum(axis=0)])
    return {(name, i, j): int(v) for (i, j), v in np.ndenumerate(grid)}


def check(counts: pd.DataFrame, row_total=True, col_total=True, rule=RULE):
    """Protect, then verify the rule was applied and attack the publication."""
    table = protect(counts, row_total=row_total, col_total=col_total, rule=rule)
    truth = truth_of("t", counts, row_total, col_total)
    for (_, i, j), true in truth.items():
        shown, status = table.shown[i][j], table.status[i][j]
        if rule.is_primary(true):
            assert status == PRIMARY and shown is None
        elif status == PUBLISHED:
            assert shown == rule.rounded(true)  # totals too: rounded from the true sum
        else:
            assert status == SECONDARY and shown is None
    assert_tables_safe([from_protected("t", table)], rule, truth)
    return table


def test_default_rule_is_documented_config():
    rule = load_rule()
    assert rule == DisclosureRule(threshold=7, rounding_base=5, suppress_zero=False, marker="*",
                                  protection_width=7)
    assert [rule.rounded(n) for n in (0, 8, 12, 13, 17, 18, 1234)] == [0, 10, 10, 15, 15, 20, 1235]
    assert rule.known_range(10) == (8, 12) and rule.known_range(0) == (0, 0)
    assert rule.known_range(None)[0] == 1


def test_rule_refuses_rounding_that_hides_counts_as_zero(tmp_path):
    with pytest.raises(ValueError, match="as 0"):
        DisclosureRule(threshold=3, rounding_base=10)  # 4 would be shown as 0
    path = tmp_path / "d.toml"
    path.write_text("threshold = 7\nround_to = 5\n")
    with pytest.raises(ValueError, match="unknown disclosure settings"):
        load_rule(path)


@pytest.mark.parametrize("bad, error", [
    (frame([[1, -2]]), ValueError), (frame([[1.5, 2]]), ValueError),
    (pd.DataFrame({"a": [1, None]}), ValueError), (pd.DataFrame({TOTAL: [1]}), ValueError),
    (pd.Series([1, 2]), TypeError),
])
def test_protect_refuses_what_is_not_a_count_table(bad, error):
    with pytest.raises(error):
        protect(bad, rule=RULE)


def test_hes_style_example():
    counts = frame([[3, 20, 30], [40, 50, 60], [12, 2, 90]])
    table = check(counts)
    assert table.cells(PRIMARY) == [("r0", "c0"), ("r2", "c1")]
    # Row r0 and column c0 each need a complement: the smallest figure beside the 3 (20 and 12).
    assert sorted(table.cells(SECONDARY)) == [("r0", "c1"), ("r2", "c0")]
    assert table.text("r1", TOTAL) == "150" and table.text(TOTAL, TOTAL) == "305"  # 307 rounded
    assert table.text("r0", "c0") == "*"


def test_plain_differencing_cannot_recover_the_cell():
    """Row total minus the other published figures of the row."""
    counts = frame([[3, 20, 30], [40, 50, 60]])
    table = protect(counts, rule=RULE)
    published = table.published
    for row in published.index:
        hidden = published.loc[row].isna()
        assert hidden.sum() != 1  # a single hidden figure would be the total minus the rest
    ranges = attack([from_protected("t", table)], RULE)
    low, high = ranges[("t", 0, 0)]
    assert low <= 3 <= high and high - low >= 7


def test_audit_adds_suppression_the_pattern_rule_misses():
    """Two small cells per row beside a large one: every row and column holds two suppressed
    figures, yet the rounded 50s pin the pair to 2-4 in all. The attack shows it; protect()
    suppresses further."""
    counts = frame([[1, 1, 50], [1, 1, 50]])
    pattern_only = Published("t", ["r0", "r1", TOTAL], ["c0", "c1", "c2", TOTAL],
                             [["*", "*", "50", "50"], ["*", "*", "50", "50"], ["*", "*", "100", "105"]],
                             row_total=True, col_total=True)
    low, high = attack([pattern_only], RULE)[("t", 0, 0)]
    assert (low, high) == (1, 3)
    with pytest.raises(AssertionError, match="narrowed"):
        assert_tables_safe([pattern_only], RULE)
    table = check(counts)
    assert table.text("r0", "c2") == "*"


def test_rounded_figures_cannot_be_pinned():
    """Four 8s shown as 10 with a total of 32 shown as 30: each is at least 8 and they sum to at
    most 32, so an attacker would know every one is exactly 8."""
    counts = frame([[8, 8, 8, 8]])
    pinned = Published("t", ["r0"], ["c0", "c1", "c2", "c3", TOTAL], [["10", "10", "10", "10", "30"]],
                       row_total=True, col_total=False)
    assert attack([pinned], RULE)[("t", 0, 0)] == (8, 8)
    table = check(counts, col_total=False)
    assert len(table.cells(SECONDARY)) >= 2


def test_zero_is_shown_and_never_a_complement():
    counts = frame([[0, 3, 0, 40], [0, 25, 0, 60]])
    table = check(counts)
    assert table.text("r0", "c0") == "0" and table.text(TOTAL, "c0") == "0"
    assert all(counts.loc[r, c] > 0 for r, c in table.cells(SECONDARY) if TOTAL not in (r, c))


def test_suppressed_zero_rule():
    rule = DisclosureRule(suppress_zero=True)
    table = check(frame([[0, 30, 40], [20, 25, 60]]), rule=rule)
    assert table.status[0][0] == PRIMARY


def test_unrounded_rule_still_protects_small_counts():
    rule = DisclosureRule(threshold=2, rounding_base=1, protection_width=3)
    table = check(frame([[1, 9, 10], [12, 13, 14]]), rule=rule, col_total=False)
    assert [table.text("r0", c) for c in ("c0", "c1", "c2", TOTAL)] == ["*", "*", "10", "20"]
    assert table.text("r1", "c1") == "13"  # exact figures where nothing small is near


def test_series_with_total():
    series = pd.Series([3, 50, 100, 0], index=["a", "b", "c", "d"], name="Last 12 months")
    table = protect_series(series, rule=RULE)
    assert table.column_labels == ("Last 12 months",)
    assert table.row_labels == ("a", "b", "c", "d", TOTAL)
    assert [row[0] for row in table.shown] == [None, None, 100, 0, 155]
    assert table.footer == (TOTAL, ["155"])
    truth = {("s", i, 0): v for i, v in enumerate([3, 50, 100, 0, 153])}
    assert_tables_safe([from_protected("s", table)], RULE, truth)


def test_series_without_total_needs_no_complement():
    table = protect_series(pd.Series([3, 50]), total=False, rule=RULE)
    assert [row[0] for row in table.shown] == [None, 50]


def test_linked_margin_is_suppressed_in_both_tables():
    by_quarter = pd.DataFrame([[1, 2, 1, 2], [30, 40, 50, 60]], index=["hate", "asb"],
                              columns=["Q1", "Q2", "Q3", "Q4"])
    by_ward = pd.DataFrame({"hate": [6, 0], "asb": [100, 80]}, index=["Ward A", "Ward B"])
    links = [(("quarters", theme, TOTAL), ("wards", TOTAL, theme)) for theme in ("hate", "asb")]
    links.append((("quarters", TOTAL, TOTAL), ("wards", TOTAL, TOTAL)))
    tables = protect_linked({"quarters": Spec(by_quarter), "wards": Spec(by_ward)}, links, RULE)
    quarters, wards = tables["quarters"], tables["wards"]
    for theme in ("hate", "asb"):
        assert quarters.value(theme, TOTAL) == wards.value(TOTAL, theme)
    assert quarters.value("hate", TOTAL) is None  # 6: a small count, hidden in both
    truth = {**truth_of("quarters", by_quarter, True, True), **truth_of("wards", by_ward, True, True)}
    assert_tables_safe([from_protected("quarters", quarters),
                        from_protected("wards", wards, columns_are_rows_of="quarters")], RULE, truth)


def test_linked_figures_must_be_the_same_count():
    a, b = frame([[10, 20]]), frame([[10], [21]])
    with pytest.raises(ValueError, match="differ"):
        protect_linked({"a": Spec(a), "b": Spec(b)}, [(("a", "r0", TOTAL), ("b", TOTAL, "c0"))], RULE)


counts_strategy = st.one_of(st.integers(0, 9), st.integers(0, 9), st.integers(0, 300))


@st.composite
def tables(draw):
    n_rows, n_cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    rows = [[draw(counts_strategy) for _ in range(n_cols)] for _ in range(n_rows)]
    return frame(rows), draw(st.booleans()), draw(st.booleans())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_random_tables_resist_differencing(case):
    counts, row_total, col_total = case
    check(counts, row_total, col_total)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([DisclosureRule(threshold=10, protection_width=10),
                                  DisclosureRule(threshold=5, rounding_base=10, protection_width=5),
                                  DisclosureRule(suppress_zero=True)]))
def test_random_tables_under_other_rules(case, rule):
    counts, row_total, col_total = case
    check(counts, row_total, col_total, rule)
