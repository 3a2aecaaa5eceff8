"""The priority matrix fed from the warehouse and the partnership's own inputs, per CSP
(csp.analysis.priority scores it; this module gathers what it scores).

Per CSP and theme:

- volume: in-area events of the last 12 months, every record-level source (marts.monthly_counts);
  road danger's is its killed or seriously injured casualties (``VOLUME_MEASURES``).
- harm: the Crime Severity Score-weighted total of the same 12 months (analysis.harm); a theme
  with no police-recorded crime in the CSP has no CSS weight: NaN, scored neutral.
- trend: the rolling 12-month theme-level change test (analysis.change, level 'theme',
  comparison 'rolling_12m'): current minus previous events, and whether BH q < 0.05.
- concern: ``share_concerned`` of consultation.csv (share of respondents ranking the theme
  among their top concerns).
- capacity: ``capacity_rating`` (1-5) of capacity.csv, rated by the partnership board. A
  missing file or theme is 'not rated' (logged) and scores the neutral 3.

The themes scored are every theme with record-level events anywhere in the area in the last
24 months (a theme known only from aggregate counts, such as mental health, has no volume to
score). Last year's priorities are the ``priority_theme`` values of plan.csv for the CSP.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from csp.analysis import change, priority

log = logging.getLogger(__name__)
CONSULTATION_FILE = "consultation.csv"
CAPACITY_FILE = "capacity.csv"
PLAN_FILE = "plan.csv"
PRIORITY_COLUMNS = [
    "csp_code", "theme", "volume", "harm", "trend_change", "trend_significant", "concern_share",
    "capacity", "score_volume", "score_trend", "score_harm", "score_concern", "score_capacity",
    "total", "rank", "is_priority", "last_year_priority", "status", "reason",
]
AUDIT_COLUMNS = ["csp_code", "theme", "factor", "raw_value", "band", "score", "weight", "contribution"]
# Themes whose count of events is not their volume: road danger's events are collisions (with
# one casualty or many, slight or fatal) and police road incidents, so it is scored on the people
# killed or seriously injured (plan_progress.ksi_by_month), the measure its plan targets.
VOLUME_MEASURES = {"road_danger": "killed or seriously injured casualties"}


def read_partnership_file(folder: Path, name: str, columns: list[str]) -> pd.DataFrame:
    """A partnership input file, or an empty frame with its columns when it was not supplied."""
    path = Path(folder) / name
    if not path.exists():
        log.warning("priorities: %s not supplied in %s", name, folder)
        return pd.DataFrame(columns=columns)
    frame = pd.read_csv(path, dtype=str)
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: lacks columns {sorted(missing)}")
    return frame[columns]


def priority_inputs(monthly: pd.DataFrame, change_table: pd.DataFrame, harm_table: pd.DataFrame,
                    consultation: pd.DataFrame, capacity: pd.DataFrame, reference_month,
                    ksi: pd.DataFrame) -> pd.DataFrame:
    """One row per CSP x theme: csp_code plus priority.INPUT_COLUMNS.

    ``monthly``: month, csp_code, theme, category, events, harm (category level, harm NaN
    where no CSS weight); ``change_table`` and ``harm_table``: as run.py writes them; ``ksi``:
    csp_code, month, events (killed or seriously injured casualties), road danger's volume."""
    cur_start, cur_end, prev_start, _ = change.windows(reference_month)["rolling_12m"]
    recent = monthly[monthly["month"].between(prev_start, cur_end)]
    themes = sorted(recent.loc[recent["events"] > 0, "theme"].dropna().unique())
    csps = sorted(monthly["csp_code"].dropna().unique())
    grid = pd.MultiIndex.from_product([csps, themes], names=["csp_code", "theme"]).to_frame(index=False)
    current = monthly[monthly["month"].between(cur_start, cur_end)]
    volume = current.groupby(["csp_code", "theme"])["events"].sum().rename("volume")
    measured = ksi[ksi["month"].between(cur_start, cur_end)].groupby("csp_code")["events"].sum()
    volume = volume.drop(index=list(VOLUME_MEASURES), level="theme", errors="ignore")
    volume = pd.concat([volume, pd.concat({theme: measured for theme in VOLUME_MEASURES}, names=["theme"])
                        .swaplevel().rename("volume")])
    weighted = current["harm"].notna().groupby([current["csp_code"], current["theme"]]).any().rename("weighted")
    frame = (grid.join(volume, on=["csp_code", "theme"])
             .join(harm_table.set_index(["csp_code", "theme"])["harm"], on=["csp_code", "theme"])
             .join(weighted, on=["csp_code", "theme"]))
    frame["volume"] = frame["volume"].fillna(0)
    # No CSS-weighted event (no police-recorded crime): harm is unknown, not zero.
    frame["harm"] = frame["harm"].where(frame["weighted"].fillna(False).astype(bool))
    frame = frame.drop(columns="weighted")
    frame = frame.join(_trend(change_table), on=["csp_code", "theme"])
    frame = frame.join(_numeric(consultation, "share_concerned", "concern_share"), on=["csp_code", "theme"])
    frame = frame.join(_numeric(capacity, "capacity_rating", "capacity"), on=["csp_code", "theme"])
    for column, what in (("concern_share", "consultation share"), ("capacity", "capacity rating")):
        gaps = frame[frame[column].isna()]
        if len(gaps):
            log.info("priorities: no %s for %d CSP x theme (scored neutral): %s", what, len(gaps),
                     ", ".join(f"{c}/{t}" for c, t in gaps[["csp_code", "theme"]].itertuples(index=False)))
    return frame


