"""Health returns: HES admitted patient care episodes (datasets 9, 10), HES outpatients and
drug-treatment counts (11), ambulance call-outs (12).

HES rows are episodes: a spell of 1-3 episodes shares PSEUDO_HESID and ADMIDATE with
EPIORDER 1..n. Codes are 4-character ICD-10 without the dot (X991, F101, R54X). Most spells
are outside the CSP code lists, as in any real extract.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from csp.quarters import Quarter
from csp.registry import SOURCE_FORMATS
from csp.synth import events, places, signals, timing
from csp.synth.context import Context
from csp.synth.csvfile import write_csv
from csp.synth.rates import MONTHLY_RATES

APC_SAMPLE = Path("health") / "artificial_hes_apc_0102.csv"
OP_SAMPLE = Path("health") / "artificial_hes_op_0304_truncated.csv"
CSP_CODE_PREFIXES = ("X85", "X86", "X87", "X88", "X89", "X9", "Y0", "F1", "T51", "Y90", "Y91")
PROVIDER = "RWE"  # University Hospitals of Leicester NHS Trust
MAX_DIAGNOSES = 4


def _codes(**weights: float) -> pd.Series:
    return pd.Series(weights)


INJURIES = _codes(S010=3, S019=2, S022=3, S023=2, S025=1, S060=3, S099=2, S202=1, S610=1, S619=1, T140=2, T141=1)
ASSAULT_CAUSES = _codes(Y040=30, Y049=10, Y00X=12, X991=10, X999=4, Y080=3, Y099=6, X959=1)
DOMESTIC_CAUSES = _codes(Y070=7, Y071=2, Y072=1)
ALCOHOL_MARKERS = _codes(Y906=3, Y907=2, Y909=2, Y911=2, Y912=1, F100=3)
SUBSTANCE_DIAGNOSES = _codes(F100=30, F102=25, F103=6, F101=6, F112=5, F122=4, F142=4, F151=2, F192=6, F199=2)
SUBSTANCE_SECONDARY = _codes(K703=3, K701=2, Z720=3, F329=2, R418=1)
TOXIC_ALCOHOL = _codes(T510=8, T519=3, T511=1)
TOXIC_CAUSES = _codes(X450=5, X650=2)
SUPPLEMENTARY_HOSTS = _codes(S720=3, S525=2, S010=2, R55X=2)  # Y90/Y91 ride on these
SUPPLEMENTARY_CODES = _codes(Y900=1, Y904=1, Y906=2, Y909=2, Y910=1, Y911=2, Y919=1)
FALL_CAUSES = _codes(W010=2, W190=3, W180=1)
MENTAL_HEALTH_SPECIALTIES = _codes(**{"710": 10, "711": 3, "712": 1, "713": 1, "715": 4, "720": 1, "722": 2, "723": 1})
OTHER_SPECIALTIES = _codes(**{"100": 4, "101": 2, "110": 5, "120": 3, "130": 4, "300": 5, "320": 3, "330": 3, "420": 2,
                              "502": 3})
AMBULANCE_COMPLAINTS = _codes(**{"Assault / sexual assault": 35, "Stab / gunshot / penetrating trauma": 5})
AMBULANCE_OTHER = _codes(**{"Overdose / poisoning": 25, "Unconscious / fainting (alcohol)": 20,
                            "Traffic / transportation incident": 15})
NATURE_OF_CALL = _codes(Emergency=70, Urgent=25, Routine=5)

# Breakdown of the ~300 CSP-coded spells a month (rates.MONTHLY_RATES["csp_hospital_admissions"]).
ADMISSION_KINDS = {"assault": 0.30, "substance": 0.55, "toxic_alcohol": 0.08, "supplementary": 0.07}


@dataclass(frozen=True)
class Spells:
    lsoa: np.ndarray
    admitted: np.ndarray  # datetime64[D]
    diagnoses: list[np.ndarray]  # DIAG_4_01.. per spell ("" when absent)
    cause: np.ndarray
    age: np.ndarray
    emergency: np.ndarray  # bool


def _pick_or_blank(rng, table: pd.Series, n: int, share: float | np.ndarray) -> np.ndarray:
    return np.where(rng.random(n) < share, events.pick(rng, table, n), "")


def _spells(ctx: Context, rng: np.random.Generator, kind: str, monthly: float, month_index: int, month,
            background: pd.Series) -> Spells:
    multipliers = ctx.multipliers(month_index, month)
    if kind == "other":  # ordinary admissions follow residents, not the crime weights
        population = ctx.area.lsoas["population"].to_numpy(dtype=float)
        expected = monthly * ctx.scale * population / population.sum()
    else:
        factor = multipliers.nte_outward(signals.NTE_ADMISSION_MULTIPLIER) if kind == "assault" else 1.0
        expected = ctx.expected(monthly, factor)
    lsoa = events.draw_lsoas(rng, expected)
    n = len(lsoa)
    admitted = timing.draw_times(rng, month, n, "flat").astype("datetime64[D]")
    blank = np.full(n, "", dtype=object)
    if kind in ("assault", "domestic"):
        nte = ctx.area.lsoas["outward_code"].isin(ctx.plan.areas.nte_outward_codes).to_numpy()[lsoa] & ctx.plan.planted
        cause = events.pick(rng, DOMESTIC_CAUSES if kind == "domestic" else ASSAULT_CAUSES, n)
        diagnoses = [events.pick(rng, INJURIES, n), cause,
                     _pick_or_blank(rng, ALCOHOL_MARKERS, n, np.where(nte, 0.7, 0.35)), blank]
        age = 16 + rng.gamma(2.0, 9.0, n).astype(int)
    elif kind == "substance":
        cause = blank
        diagnoses = [events.pick(rng, SUBSTANCE_DIAGNOSES, n), _pick_or_blank(rng, SUBSTANCE_SECONDARY, n, 0.6),
                     blank, blank]
        age = 18 + rng.gamma(3.0, 10.0, n).astype(int)
    elif kind == "toxic_alcohol":
        cause = events.pick(rng, TOXIC_CAUSES, n)
        diagnoses = [events.pick(rng, TOXIC_ALCOHOL, n), cause, _pick_or_blank(rng, SUPPLEMENTARY_CODES, n, 0.3), blank]
        age = 14 + rng.gamma(2.0, 10.0, n).astype(int)
    elif kind == "supplementary":
        cause = events.pick(rng, FALL_CAUSES, n)
        diagnoses = [events.pick(rng, SUPPLEMENTARY_HOSTS, n), cause, events.pick(rng, SUPPLEMENTARY_CODES, n), blank]
        age = 18 + rng.gamma(3.0, 12.0, n).astype(int)
    else:
        cause = blank
        diagnoses = [events.pick(rng, background, n),
                     *(_pick_or_blank(rng, background, n, share) for share in (0.6, 0.35, 0.2))]
        age = rng.integers(0, 96, n)
    return Spells(lsoa, admitted, diagnoses, cause, np.minimum(age, 99),
                  np.full(n, kind != "other") | (rng.random(n) < 0.4))


def _fyear(days: np.ndarray) -> np.ndarray:
    """HES FYEAR: the financial year, e.g. 2223 for April 2022 to March 2023."""
    stamp = pd.DatetimeIndex(days)
    start = np.where(stamp.month >= 4, stamp.year, stamp.year - 1)
    return np.char.add(np.char.zfill((start % 100).astype(str), 2),
                       np.char.zfill(((start + 1) % 100).astype(str), 2)).astype(object)


def background_diagnoses(reference_dir: Path) -> pd.Series:
    """Primary diagnoses of the artificial HES APC file outside the CSP code lists, by frequency."""
    codes = pd.read_csv(reference_dir / APC_SAMPLE, usecols=["DIAG_4_01"], dtype=str)["DIAG_4_01"].dropna()
    codes = codes[codes.str.fullmatch(r"[A-Z]\d{2}[0-9X]") & ~codes.str.startswith(CSP_CODE_PREFIXES)]
    return codes.value_counts().sort_index()


def write_hes_apc(ctx: Context, quarter: Quarter, quarter_index: int, kinds: dict[str, float]) -> Path:
    background = background_diagnoses(ctx.reference_dir)
    parts = [_spells(ctx, ctx.rng("health", "apc", kind, str(i)), kind, monthly, i, month, background)
             for i, month in ctx.months(quarter) for kind, monthly in kinds.items()]
    rng = ctx.rng("health", "apc", quarter.label)
    lsoa = np.concatenate([p.lsoa for p in parts])
    admitted = np.concatenate([p.admitted for p in parts])
    diagnoses = np.column_stack([np.concatenate([p.diagnoses[k] for p in parts]) for k in range(MAX_DIAGNOSES)])
    # Positions fill in order: optional codes that were not drawn leave no gaps.
    diagnoses = np.take_along_axis(diagnoses, np.argsort(diagnoses == "", axis=1, kind="stable"), axis=1).T
    cause, age = np.concatenate([p.cause for p in parts]), np.concatenate([p.age for p in parts])
    emergency = np.concatenate([p.emergency for p in parts])
    order = np.lexsort((lsoa, admitted))
    spells = len(order)
    episodes = 1 + (rng.random(spells) < 0.25) + (rng.random(spells) < 0.08)
    spell = np.repeat(order, episodes)
    position = np.repeat(np.arange(spells), episodes)
    epiorder = np.arange(len(spell)) - np.repeat(np.cumsum(episodes) - episodes, episodes) + 1
    episode_days = rng.poisson(1.5, len(spell))
    start_offset = pd.Series(episode_days).groupby(position).cumsum().to_numpy() - episode_days
    spell_days = pd.Series(episode_days).groupby(position).sum().to_numpy()[position]
    admidate = admitted[spell]
    epistart = admidate + start_offset.astype("timedelta64[D]")
    epiend = epistart + episode_days.astype("timedelta64[D]")
    disdate = admidate + spell_days.astype("timedelta64[D]")
    last = epiorder == episodes[position]
    codes = [d[spell] for d in diagnoses]
    concat4 = pd.Series(codes[0])
    for extra in codes[1:]:
        concat4 = concat4 + "," + pd.Series(extra)
    concat4 = concat4.str.rstrip(",")
    hesid = events.hex_ids(rng, spells, 32)[position]
    lsoas = ctx.area.lsoas
    columns = {
        "FYEAR": _fyear(admidate), "EPIKEY": (3 * 10**11 + quarter_index * 10**7 + np.arange(len(spell))).astype(str),
        "PSEUDO_HESID": hesid, "ADMIDATE": timing.date_text(admidate),
        "ADMIMETH": np.where(emergency[spell], "21", "11"), "ADMISORC": "19",
        "CAUSE_3": pd.Series(cause[spell]).str.slice(0, 3), "CAUSE_4": cause[spell], "CLASSPAT": "1",
        "DIAG_3_CONCAT": concat4.str.replace(r"([A-Z]\d{2})[0-9X]", r"\1", regex=True),
        "DIAG_4_CONCAT": concat4,
        "DIAG_COUNT": places.fixed((concat4 != "").to_numpy() + concat4.str.count(",").to_numpy(), 1),
        "DISDATE": np.where(last, timing.date_text(disdate), ""), "DISDEST": np.where(last, "19", "98"),
        "DISMETH": np.where(last, "1", "8"), "EPIDUR": episode_days.astype(str), "EPIEND": timing.date_text(epiend),
        "EPIORDER": epiorder.astype(str), "EPISTART": timing.date_text(epistart), "EPISTAT": "3", "EPITYPE": "1",
        "FAE": (epiorder == 1).astype(int).astype(str), "FCE": "1",
        "MAINSPEF": np.where(emergency[spell], "180", "300"),
        "PROCODE3": PROVIDER, "RESLADST_ONS": lsoas["LAD19CD"].to_numpy()[lsoa[spell]],
        "SEX": np.where(rng.random(spells) < 0.6, "1", "2")[position],
        "SPELBGIN": np.where(epiorder == 1, "2", "0"), "SPELDUR": spell_days.astype(str),
        "SPELEND": np.where(last, "Y", "N"), "STARTAGE": age[spell].astype(str),
        "TRETSPEF": np.where(emergency[spell], "180", "300"), "LSOA11": lsoas["LSOA11CD"].to_numpy()[lsoa[spell]],
        "POSTCODE_OUTWARD": lsoas["outward_code"].to_numpy()[lsoa[spell]],
    }
    for k, code in enumerate(codes, start=1):
        columns[f"DIAG_4_{k:02d}"] = code
        columns[f"DIAG_3_{k:02d}"] = pd.Series(code).str.slice(0, 3)
    header = [*pd.read_csv(ctx.reference_dir / APC_SAMPLE, nrows=0).columns, "POSTCODE_OUTWARD"]
    path = ctx.folder("health", quarter) / f"hes_apc_{quarter.label}.csv"
    write_csv(path, header, columns)
    return path


def write_hes_op(ctx: Context, quarter: Quarter, quarter_index: int) -> Path:
    rng = ctx.rng("health", "op", quarter.label)
    population = ctx.area.lsoas["population"].to_numpy(dtype=float)
    frames = []
    for _, month in ctx.months(quarter):
        first = rng.poisson(MONTHLY_RATES["mental_illness_op_first_attendances"].monthly * ctx.scale)
        other = rng.poisson(MONTHLY_RATES["other_outpatient_attendances"].monthly * ctx.scale)
        # Other rows: mental-health follow-ups (40 %) and any attendance in other specialties.
        mh_follow_up = rng.random(other) < 0.4
        frames.append(pd.DataFrame({
            "stamp": timing.draw_times(rng, month, first + other, "daytime", "weekdays_only").astype("datetime64[D]"),
            "specialty": np.concatenate([events.pick(rng, MENTAL_HEALTH_SPECIALTIES, first),
                                         np.where(mh_follow_up, events.pick(rng, MENTAL_HEALTH_SPECIALTIES, other),
                                                  events.pick(rng, OTHER_SPECIALTIES, other))]),
            "firstatt": np.concatenate([np.where(rng.random(first) < 0.85, "1", "3"),
                                        np.where(mh_follow_up, np.where(rng.random(other) < 0.8, "2", "4"),
                                                 events.pick(rng, pd.Series({"1": 3, "2": 6, "3": 0.5, "4": 1}),
                                                             other))]),
            "attended": np.concatenate([np.where(rng.random(first) < 0.9, "5", "6"),
                                        np.where(mh_follow_up, "5",
                                                 events.pick(rng, pd.Series({"5": 85, "6": 5, "3": 10}), other))]),
            "lsoa": rng.choice(len(population), size=first + other, p=population / population.sum()),
        }))
    frame = pd.concat(frames, ignore_index=True).sort_values(["stamp", "lsoa"], kind="stable", ignore_index=True)
    n, lsoas = len(frame), ctx.area.lsoas
    days = frame["stamp"].to_numpy()
    age = rng.integers(5, 95, n)
    header = [*pd.read_csv(ctx.reference_dir / OP_SAMPLE, nrows=0).columns, "POSTCODE_OUTWARD"]
    path = ctx.folder("health", quarter) / f"hes_op_{quarter.label}.csv"
    write_csv(path, header, {
        "FYEAR": _fyear(days), "PSEUDO_HESID": events.hex_ids(rng, n, 32),
        "ATTENDKEY": (5 * 10**11 + quarter_index * 10**7 + np.arange(n)).astype(str),
        "APPTAGE": places.fixed(age, 1), "APPTDATE": timing.date_text(days),
        "ATTENDED": frame["attended"], "FIRSTATT": frame["firstatt"],
        "MAINSPEF": frame["specialty"], "TRETSPEF": frame["specialty"], "PROCODE3": PROVIDER,
        "SEX": np.where(rng.random(n) < 0.5, "1", "2"),
        "LSOA11": lsoas["LSOA11CD"].to_numpy()[frame["lsoa"]],
        "RESLADST_ONS": lsoas["LAD19CD"].to_numpy()[frame["lsoa"]],
        "POSTCODE_OUTWARD": lsoas["outward_code"].to_numpy()[frame["lsoa"]],
    })
    return path


def write_drug_treatment(ctx: Context, quarter: Quarter) -> Path:
    rng = ctx.rng("health", "drug_treatment", quarter.label)
    districts = ctx.area.lsoas.groupby("LAD19CD", sort=True)["population"].sum()
    share = districts.to_numpy(dtype=float) / districts.sum()
    rows = []
    for _, month in ctx.months(quarter):
        end = (pd.Timestamp(month) + pd.offsets.MonthEnd(0)).date()
        counts = rng.poisson(MONTHLY_RATES["persons_in_drug_treatment"].monthly * ctx.scale * share)
        rows.append(pd.DataFrame({"period_start": month.isoformat(), "period_end": end.isoformat(),
                                  "area_code": districts.index, "area_type": "district",
                                  "persons_in_treatment": counts.astype(str)}))
    frame = pd.concat(rows, ignore_index=True)
    path = ctx.folder("health", quarter) / f"drug_treatment_counts_{quarter.label}.csv"
    write_csv(path, list(SOURCE_FORMATS["drug_treatment_counts"].required_columns),
              {c: frame[c] for c in frame.columns})
    return path


def write_ambulance(ctx: Context, quarter: Quarter) -> Path:
    rng = ctx.rng("health", "ambulance", quarter.label)
    monthly = MONTHLY_RATES["ambulance_callouts"].monthly
    violent_share = AMBULANCE_COMPLAINTS.sum() / (AMBULANCE_COMPLAINTS.sum() + AMBULANCE_OTHER.sum())
    frames = []
    for index, month in ctx.months(quarter):
        multipliers = ctx.multipliers(index, month)
        nte = multipliers.nte_night_share() > 0
        violent = events.draw_lsoas(rng,
                                    ctx.expected(monthly * violent_share,
                                                 np.where(nte, signals.NTE_VIOLENCE_MULTIPLIER, 1.0)))
        stamps = timing.draw_times(rng, month, len(violent), "late_evening", "weekend")
        night = rng.random(len(violent)) < multipliers.nte_night_share()[violent]
        stamps[night] = timing.draw_nte_night_times(rng, month, int(night.sum()))
        other = events.draw_lsoas(rng, ctx.expected(monthly * (1 - violent_share)))
        frames.append(pd.DataFrame({
            "lsoa": np.concatenate([violent, other]),
            "stamp": np.concatenate([stamps, timing.draw_times(rng, month, len(other), "late_evening")]),
            "complaint": np.concatenate([events.pick(rng, AMBULANCE_COMPLAINTS, len(violent)),
                                         events.pick(rng, AMBULANCE_OTHER, len(other))]),
        }))
    frame = pd.concat(frames, ignore_index=True).sort_values(["stamp", "lsoa"], kind="stable", ignore_index=True)
    lsoas = ctx.area.lsoas
    path = ctx.folder("health", quarter) / f"ambulance_callouts_{quarter.label}.csv"
    write_csv(path, list(SOURCE_FORMATS["ambulance_callouts"].required_columns), {
        "incident_ref": events.references(f"AMB{quarter.label}-", 1, len(frame), 6),
        "call_date": timing.date_text(frame["stamp"].to_numpy()),
        "call_time": timing.time_text(frame["stamp"].to_numpy()),
        "chief_complaint": frame["complaint"],
        "nature_of_call": events.pick(rng, NATURE_OF_CALL, len(frame)),
        "lsoa_code": lsoas["LSOA11CD"].to_numpy()[frame["lsoa"]],
        "outward_postcode": lsoas["outward_code"].to_numpy()[frame["lsoa"]],
    })
    return path


def admission_kinds(held: frozenset[str]) -> dict[str, float]:
    """Monthly spells per kind for the held admission datasets (background always present)."""
    total = MONTHLY_RATES["csp_hospital_admissions"].monthly
    domestic = MONTHLY_RATES["domestic_abuse_admissions"].monthly
    kinds = {}
    if "hospital_admissions" in held:
        kinds = {kind: total * share for kind, share in ADMISSION_KINDS.items()}
        kinds["assault"] -= domestic  # domestic-abuse assaults are part of the assault share
    if {"hospital_admissions", "domestic_abuse_admissions"} & held:
        kinds["domestic"] = domestic
        kinds["other"] = MONTHLY_RATES["other_hospital_admissions"].monthly
    return kinds


def generate(ctx: Context) -> list[Path]:
    kinds = admission_kinds(ctx.held)
    paths = []
    for index, quarter in enumerate(ctx.quarters):
        if kinds:
            paths.append(write_hes_apc(ctx, quarter, index, kinds))
        if "health_counts" in ctx.held:
            paths += [write_hes_op(ctx, quarter, index), write_drug_treatment(ctx, quarter)]
        if "ambulance_callouts" in ctx.held:
            paths.append(write_ambulance(ctx, quarter))
    return paths
