"""A deployment's first quarter: too little history for the change, trend, control-chart and
hotspot-class tests. The analysis still writes every table with every column, and every
report renders, saying what cannot be shown yet instead of failing."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from support.synthetic_partnership import build

from csp import clock
from csp.analysis import schemas
from csp.warehouse.engine import make_engine

pytestmark = pytest.mark.slow
FIRST_QUARTER_AS_OF = date(2023, 7, 1)  # the day after 2023Q1's deadline


@pytest.fixture(scope="module")
def first_quarter(tmp_path_factory):
    return build(tmp_path_factory.mktemp("first-quarter"), withheld=None, quarters=1, scale=0.2,
                 as_of=FIRST_QUARTER_AS_OF)


def test_every_analysis_table_has_its_columns_with_one_quarter(first_quarter):
    engine = make_engine(first_quarter.warehouse_url)
    with engine.connect() as conn:
        for name, columns in schemas.TABLES.items():
            found = conn.execute(sa.text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'analysis' AND table_name = :t"),
                {"t": name}).scalars().all()
            assert set(columns) <= set(found), name
        assert conn.execute(sa.text("SELECT COUNT(*) FROM analysis.change")).scalar() == 0
    engine.dispose()


def test_every_report_renders_from_a_first_quarter(first_quarter):
    from csp.reports import render_all

    with clock.frozen(FIRST_QUARTER_AS_OF):
        summary = render_all(first_quarter)
    kinds = {path.parent.parent.name for path in summary.written}
    assert kinds == {"strategic", "public_summary", "tactical", "county"}
    assert len(summary.written) == 28
    page = next(p for p in summary.written if p.parent.parent.name == "strategic").read_text()
    assert "No theme changed significantly in the last 12 months." in page
