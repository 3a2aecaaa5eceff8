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
        expected = {(True, True): "stay", (False, True): "new", (True, False): "drop out",
                    (False, False): "not a priority"}[(was, now)]
        assert cmp.loc[theme, "status"] == expected
    drugs = cmp.loc["drugs"]
    assert drugs.status == "drop out"
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
