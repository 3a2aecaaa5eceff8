"""csp.analysis.priority: bands, weighted total by hand, audit trail, year-on-year comparison."""
from __future__ import annotations

import pandas as pd
import pytest

from csp.analysis.priority import (
    DEFAULT_CONFIG, FACTORS, compare_with_last_year, load_config, score_priorities,
)

THEMES = pd.DataFrame({
    "theme": ["violence", "asb", "acquisitive", "drugs", "hate"],
    "volume": [900, 1500, 1200, 300, 40],
    "harm": [9e5, 0.0, 3e5, 4e4, 1e4],
    "trend_change": [120, -300, 10, -5, 0],
    "trend_significant": [True, True, False, False, False],
    "concern_share": [0.30, 0.40, 0.12, 0.06, 0.01],
    "capacity": [3, 4, 2, 5, 1],
})


def test_committed_config_is_valid_and_documented():
    cfg = load_config()
    assert set(cfg["weights"]) == set(FACTORS)
    assert sum(cfg["weights"].values()) == pytest.approx(1.0)
    text = DEFAULT_CONFIG.read_text()
    for factor in FACTORS:
        assert f"# {factor}:" in text or f"{factor} = " in text


def test_scores_and_total_by_hand():
    cfg = load_config()
    ranked, audit = score_priorities(THEMES, cfg)
    s = ranked.set_index("theme")
    # volume ranks 3,5,4,2,1 of 5 -> pct 0.6,1,0.8,0.4,0.2 -> quintile scores 3,5,4,2,1
    assert s.loc[THEMES.theme, "volume"].tolist() == [3, 5, 4, 2, 1]
    assert s.loc[THEMES.theme, "trend"].tolist() == [5, 1, 4, 2, 3]
    # concern edges 0.05, 0.10, 0.20, 0.35
    assert s.loc[THEMES.theme, "concern"].tolist() == [4, 5, 3, 2, 1]
    assert s.loc[THEMES.theme, "capacity"].tolist() == [3, 2, 4, 1, 5]
    w = cfg["weights"]
    hand = sum(w[f] * s.loc["violence", f] for f in FACTORS) / sum(w.values())
    assert s.loc["violence", "total"] == pytest.approx(hand)
    assert ranked.iloc[0]["theme"] == "violence" and ranked["rank"].is_monotonic_increasing
    # audit trail: every theme x factor, contributions sum to the total
    assert len(audit) == len(THEMES) * len(FACTORS)
    assert set(audit.columns) == {"theme", "factor", "raw", "band", "score", "weight",
                                  "contribution"}
    sums = audit.groupby("theme")["contribution"].sum()
    assert (sums - s["total"]).abs().max() < 1e-12
    row = audit[(audit.theme == "asb") & (audit.factor == "trend")].iloc[0]
    assert row.raw == -300 and row.band == "significant fall" and row.score == 1


def test_weights_change_the_ranking(tmp_path):
    cfg = load_config()
    cfg["weights"] = {f: 0.0 for f in FACTORS} | {"concern": 1.0}
    ranked, _ = score_priorities(THEMES, cfg)
    assert ranked.iloc[0]["theme"] == "asb" and ranked.iloc[0]["total"] == 5.0


def test_comparison_with_last_year():
    ranked, _ = score_priorities(THEMES)
    cmp = compare_with_last_year(ranked, ["asb", "drugs", "road_danger"]).set_index("theme")
    s = ranked.set_index("theme")
    for theme in THEMES.theme:
        was, now = theme in {"asb", "drugs"}, bool(s.loc[theme, "priority"])
        expected = {(True, True): "stay", (False, True): "new", (True, False): "drop_out",
                    (False, False): "not_priority"}[(was, now)]
        assert cmp.loc[theme, "status"] == expected
    drugs = cmp.loc["drugs"]
    assert drugs.status == "drop_out"
    assert drugs.reason == (f"dropped: score {s.loc['drugs', 'total']:.2f} below cut-off 3.0; "
                            "trend fall (not significant)")
    assert cmp.loc["road_danger", "reason"] == "dropped: no longer assessed"


def test_bad_config_and_input(tmp_path):
    bad = tmp_path / "w.toml"
    bad.write_text('cutoff = 3.0\n[weights]\nvolume = 1.0\n')
    with pytest.raises(ValueError, match="weights"):
        load_config(bad)
    with pytest.raises(ValueError, match="capacity"):
        score_priorities(THEMES.assign(capacity=7))
    with pytest.raises(ValueError, match="lacks"):
        score_priorities(THEMES.drop(columns="harm"))
    ranked, audit = score_priorities(THEMES.iloc[0:0])
    assert ranked.empty and audit.empty


def test_missing_inputs_score_neutral_and_say_so():
    themes = THEMES.assign(harm=[9e5, float("nan"), 3e5, 4e4, 1e4],
                           capacity=[3, 4, float("nan"), 5, 1],
                           trend_change=[120, -300, float("nan"), -5, 0])
    ranked, audit = score_priorities(themes)
    a = audit.set_index(["theme", "factor"])
    assert a.loc[("asb", "harm"), "score"] == 3
    assert a.loc[("asb", "harm"), "band"] == ("no Crime Severity Score weight (not police-recorded crime): "
                                              "neutral score 3")
    # quintiles among the four themes with harm: 9e5, 3e5, 4e4, 1e4 -> 5, 4, 3, 2 (ceil(5 x 1/4) = 2)
    assert [a.loc[(t, "harm"), "score"] for t in ("violence", "acquisitive", "drugs", "hate")] == [5, 4, 3, 2]
    assert a.loc[("acquisitive", "capacity"), "band"] == "not rated: neutral score 3"
    assert a.loc[("acquisitive", "trend"), "band"] == "no year-earlier comparison: neutral score 3"
    cmp = compare_with_last_year(ranked.merge(themes[["theme", "trend_change"]]), []).set_index("theme")
    assert cmp.loc["acquisitive", "reason"].endswith("trend no year-earlier comparison")


