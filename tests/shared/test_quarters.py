from datetime import date

import pytest

from csp.quarters import Quarter, quarter_range


def test_deadline_is_end_of_following_quarter():
    assert Quarter(2024, 1).deadline == date(2024, 6, 30)
    assert Quarter(2024, 4).deadline == date(2025, 3, 31)


def test_boundaries_and_navigation():
    q = Quarter.parse("2023Q4")
    assert (q.start, q.end) == (date(2023, 10, 1), date(2023, 12, 31))
    assert q.next() == Quarter(2024, 1) and q.next().previous() == q
    assert q.shift(-4) == Quarter(2022, 4) and q.shift(5) == Quarter(2025, 1)
    assert Quarter.of(date(2024, 3, 31)) == Quarter(2024, 1)
    assert [x.label for x in quarter_range(Quarter(2023, 3), 3)] == ["2023Q3", "2023Q4", "2024Q1"]


@pytest.mark.parametrize("bad", ["2024Q5", "2024-Q1", "24Q1", ""])
def test_rejects_malformed_labels(bad):
    with pytest.raises(ValueError, match="not a quarter label"):
        Quarter.parse(bad)
