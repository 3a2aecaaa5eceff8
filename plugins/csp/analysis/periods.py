"""The two 12-month windows the cross-agency pictures and the night-time-economy cluster
compare, as calendar days (the rolling_12m windows of csp.analysis.change)."""
from __future__ import annotations

import pandas as pd

from csp.analysis import change


def rolling_windows(reference_month) -> tuple[tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]:
    """((current first day, current last day), (previous first day, previous last day))."""
    cur_start, cur_end, prev_start, prev_end = change.windows(reference_month)["rolling_12m"]
    month_end = pd.offsets.MonthEnd(0)
    return (cur_start, cur_end + month_end), (prev_start, prev_end + month_end)