def test_priority_tables_from_warehouse_frames():
    """Two CSPs through priority_inputs and priority_tables: volume and harm of the last 12
    months, the theme-level rolling change test, consultation and capacity joined by CSP and
    theme, last year's plan compared."""
    from csp.analysis.priority_inputs import AUDIT_COLUMNS, PRIORITY_COLUMNS, priority_inputs, priority_tables

    ref = pd.Timestamp("2025-12-01")

    def m(month, csp, theme, category, events, harm):
        return {"month": pd.Timestamp(month), "csp_code": csp, "theme": theme, "category": category,
                "events": events, "harm": harm}

    monthly = pd.DataFrame([
        m("2025-03-01", "A", "acquisitive", "Burglary", 50, 50 * 400.0),
        m("2025-03-01", "A", "asb", "Noise", 80, float("nan")),
        m("2025-03-01", "A", "violence", "Violence and sexual offences", 20, 20 * 900.0),
        m("2024-03-01", "A", "acquisitive", "Burglary", 30, 30 * 400.0),  # previous year: not volume
        m("2025-05-01", "B", "asb", "Noise", 5, float("nan")),
    ])
    change_table = pd.DataFrame({"level": "theme", "comparison": ["rolling_12m", "ytd"], "csp_code": "A",
                                 "theme": "acquisitive", "change": [20, 99], "significant": [True, False]})
    harm_table = pd.DataFrame({"csp_code": ["A", "A", "A", "B"], "theme": ["acquisitive", "asb", "violence", "asb"],
                               "events": [50, 80, 20, 5], "harm": [20000.0, 0.0, 18000.0, 0.0]})
    consultation = pd.DataFrame({"csp_code": ["A", "A"], "theme": ["acquisitive", "asb"],
                                 "share_concerned": ["0.40", "0.08"]})
    capacity = pd.DataFrame({"csp_code": ["A"], "theme": ["violence"], "capacity_rating": ["1"]})
    no_collisions = pd.DataFrame({"csp_code": [], "month": pd.to_datetime([]), "events": []})
    inputs = priority_inputs(monthly, change_table, harm_table, consultation, capacity, ref, no_collisions)
    a = inputs[inputs["csp_code"] == "A"].set_index("theme")
    assert sorted(inputs["theme"].unique()) == ["acquisitive", "asb", "violence"]  # every theme, every CSP
    assert a["volume"].to_dict() == {"acquisitive": 50, "asb": 80, "violence": 20}
    assert a.loc["acquisitive", "harm"] == 20000.0 and pd.isna(a.loc["asb", "harm"])  # ASB: no CSS weight
    assert a.loc["acquisitive", "trend_change"] == 20 and bool(a.loc["acquisitive", "trend_significant"])
    assert pd.isna(a.loc["asb", "trend_change"])
    assert a.loc["acquisitive", "concern_share"] == 0.40 and pd.isna(a.loc["violence", "concern_share"])
    assert a.loc["violence", "capacity"] == 1 and pd.isna(a.loc["acquisitive", "capacity"])
    b = inputs[inputs["csp_code"] == "B"].set_index("theme")
    assert b["volume"].to_dict() == {"acquisitive": 0, "asb": 5, "violence": 0}

    priorities, audit = priority_tables(inputs, {"A": {"violence", "hate"}})
    assert list(priorities.columns) == PRIORITY_COLUMNS and list(audit.columns) == AUDIT_COLUMNS
    p = priorities[priorities["csp_code"] == "A"].set_index("theme")
    # acquisitive: volume 2nd of 3 -> ceil(5 x 2/3) = 4; harm 1st of 2 -> 5; significant rise 5;
    # concern 0.40 -> 5; not rated -> 3: (0.25x4 + 0.20x5 + 0.25x5 + 0.15x5 + 0.15x3) = 4.45
    assert p.loc["acquisitive", ["score_volume", "score_harm", "score_trend", "score_concern",
                                 "score_capacity"]].tolist() == [4, 5, 5, 5, 3]
    assert p.loc["acquisitive", "total"] == pytest.approx(4.45)
    assert p.loc["acquisitive", "rank"] == 1 and p.loc["acquisitive", "status"] == "new"
    # violence: volume 1 of 3 -> 2; harm 2nd of 2 -> 3; trend missing 3; concern missing 3; capacity 1 -> 5
    assert p.loc["violence", "total"] == pytest.approx(0.25 * 2 + 0.25 * 3 + 0.20 * 3 + 0.15 * 3 + 0.15 * 5)
    assert p.loc["violence", "status"] == "stay" and p.loc["violence", "last_year_priority"]
    assert p.loc["hate", "status"] == "drop_out" and p.loc["hate", "reason"] == "dropped: no longer assessed"
    assert not p.loc["hate", "is_priority"] and pd.isna(p.loc["hate", "rank"])
    row = audit[(audit["csp_code"] == "A") & (audit["theme"] == "acquisitive") & (audit["factor"] == "harm")].iloc[0]
    assert (row.raw_value, row.score, row.weight, row.contribution) == (20000.0, 5, 0.25, 1.25)
    assert set(priorities.loc[priorities["csp_code"] == "B", "status"]) <= {"new", "not_priority"}
