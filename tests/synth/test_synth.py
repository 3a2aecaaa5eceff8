"""The synthetic partnership generator: determinism, formats, volumes and planted signals."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from csp.synth import generate
from csp.synth.timing import is_nte_night

QUARTERS = 4


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _read(root: Path, pattern: str) -> pd.DataFrame:
    files = sorted(root.glob(f"landing/*/*/{pattern}"))
    assert files, pattern
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)


def _crimes(root: Path) -> pd.DataFrame:
    crimes = _read(root, "force_crimes_*.csv")
    crimes["stamp"] = pd.to_datetime(crimes["offence_date"] + " " + crimes["offence_time"])
    return crimes


@pytest.fixture(scope="module")
def signals_run(tmp_path_factory, reference_dir):
    """Three years, default scale: the planted signals need the full span."""
    out = tmp_path_factory.mktemp("signals")
    return out, generate(out, reference_dir=reference_dir)


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory, reference_dir):
    out = tmp_path_factory.mktemp("quiet")
    return out, generate(out, reference_dir=reference_dir, signals=False)


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory, reference_dir):
    """Two runs of the same seed and one of another, small and short."""
    runs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        out = tmp_path_factory.mktemp(f"small_{name}")
        generate(out, seed=seed, quarters=QUARTERS, scale=0.1, reference_dir=reference_dir,
                 police_format="police_uk")
        runs[name] = out
    return runs


def test_same_seed_gives_identical_files(small_runs):
    first, second = _digests(small_runs["a"]), _digests(small_runs["b"])
    assert first == second and len(first) > 20


def test_different_seed_gives_different_files(small_runs):
    first, other = _digests(small_runs["a"]), _digests(small_runs["c"])
    assert first.keys() == other.keys()
    landing = [k for k in first if k.startswith("landing/")]
    assert all(first[k] != other[k] for k in landing)


def test_police_uk_header_matches_the_real_file(small_runs, reference_dir):
    real = (reference_dir / "police_uk/2020-01-leicestershire-street.csv").open(encoding="utf-8").readline()
    files = sorted(small_runs["a"].glob("landing/police/*/*-leicestershire-street.csv"))
    assert len(files) == 3 * QUARTERS
    assert files[0].name == "2023-01-leicestershire-street.csv"
    assert files[0].open(encoding="utf-8").readline() == real
    rows = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files])
    asb = rows["Crime type"].eq("Anti-social behaviour")
    assert (rows.loc[asb, ["Crime ID", "Last outcome category"]] == "").all().all()
    assert rows.loc[~asb, "Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
    unlocated = rows["LSOA code"].eq("")
    assert 0.003 < unlocated.mean() < 0.03
    assert rows.loc[unlocated, ["Longitude", "Latitude"]].eq("").all().all()
    assert rows.loc[~unlocated, "Location"].str.startswith("On or near ").all()
    assert rows.loc[~unlocated, "LSOA name"].str.fullmatch(r".+ \d{3}[A-Z]").all()


def test_not_held_dataset_has_no_files(signals_run):
    out, manifest = signals_run
    assert not list(out.glob("landing/**/ambulance_callouts*"))
    assert "ambulance_callouts" not in manifest["held"]


def test_held_ambulance_callouts_follow_the_contract(tmp_path, reference_dir):
    from csp.registry import SOURCE_FORMATS
    manifest = generate(tmp_path, quarters=1, scale=0.1, not_held=frozenset(), reference_dir=reference_dir)
    calls = _read(tmp_path, "ambulance_callouts_*.csv")
    assert list(calls.columns) == list(SOURCE_FORMATS["ambulance_callouts"].required_columns)
    assert abs(len(calls) / 3 / manifest["monthly_rates"]["ambulance_callouts"]["monthly"] - 1) < 0.25


def test_every_file_matches_its_format_glob(signals_run):
    from fnmatch import fnmatch

    from csp.registry import SOURCE_FORMATS
    out, manifest = signals_run
    globs = [g for f in SOURCE_FORMATS.values() for g in f.file_globs]
    landing = [p for p in manifest["files"] if p.startswith("landing/")]
    assert len(landing) == 12 * 12  # 2 police + 2 fire + 5 local authority + 3 health, 12 quarters
    assert all(any(fnmatch(Path(p).name, g) for g in globs) for p in landing)


def test_default_volumes_match_the_manifest(signals_run):
    out, manifest = signals_run
    rates, months = manifest["monthly_rates"], 36
    crimes = _read(out, "force_crimes_*.csv")
    incidents = _read(out, "force_incidents_*.csv")
    asb = incidents["nsir_qualifier"].ne("").sum()
    police_rate = sum(r["monthly"] for k, r in rates.items() if k.startswith("police_uk:"))
    assert abs((len(crimes) + asb) / months / police_rate - 1) < 0.10
    assert 8_000 < police_rate < 9_800
    fire = _read(out, "lfb_incident_records_*.csv")
    deliberate = fire["Motive"].eq("Deliberate").sum() / months
    expected = sum(rates[k]["monthly"] for k in ("deliberate_primary_fires", "deliberate_vehicle_fires",
                                                 "deliberate_secondary_fires"))
    assert abs(deliberate / expected - 1) < 0.10
    malicious = fire["StopCodeDescription"].eq("False alarm - Malicious").sum() / months
    assert abs(malicious / rates["malicious_false_alarms"]["monthly"] - 1) < 0.10
    vehicle = fire[fire["Motive"].eq("Deliberate") & fire["PropertyCategory"].eq("Road Vehicle")]
    assert (vehicle["StopCodeDescription"] == "Primary Fire").all() and len(vehicle) > 0
    collisions = _read(out, "dft-road-casualty-statistics-collision-*.csv")
    assert abs(len(collisions) / months / rates["road_collisions"]["monthly"] - 1) < 0.10
    for pattern, stream in (("school_exclusions_*.csv", "school_exclusions"),
                            ("racial_incidents_*.csv", "racial_incidents")):
        assert abs(len(_read(out, pattern)) / months / rates[stream]["monthly"] - 1) < 0.10


def test_stats19_collisions_and_casualties_join(signals_run):
    out, _ = signals_run
    collisions = _read(out, "dft-road-casualty-statistics-collision-2023Q*.csv")
    casualties = _read(out, "dft-road-casualty-statistics-casualty-2023Q*.csv")
    assert collisions["collision_index"].is_unique
    assert set(casualties["collision_index"]) == set(collisions["collision_index"])
    assert 1.2 < len(casualties) / len(collisions) < 1.4
    age = casualties["age_of_casualty"].astype(int)
    assert 0.05 < age.between(0, 15).mean() < 0.2 and 0 < (age == -1).mean() < 0.03
    worst = casualties.groupby("collision_index")["casualty_severity"].min()
    assert (collisions.set_index("collision_index")["collision_severity"] == worst).all()
    assert pd.to_datetime(collisions["date"], format="%d/%m/%Y").notna().all()


def test_hes_apc_spells_and_code_mix(signals_run):
    out, manifest = signals_run
    apc = _read(out, "hes_apc_2023Q*.csv")
    first = apc[apc["EPIORDER"] == "1"]
    assert not first.duplicated(["PSEUDO_HESID", "ADMIDATE"]).any()
    codes = apc[[f"DIAG_4_{i:02d}" for i in range(1, 21)] + ["CAUSE_4"]]
    listed = codes.apply(lambda c: c.str.match(r"^(X8[5-9]|X9|Y0|F1|T51|Y90|Y91)")).any(axis=1)
    assert listed.mean() < 0.4  # most episodes are outside the CSP code lists
    spells = listed[apc["EPIORDER"] == "1"].sum() / 12
    assert abs(spells / manifest["monthly_rates"]["csp_hospital_admissions"]["monthly"] - 1) < 0.10
    domestic = first["CAUSE_4"].isin(["Y070", "Y071", "Y072"]).sum() / 12
    assert 5 < domestic < 15
    assert first["POSTCODE_OUTWARD"].str.fullmatch(r"[A-Z]{1,2}\d{1,2}").all()


def _growth(crimes: pd.DataFrame, signals: dict) -> float:
    trend = signals["trend"]
    from csp.geography import area_lsoas
    from csp.config import settings
    lsoas = area_lsoas(settings().reference_dir, "E23000021")
    in_csp = set(lsoas.loc[lsoas["CSP19CD"] == trend["csp_code"], "LSOA11CD"])
    series = crimes[crimes["crime_type"].eq(trend["crime_type"]) & crimes["lsoa_code"].isin(in_csp)]
    year = series["stamp"].dt.year.value_counts()
    return year[2024] / year[2023] - 1


def _hotspot_ratio(crimes: pd.DataFrame, incidents: pd.DataFrame, signals: dict) -> float:
    from csp.config import settings
    from csp.geography import area_lsoas
    lsoas = area_lsoas(settings().reference_dir, "E23000021")
    csp = lsoas[lsoas["CSP19CD"] == signals["hotspot"]["csp_code"]]
    events = pd.concat([crimes["lsoa_code"], incidents.loc[incidents["nsir_qualifier"].ne(""), "lsoa_code"]])
    counts = events[events.isin(set(csp["LSOA11CD"]))].value_counts()
    hot = csp["LSOA11CD"].isin(signals["hotspot"]["lsoa_codes"])

    def rate(rows):
        return counts.reindex(rows["LSOA11CD"]).fillna(0).sum() / rows["population"].sum()
    return rate(csp[hot]) / rate(csp)


def _summer_winter(incidents: pd.DataFrame) -> float:
    asb = incidents[incidents["nsir_qualifier"].ne("")]
    month = pd.to_datetime(asb["incident_date"]).dt.month
    return month.isin([6, 7, 8]).sum() / month.isin([12, 1, 2]).sum()


def _nte_night_shares(crimes: pd.DataFrame, signals: dict) -> tuple[float, float]:
    violence = crimes[crimes["crime_type"] == "Violence and sexual offences"]
    night = is_nte_night(violence["stamp"].to_numpy().astype("datetime64[m]"))
    nte = violence["lsoa_code"].isin(signals["night_time_economy"]["lsoa_codes"]).to_numpy()
    return night[nte].mean(), night[~nte].mean()


def _displacement(crimes: pd.DataFrame, signals: dict) -> dict[str, float]:
    d = signals["displacement"]
    after = crimes["stamp"] >= pd.Timestamp(d["initiative_start"])
    before = crimes["stamp"] >= pd.Timestamp(d["initiative_start"]) - pd.DateOffset(months=12)
    change = {}
    for role in ("initiative", "buffer", "control"):
        rows = crimes["lsoa_code"].isin(d[f"{role}_lsoa_codes"])
        change[role] = (rows & after).sum() / (rows & before & ~after).sum() - 1  # year after vs year before
    return change


def test_planted_signals_are_visible(signals_run):
    out, manifest = signals_run
    crimes, incidents = _crimes(out), _read(out, "force_incidents_*.csv")
    signals = manifest["signals"]
    assert 0.15 <= _growth(crimes, signals) <= 0.35
    assert _hotspot_ratio(crimes, incidents, signals) >= 2.5
    assert _summer_winter(incidents) >= 1.15
    nte, elsewhere = _nte_night_shares(crimes, signals)
    assert nte > 0.4 and nte > 3 * elsewhere
    change = _displacement(crimes, signals)
    assert change["initiative"] < -0.15 and change["buffer"] > 0.08 and abs(change["control"]) < 0.12


def test_no_signals_means_stationary_noise(quiet_run, signals_run):
    out, manifest = quiet_run
    assert manifest["signals_planted"] is False
    assert manifest["signals"] == signals_run[1]["signals"]  # same partnership, same places
    crimes, incidents = _crimes(out), _read(out, "force_incidents_*.csv")
    signals = manifest["signals"]
    assert abs(_growth(crimes, signals)) <= 0.10
    assert _hotspot_ratio(crimes, incidents, signals) < 1.8
    assert abs(_summer_winter(incidents) - 1) < 0.08
    nte, elsewhere = _nte_night_shares(crimes, signals)
    assert nte < 2 * elsewhere
    change = _displacement(crimes, signals)
    assert abs(change["initiative"]) < 0.12 and abs(change["buffer"]) < 0.12


def test_consultation_puts_the_trend_theme_first(signals_run):
    out, manifest = signals_run
    consultation = pd.read_csv(out / "partnership/consultation.csv", dtype={"csp_code": str})
    trend = manifest["signals"]["trend"]
    csp = consultation[consultation["csp_code"] == trend["csp_code"]]
    assert csp.loc[csp["share_concerned"].idxmax(), "theme"] == trend["theme"]
    from csp.registry import THEMES
    assert set(consultation["theme"]) == set(THEMES)
    areas = pd.read_csv(out / "partnership/initiative_areas.csv")
    assert areas["area_role"].value_counts().to_dict() == {"initiative": 4, "buffer": 8, "control": 8}
    tasking = pd.read_csv(out / "partnership/tasking_log.csv")
    assert tasking["theme"].isin(list(THEMES)).all()


def test_returns_land_before_their_deadline_except_the_planted_late_one(small_runs):
    from datetime import datetime

    from csp.quarters import Quarter

    root = small_runs["a"]
    manifest = __import__("json").loads((root / "manifest.json").read_text())
    late = manifest["late_return"]
    for key, when in manifest["received"].items():
        authority, quarter = key.split("/")
        received = datetime.fromisoformat(when)
        on_time = Quarter.parse(quarter).end < received.date() <= Quarter.parse(quarter).deadline
        assert on_time != (late == {"authority": authority, "quarter": quarter}), key
        for path in (root / "landing" / authority / quarter).iterdir():
            assert path.stat().st_mtime == received.timestamp()
