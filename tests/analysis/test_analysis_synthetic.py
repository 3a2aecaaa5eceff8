"""The analysis finds what the synthetic generator planted, on one seed (the demo's), through
the real parsing, warehouse models and analysis (tests/support/power_harness.py). The power tests over
20 seeds, with and without signals, build on the same harness."""
from __future__ import annotations

import pytest
from support.power_harness import analyse_seed

pytestmark = pytest.mark.slow
DEMO_SEED = 2026


@pytest.fixture(scope="module")
def found(tmp_path_factory):
    return analyse_seed(str(tmp_path_factory.mktemp("power")), DEMO_SEED, signals=True)


def test_planted_trend_is_the_significant_change(found):
    trend = found["signals"]["trend"]
    change = found["change"]
    flagged = change[change["significant"].fillna(False).astype(bool)]
    assert set(flagged["comparison"]) == {"rolling_12m", "ytd"}
    assert flagged[["level", "csp_code", "category", "theme", "direction"]].drop_duplicates().values.tolist() == [
        ["category", trend["csp_code"], trend["crime_type"], trend["theme"], "increase"]]


def test_planted_trend_is_a_rising_trend_in_its_partnership(found):
    trend = found["signals"]["trend"]
    trends = found["trend"]
    rising = trends[trends["significant"].fillna(False).astype(bool) & (trends["level"] == "category")]
    assert rising[["csp_code", "category", "theme", "direction"]].values.tolist() == [
        [trend["csp_code"], trend["crime_type"], trend["theme"], "rising"]]
    assert rising["annual_change_pct"].iloc[0] == pytest.approx(100 * trend["annual_growth"], abs=10)


def test_planted_hotspot_ranks_top_in_its_partnership(found):
    planted = set(found["signals"]["hotspot"]["lsoa_codes"])
    hotspots = found["hotspots"]
    for theme in ("acquisitive", "violence", "asb"):
        in_csp = hotspots[(hotspots["theme"] == theme)
                          & (hotspots["csp_code"] == found["signals"]["hotspot"]["csp_code"])]
        top = set(in_csp.nsmallest(7, "rank_in_csp")["lsoa11_code"])
        assert len(planted & top) == 5, theme


def test_planted_displacement_is_labelled(found):
    assert found["displacement"]["label"].tolist() == ["displacement"]


def test_planted_seasonality_is_recovered(found):
    index = found["seasonal_index"]
    asb = index[index["theme"] == "asb"].set_index("month_of_year")["index"]
    assert asb.idxmax() in (6, 7, 8) and asb.idxmin() in (12, 1, 2)


def test_planted_priority_ranks_first_in_its_partnership(found):
    trend = found["signals"]["trend"]
    priorities = found["priorities"]
    csp = priorities[priorities["csp_code"] == trend["csp_code"]].sort_values("rank")
    first = csp.iloc[0]
    assert first["theme"] == trend["theme"] and first["rank"] == 1 and csp.iloc[1]["rank"] == 2
    assert first["is_priority"] and first["status"] in ("stay", "new")
    # the plan of the trend's CSP always names its theme, so it stays a priority
    assert first["last_year_priority"] and first["status"] == "stay"
    assert first["score_concern"] == 5 and first["capacity"] == 3


def test_nte_cluster_is_visible_in_the_violence_picture(found):
    planted = found["signals"]["night_time_economy"]
    places = found["nte_places"]
    police = places[(places["source_dataset"] == "police_crimes") & places["in_cluster"]]
    assert set(planted["lsoa_codes"]) <= set(police["place"])
    csp = police.loc[police["place"].isin(planted["lsoa_codes"]), "csp_code"].unique().tolist()
    assert len(csp) == 1
    ranked = places[(places["source_dataset"] == "police_crimes") & (places["csp_code"] == csp[0])]
    assert set(ranked.nsmallest(len(planted["lsoa_codes"]), "rank_in_csp")["place"]) == set(planted["lsoa_codes"])
    health = places[(places["source_dataset"] == "hospital_admissions") & places["in_cluster"]]
    assert set(planted["outward_codes"]) <= set(health["place"])
    violence = found["cross_agency"].query("csp_code == @csp[0] and picture == 'violence'")
    cluster = violence[violence["measure"].str.startswith("night-time-economy cluster")]
    assert set(cluster["source_dataset"]) == {"police_crimes", "hospital_admissions"}
    police_row = cluster[cluster["source_dataset"] == "police_crimes"].iloc[0]
    assert all(code in police_row["note"] for code in planted["lsoa_codes"])