def _trend(change_table: pd.DataFrame) -> pd.DataFrame:
    columns = ["trend_change", "trend_significant"]
    if change_table.empty or "comparison" not in change_table:
        return pd.DataFrame(columns=columns, index=pd.MultiIndex.from_arrays([[], []], names=["csp_code", "theme"]))
    rows = change_table[(change_table["level"] == "theme") & (change_table["comparison"] == "rolling_12m")]
    return (rows.set_index(["csp_code", "theme"])[["change", "significant"]]
            .rename(columns={"change": "trend_change", "significant": "trend_significant"}).astype(
                {"trend_change": float, "trend_significant": "boolean"}))


def _numeric(table: pd.DataFrame, column: str, name: str) -> pd.Series:
    values = pd.to_numeric(table[column], errors="raise") if len(table) else pd.Series(dtype=float)
    index = pd.MultiIndex.from_arrays([table["csp_code"], table["theme"]], names=["csp_code", "theme"])
    return pd.Series(values.to_numpy(dtype=float), index=index, name=name).groupby(level=[0, 1]).mean()


def last_year_priorities(plan: pd.DataFrame) -> dict[str, set[str]]:
    return {csp: set(rows["priority_theme"]) for csp, rows in plan.groupby("csp_code")}


def priority_tables(inputs: pd.DataFrame, last_year: dict[str, set[str]],
                    config: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(analysis.priorities, analysis.priority_audit): each CSP's themes scored, ranked within
    the CSP and compared with its plan's priorities."""
    cfg = config or priority.load_config()
    priorities, audits = [], []
    for csp, themes in inputs.groupby("csp_code", sort=True):
        themes = themes.drop(columns="csp_code").reset_index(drop=True)
        ranked, audit = priority.score_priorities(themes, cfg)
        measured = (audit["factor"] == "volume") & audit["theme"].isin(VOLUME_MEASURES)
        audit.loc[measured, "band"] = (audit.loc[measured, "theme"].map(VOLUME_MEASURES) + ": "
                                       + audit.loc[measured, "band"])
        comparison = priority.compare_with_last_year(ranked.merge(themes[["theme", "trend_change"]], on="theme"),
                                                     last_year.get(csp, set()), cfg)
        ranked = ranked.rename(columns={f: f"score_{f}" for f in priority.FACTORS}).merge(themes, on="theme")
        table = comparison.merge(ranked, on="theme", how="left").assign(csp_code=csp)
        table["last_year_priority"] = table["theme"].isin(last_year.get(csp, set()))
        priorities.append(table)
        audits.append(audit.assign(csp_code=csp))
    if not priorities:
        return pd.DataFrame(columns=PRIORITY_COLUMNS), pd.DataFrame(columns=AUDIT_COLUMNS)
    table = pd.concat(priorities, ignore_index=True).rename(columns={"priority": "is_priority"})
    # A dropped theme no longer assessed has no scores: it is not a priority now.
    table["is_priority"] = table["is_priority"].astype("boolean").fillna(False).astype(bool)
    table["trend_significant"] = table["trend_significant"].astype("boolean")
    audit = pd.concat(audits, ignore_index=True).rename(columns={"raw": "raw_value"})
    table = table.sort_values(["csp_code", "rank", "theme"], ignore_index=True, na_position="last")
    return table[PRIORITY_COLUMNS], audit[AUDIT_COLUMNS]


def priorities_from(settings, monthly: pd.DataFrame, change_table: pd.DataFrame,
                    harm_table: pd.DataFrame, reference_month, ksi: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both tables from the run's frames and the partnership inputs in settings.partnership_dir."""
    folder = settings.partnership_dir
    consultation = read_partnership_file(folder, CONSULTATION_FILE, ["csp_code", "theme", "share_concerned"])
    capacity = read_partnership_file(folder, CAPACITY_FILE, ["csp_code", "theme", "capacity_rating"])
    plan = read_partnership_file(folder, PLAN_FILE, ["csp_code", "priority_theme"])
    inputs = priority_inputs(monthly, change_table, harm_table, consultation, capacity, reference_month, ksi)
    return priority_tables(inputs, last_year_priorities(plan))

