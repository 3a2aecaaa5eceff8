"""Priority matrix: themes scored on volume, trend, harm, public concern and capacity.

Method
------
A weighted scoring matrix in the style of MoRiLE (NPCC Management of Risk in Law Enforcement)
and the partnership risk matrices of the Home Office strategic assessment guidance. Each factor
is mapped to a score of 1-5 by the bands in ``config/priority_weights.toml`` (documented there):
volume and harm by quintile of rank across the themes, trend from the change test (significant
rise 5 ... significant fall 1), public concern by thresholds on the consultation share,
capacity inverted (6 - rating, low capacity raises priority). The total is the weighted mean of
the scores (weights normalised to sum 1), so it stays on the 1-5 scale; a theme is a priority
when its total is at or above ``cutoff`` (default 3.0). Ties share a rank.

Every score is traceable: ``score_priorities`` returns the ranked themes and an audit frame with,
for each theme and factor, the raw input, the band it fell in, the score, the weight and its
contribution to the total. ``compare_with_last_year`` labels each theme stay / new / drop out /
not a priority with a reason string naming the score, the cut-off and the trend.

A factor with no input for a theme (harm of a theme with no police-recorded crime, so no Crime
Severity Score; a trend with no year-earlier comparison; a theme the consultation did not ask
about; a capacity the board did not rate) scores ``missing_score`` (default 3, the middle of
the scale: neither raises nor lowers the theme) and its audit band says so. Quintiles are taken
among the themes that have the input.

Input frame, one row per theme: theme, volume, harm, trend_change (current minus previous
events), trend_significant (bool), concern_share (0-1), capacity (1-5); NaN where not known.

Statuses against last year: ``stay`` (a priority both years), ``new``, ``drop_out`` (a
priority last year, not now) and ``not_priority``.
"""
from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from csp.config import PROJECT_DIR

FACTORS = ["volume", "trend", "harm", "concern", "capacity"]
DEFAULT_CONFIG = PROJECT_DIR / "config" / "priority_weights.toml"
INPUT_COLUMNS = ["theme", "volume", "harm", "trend_change", "trend_significant",
                 "concern_share", "capacity"]
# A change that is not significant reads "no clear change" (its direction only in brackets), never "no change".
TREND_LABELS = {5: "significant rise", 4: "no clear change (higher, not significant)", 3: "no clear change",
                2: "no clear change (lower, not significant)", 1: "significant fall"}
NO_TREND = "no year-earlier comparison"
MISSING_BANDS = {"volume": "no count", "harm": "no Crime Severity Score weight (not police-recorded crime)",
                 "trend": NO_TREND, "concern": "not asked in the consultation", "capacity": "not rated"}
STATUSES = ("stay", "new", "drop_out", "not_priority")


