"""The columns and SQL types of each analysis table, for the runs that produce no rows (a
first quarter, a warehouse with too little history for a test): the table is still created
with every column, so the reports' queries read an empty result instead of failing on a
missing column. The names match what the analysis functions return when they have rows."""
from __future__ import annotations

import pandas as pd

V, D, B, I, T, DT = "VARCHAR", "DOUBLE PRECISION", "BOOLEAN", "BIGINT", "TIMESTAMP", "DATE"  # noqa: E741 (the spec letters)


def _columns(spec: str) -> dict[str, str]:
    """'name:TYPE name:TYPE ...' (types by the letters above) as a column -> SQL type map."""
    letters = {"V": V, "D": D, "B": B, "I": I, "T": T, "DT": DT}
    return {name: letters[kind] for name, kind in (item.split(":") for item in spec.split())}


TABLES: dict[str, dict[str, str]] = {
    "change": _columns("level:V comparison:V csp_code:V theme:V category:V current_start:T current_end:T "
                       "current:I previous:I change:I pct_change:D z:D p_value:D q_value:D significant:B direction:V "
                       "pct_change_low:D pct_change_high:D current_days:I previous_days:I dispersion:D reason:V"),
    "trend": _columns("level:V csp_code:V theme:V category:V first_month:T years:I year_totals:V total:I z:D "
                      "dispersion:D annual_change_pct:D p_value:D q_value:D significant:B direction:V "
                      "nb_dispersion:D reason:V"),
    "exceedances": _columns("csp_code:V theme:V month:T events:D expected:D sigma:D lcl3:D lcl2:D ucl2:D ucl3:D z:D "
                            "beyond_3sigma:B run_9:B trend_6:B two_of_three_2sigma:B signal:B seasonal:B refused:V "
                            "direction:V p_value:D q_value:D dispersion:D baseline_start:T baseline_end:T"),
    "seasonal_index": _columns("theme:V month_of_year:I mean_events:D index:D years_used:I p_value:D q_value:D "
                               "significant:B dispersion:D reason:V"),
    "seasonality": _columns("level:V csp_code:V theme:V category:V month_of_year:I mean_events:D index:D "
                            "years_used:I p_value:D q_value:D significant:B dispersion:D reason:V"),
    "hotspots": _columns("lsoa11_code:V per_1000_residents:D n_neighbours:I z:D p_value:D q_value:D hot:B cold:B "
                         "rank:I theme:V period_end:T csp_code:V events:I rank_in_csp:D hot_years:I years:I class:V "
                         "expected:D rate_ratio:D smoothed_rate_ratio:D partnership_per_1000:D "
                         "neighbourhood_events:D neighbourhood_expected:D heterogeneity:D hot_before:B rise_q_value:D"),
    "harm": _columns("csp_code:V theme:V events:I harm:D"),
    "displacement": _columns("success_measure:D buffer_measure:D wdq:D gross_effect:D net_effect:D total_net_effect:D "
                             "label:V detail:V initiative_start:DT months_compared:I dataset:V "
                             "success_low:D success_high:D "
                             "buffer_low:D buffer_high:D wdq_low:D wdq_high:D total_net_effect_low:D "
                             "total_net_effect_high:D dispersion:D draws:I"),
    "priorities": _columns("csp_code:V theme:V volume:I harm:D trend_change:D trend_significant:B concern_share:D "
                           "capacity:D score_volume:I score_trend:I score_harm:I score_concern:I score_capacity:I "
                           "total:D rank:I is_priority:B last_year_priority:B status:V reason:V"),
    "priority_audit": _columns("csp_code:V theme:V factor:V raw_value:D band:V score:I weight:D contribution:D"),
    "cross_agency": _columns("csp_code:V picture:V measure:V source_dataset:V current_12m:D previous_12m:D "
                             "change_pct:D p_value:D note:V"),
    "nte_places": _columns("csp_code:V source_dataset:V place_type:V place:V events:I base_events:I share:D "
                           "rest_share:D area_share:D ratio:D p_value:D q_value:D in_cluster:B rank_in_csp:D "
                           "fisher_p:D "
                           "share_dispersion:D"),
    "plan_progress": _columns("csp_code:V theme:V measure:V target_change_pct:D baseline_period:V baseline_events:D "
                              "quarter:V events_4q:D change_pct:D status:V status_6m:V status_annual:V "
                              "events_counted:V"),
}


def with_columns(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str] | None]:
    """The frame to store and the types its values cannot show: every column of the table is
    present (an empty result, or one whose rows only say why a test was refused, lacks some),
    and a column with no value at all gets its declared type."""
    schema = TABLES.get(name)
    if schema is None:
        return frame, None
    frame = frame.reindex(columns=[*schema, *[c for c in frame.columns if c not in schema]])
    return frame, {c: t for c, t in schema.items() if frame[c].isna().all()}