def load_config(path: Path | str | None = None) -> dict:
    """The priority configuration, validated: weights for every factor, non-negative."""
    with Path(path or DEFAULT_CONFIG).open("rb") as fh:
        cfg = tomllib.load(fh)
    weights = cfg.get("weights", {})
    if set(weights) != set(FACTORS):
        raise ValueError(f"weights must name exactly {FACTORS}, got {sorted(weights)}")
    if any(v < 0 for v in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    edges = cfg.get("bands", {}).get("concern", {}).get("edges", [])
    if len(edges) != 4 or list(edges) != sorted(edges):
        raise ValueError("bands.concern.edges must be four increasing thresholds")
    cfg.setdefault("cutoff", 3.0)
    cfg.setdefault("missing_score", 3)
    if not 1 <= cfg["missing_score"] <= 5:
        raise ValueError("missing_score must lie in 1-5")
    return cfg


def _quintile(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    known = values.notna()
    pct = values.rank(pct=True, method="average").fillna(0.5).to_numpy()  # NaN: _neutral_where_missing decides
    score = np.clip(np.ceil(5 * pct - 1e-9), 1, 5).astype(int)
    return score, [f"quintile {s} of {known.sum()} themes" for s in score]


def _trend(change: pd.Series, significant: pd.Series) -> tuple[np.ndarray, list[str]]:
    c, s = change.to_numpy(dtype=float), significant.fillna(False).astype(bool).to_numpy()
    score = np.select([(c > 0) & s, c > 0, (c < 0) & s, c < 0], [5, 4, 1, 2], 3)
    return score, [TREND_LABELS[int(v)] for v in score]


def _thresholds(values: pd.Series, edges: list[float]) -> tuple[np.ndarray, list[str]]:
    score = np.searchsorted(np.asarray(edges, dtype=float), values.fillna(0).to_numpy(dtype=float),
                            side="right") + 1
    bounds = [-math.inf, *edges, math.inf]
    return score, [f"{bounds[s - 1]:g} <= share < {bounds[s]:g}" for s in score]


def _inverted(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    r = values.to_numpy(dtype=float)
    if np.any((r < 1) | (r > 5)):
        raise ValueError("capacity ratings must lie in 1-5")
    score = np.rint(6 - np.nan_to_num(r, nan=3.0)).astype(int)
    return score, [f"capacity rated {v:g} of 5" for v in r]


def _neutral_where_missing(raw: pd.Series, score: np.ndarray, band: list[str], factor: str,
                           missing_score: int) -> tuple[np.ndarray, list[str]]:
    """A factor with no input neither raises nor lowers a theme: the configured middle score."""
    missing = raw.isna().to_numpy()
    label = f"{MISSING_BANDS[factor]}: neutral score {missing_score:g}"
    return (np.where(missing, missing_score, score).astype(int),
            [label if m else b for m, b in zip(missing, band, strict=True)])


def score_priorities(
    themes: pd.DataFrame, config: dict | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ranked, audit). ranked: theme, total, rank, priority, one column per factor score.
    audit: theme, factor, raw, band, score, weight, contribution."""
    cfg = config or load_config()
    missing = set(INPUT_COLUMNS) - set(themes.columns)
    if missing:
        raise ValueError(f"themes lacks columns: {sorted(missing)}")
    if themes["theme"].duplicated().any():
        raise ValueError("one row per theme expected")
    if themes.empty:
        return (pd.DataFrame(columns=["theme", "total", "rank", "priority", *FACTORS]),
                pd.DataFrame(columns=["theme", "factor", "raw", "band", "score", "weight",
                                      "contribution"]))
    t = themes.reset_index(drop=True)
    total_w = sum(cfg["weights"].values())
    weights = {f: cfg["weights"][f] / total_w for f in FACTORS}
    t = t.astype({c: float for c in ("volume", "harm", "trend_change", "concern_share", "capacity")})
    scored = {
        "volume": (t["volume"], *_quintile(t["volume"])),
        "harm": (t["harm"], *_quintile(t["harm"])),
        "trend": (t["trend_change"], *_trend(t["trend_change"], t["trend_significant"])),
        "concern": (t["concern_share"],
                    *_thresholds(t["concern_share"], cfg["bands"]["concern"]["edges"])),
        "capacity": (t["capacity"], *_inverted(t["capacity"])),
    }
    scored = {f: (raw, *_neutral_where_missing(raw, score, band, f, cfg["missing_score"]))
              for f, (raw, score, band) in scored.items()}
    audit = pd.concat([
        pd.DataFrame({"theme": t["theme"], "factor": f, "raw": raw.to_numpy(dtype=float),
                      "band": band, "score": score, "weight": weights[f],
                      "contribution": score * weights[f]})
        for f, (raw, score, band) in scored.items()
    ], ignore_index=True)
    ranked = audit.pivot(index="theme", columns="factor", values="score")[FACTORS]
    ranked["total"] = audit.groupby("theme")["contribution"].sum()
    ranked = ranked.reset_index()
    ranked["rank"] = ranked["total"].round(9).rank(ascending=False, method="min").astype(int)
    ranked["priority"] = ranked["total"] >= cfg["cutoff"] - 1e-9
    ranked = ranked.sort_values(["rank", "theme"], ignore_index=True)
    return ranked[["theme", "total", "rank", "priority", *FACTORS]], audit


def compare_with_last_year(
    ranked: pd.DataFrame, last_year_priorities, config: dict | None = None
) -> pd.DataFrame:
    """theme, status (stay / new / drop_out / not_priority), reason.

    ``last_year_priorities``: the themes that were priorities last year. A theme that was a
    priority but is no longer scored at all drops out with the reason 'no longer assessed'.
    """
    cfg = config or load_config()
    cutoff = float(cfg["cutoff"])
    last = set(last_year_priorities)
    rows = []
    for r in ranked.itertuples(index=False):  # one row per theme: a handful
        was, now = r.theme in last, bool(r.priority)
        status = {(True, True): "stay", (False, True): "new", (True, False): "drop_out",
                  (False, False): "not_priority"}[(was, now)]
        verb = {"stay": "stays", "new": "new", "drop_out": "dropped",
                "not_priority": "not a priority"}[status]
        side = "at or above" if now else "below"
        trend = TREND_LABELS[int(r.trend)] if pd.notna(getattr(r, "trend_change", 0)) else NO_TREND
        rows.append((r.theme, status, f"{verb}: score {r.total:.2f} {side} cut-off {cutoff:.1f}; "
                                      f"trend {trend}"))
    for theme in sorted(last - set(ranked["theme"])):
        rows.append((theme, "drop_out", "dropped: no longer assessed"))
    return pd.DataFrame(rows, columns=["theme", "status", "reason"])
