"""The calibration harness: how often each published flag is false on realistic noise, and how
often it finds the signals the generator plants.

``python -m csp.calibration`` simulates the force area of the synthetic partnership
(its 611 LSOAs, populations, partnerships and neighbours, ``csp.synth.areas`` and
``csp.analysis.run.neighbour_weights``; its volumes, ``csp.synth.rates``) under null models
with no effect anywhere, and under the generator's planted signals, and runs each replicate
through the very functions the published tables come from (``change.compare_family``,
``trend.trend_family``, ``control.exceedance_family``, ``seasonality.seasonality_family``,
``hotspots.excess_risk`` and ``hotspot_classes``, ``repeats.knox_test`` with
``locations.near_repeat_claims``, ``wdq.weighted_displacement``, ``nte.raised_share``): the
frame functions the pipeline calls are thin wrappers that shape the marts into these arrays.

Null models (one replicate = one force area, 36 months ending in December):

* ``a``  Poisson, equal risk: every series constant, every LSOA at its partnership's rate;
* ``b``  LSOA relative risks drawn independently (gamma, CV 0.3), no spatial structure;
  series levels likewise drawn;
* ``c``  ``b`` plus extra-Poisson variation, month to month (gamma, CV 5 %) and year to year
  (CV 3 %), independently for every partnership x category series and every LSOA;
* ``d``  spatially smooth heterogeneity: log relative risk a Gaussian field (kernel smoothing
  of white noise over the LSOA centroids, 2 km bandwidth), CV about 0.3; the hotspot flag is
  then judged by its false discovery proportion: the share of flagged LSOAs whose true risk
  is not above their partnership's.

The family-wise false-flag rate of a flag is the share of replicates (force areas, or maps)
with at least one false flag of that kind anywhere in its published table, with a 95 %
Clopper-Pearson interval (``scipy.stats.binomtest``); ``per CSP`` is the share of
partnership reports with one. Power is the share of replicates in which the planted signal
is found, judged as the power tests judge it.
"""
from __future__ import annotations

import argparse
import functools
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import binomtest

from csp.analysis import change, control, hotspots, nte, repeats, seasonality, trend, wdq
from csp.analysis.locations import near_repeat_claims

REFERENCE_MONTH = pd.Timestamp("2025-12-01")
MONTHS = pd.date_range("2023-01-01", REFERENCE_MONTH, freq="MS")
HETEROGENEITY_CV = 0.3
MONTH_CV = 0.05
YEAR_CV = 0.03
SMOOTH_BANDWIDTH_KM = 2.0
NULL_MODELS = {"a": "Poisson, equal risk", "b": "independent LSOA risks (gamma CV 0.3)",
               "c": "b + month 5 % and year 3 % extra-Poisson", "d": "spatially smooth risk"}
# Non-police volumes the generator plants (csp.synth.rates.MONTHLY_RATES), with their theme.
OTHER_CATEGORIES = {"council ASB": ("asb", 400.0), "deliberate secondary fires": ("criminal_damage_arson", 105.0),
                    "racial incidents": ("hate", 30.0), "road collisions": ("road_danger", 100.0),
                    "school exclusions": ("young_people", 600.0), "CSP-coded admissions": ("drugs_alcohol", 300.0)}
DENSE_THEME, SPARSE_THEME = "acquisitive", "hate"
SUMMER = ("Anti-social behaviour", "council ASB", "deliberate secondary fires")
WINTER = ("Burglary",)


@dataclass(frozen=True)
class World:
    """The simulated force area: partnerships, LSOAs and series volumes."""
    lsoas: pd.DataFrame  # LSOA11CD, CSP19CD, population, weight, x_km, y_km
    weights: sparse.csr_matrix  # the pipeline's Gi* neighbours
    categories: pd.DataFrame  # category, theme, monthly (force area)
    csps: np.ndarray
    csp_share: np.ndarray  # each CSP's share of events (its LSOAs' weights)
    signal_areas: object  # csp.synth.areas.SignalAreas
    smoothing: np.ndarray  # LSOA x LSOA kernel for model d


@functools.cache
def world(seed: int = 2026) -> World:
    """The synthetic partnership's force area (Leicestershire), as the generator draws it."""
    from csp.analysis.run import neighbour_weights
    from csp.config import settings
    from csp.synth import signals
    from csp.synth.areas import choose_signal_areas, load_area
    from csp.synth.rates import ASB, police_crime_mix
    from csp.themes import THEME_RULES

    reference = settings().reference_dir
    area = load_area(reference, "E23000021", np.random.default_rng(seed))
    lsoas = area.lsoas
    xy = area.xy_km()
    weights = neighbour_weights(lsoas["LSOA11CD"].to_numpy(), lsoas["longitude"].to_numpy(),
                                lsoas["latitude"].to_numpy(), reference)
    theme_of = {pattern: theme for dataset, pattern, theme in THEME_RULES if dataset == "police_crimes"}
    rows = [(crime, "asb" if crime == ASB else theme_of[crime], float(n))
            for crime, n in police_crime_mix(reference).items()]
    rows += [(name, theme, volume) for name, (theme, volume) in OTHER_CATEGORIES.items()]
    categories = pd.DataFrame(rows, columns=["category", "theme", "monthly"])
    csps = np.sort(lsoas["CSP19CD"].unique())
    share = lsoas.groupby("CSP19CD")["weight"].sum().reindex(csps).to_numpy()
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
    kernel = np.exp(-d2 / (2 * SMOOTH_BANDWIDTH_KM**2))
    frame = pd.DataFrame({"LSOA11CD": lsoas["LSOA11CD"], "CSP19CD": lsoas["CSP19CD"],
                          "population": lsoas["population"].astype(float), "weight": lsoas["weight"],
                          "x_km": xy[:, 0], "y_km": xy[:, 1]})
    return World(frame, weights, categories, csps, share, choose_signal_areas(area, signals.HOTSPOT_CSP), kernel)


# ---------------------------------------------------------------------------------------------
# noise


def gamma_noise(rng, cv: float, shape) -> np.ndarray:
    """Multiplicative gamma noise of mean 1 and coefficient of variation cv (1 when cv is 0)."""
    if cv <= 0:
        return np.ones(shape)
    return rng.gamma(1 / cv**2, cv**2, shape)


def series_means(w: World, model: str, rng, replicates: int) -> np.ndarray:
    """(replicates, CSP x category, months) expected counts before any planted signal."""
    base = np.outer(w.csp_share, w.categories["monthly"].to_numpy()).ravel()  # CSP-major
    mu = np.broadcast_to(base[None, :, None], (replicates, len(base), len(MONTHS))).copy()
    if model in ("b", "c"):
        mu *= gamma_noise(rng, HETEROGENEITY_CV, (replicates, len(base), 1))
    if model == "c":
        years = np.repeat(gamma_noise(rng, YEAR_CV, (replicates, len(base), 3)), 12, axis=2)
        mu *= years * gamma_noise(rng, MONTH_CV, mu.shape)
    return mu


def seasonal_multiplier(w: World, amplitude: float = 0.3) -> np.ndarray:
    """(CSP x category, months): the generator's planted seasonal factors."""
    from csp.synth.rates import SUMMER_PEAK_MONTH, WINTER_PEAK_MONTH

    cats = w.categories["category"].to_numpy()
    m = MONTHS.month.to_numpy()
    summer = 1 + amplitude * np.cos(2 * np.pi * (m - SUMMER_PEAK_MONTH) / 12)
    winter = 1 + amplitude * np.cos(2 * np.pi * (m - WINTER_PEAK_MONTH) / 12)
    per_cat = np.where(np.isin(cats, SUMMER)[:, None], summer, np.where(np.isin(cats, WINTER)[:, None], winter, 1.0))
    return np.tile(per_cat, (len(w.csps), 1))


def trend_multiplier(w: World) -> tuple[np.ndarray, int]:
    """(CSP x category, months) with the planted vehicle-crime growth, and the series' row."""
    from csp.synth import signals

    out = np.ones((len(w.csps) * len(w.categories), len(MONTHS)))
    row = int(np.searchsorted(w.csps, signals.TREND_CSP)) * len(w.categories) + int(
        np.flatnonzero(w.categories["category"] == signals.TREND_CRIME_TYPE)[0])
    out[row] = (1 + signals.TREND_ANNUAL_GROWTH) ** (np.arange(len(MONTHS)) / 12)
    return out, row


# ---------------------------------------------------------------------------------------------
# the series flags: change, trend, exceedance, seasonality


def theme_rows(w: World) -> tuple[np.ndarray, np.ndarray]:
    """(CSP x theme, CSP x category) aggregation matrix and each theme row's theme."""
    themes = np.sort(w.categories["theme"].unique())
    t_index = np.searchsorted(themes, w.categories["theme"].to_numpy())
    n_c, n_k, n_t = len(w.csps), len(w.categories), len(themes)
    rows = (np.arange(n_c)[:, None] * n_t + t_index[None, :]).ravel()
    agg = sparse.csr_matrix((np.ones(n_c * n_k), (rows, np.arange(n_c * n_k))), shape=(n_c * n_t, n_c * n_k))
    return agg, np.tile(themes, n_c)


def series_flags(category_counts: np.ndarray, w: World) -> dict[str, np.ndarray]:
    """Every published series flag of one replicate: {flag: (series,) bool flagged} with the
    series' CSP index under key ``flag + ':csp'``."""
    agg, theme_of_row = theme_rows(w)
    theme_counts = agg @ category_counts
    n_t = len(theme_of_row) // len(w.csps)
    n_k = len(w.categories)
    csp_of = {"theme": np.repeat(np.arange(len(w.csps)), n_t), "category": np.repeat(np.arange(len(w.csps)), n_k)}
    groups = {"theme": theme_of_row, "category": np.tile(w.categories["category"].to_numpy(), len(w.csps))}
    out: dict[str, np.ndarray] = {}
    for level, counts in (("theme", theme_counts), ("category", category_counts)):
        for comparison, (cur_start, cur_end, prev_start, prev_end) in change.windows(REFERENCE_MONTH).items():
            history = change.span_totals(counts, MONTHS, cur_start, cur_end)
            r = change.compare_family(history[:, 0], history[:, 1], change.days(cur_start, cur_end),
                                      change.days(prev_start, prev_end), history, groups=groups[level])
            out[f"change {level} {comparison}"] = r["significant"].fillna(False).to_numpy(dtype=bool)
            out[f"change {level} {comparison}:csp"] = csp_of[level]
        year_start = REFERENCE_MONTH - pd.DateOffset(months=11)
        totals = change.span_totals(counts, MONTHS, year_start, REFERENCE_MONTH)[:, ::-1]
        r = trend.trend_family(totals, groups=groups[level])
        out[f"trend {level}"] = r["significant"].fillna(False).to_numpy(dtype=bool)
        out[f"trend {level}:csp"] = csp_of[level]
        s = seasonality.seasonality_family(counts.reshape(len(counts), 3, 12))
        out[f"seasonality {level}"] = s["significant"].fillna(False).to_numpy(dtype=bool)
        out[f"seasonality {level}:csp"] = csp_of[level]
    force = np.stack([theme_counts[theme_of_row == t].sum(axis=0) for t in np.unique(theme_of_row)])
    s = seasonality.seasonality_family(force.reshape(len(force), 3, 12))
    out["seasonality force theme"] = s["significant"].fillna(False).to_numpy(dtype=bool)
    out["seasonality force theme:csp"] = np.full(len(force), -1)
    e = control.exceedance_family(theme_counts, MONTHS, groups=pd.factorize(theme_of_row)[0])
    out["exceedance above"] = (e["direction"] == "above expected").any(axis=1)
    out["exceedance below"] = (e["direction"] == "below expected").any(axis=1)
    out["exceedance above:csp"] = out["exceedance below:csp"] = csp_of["theme"]
    return out


def count_flags(results: list[dict[str, np.ndarray]], n_csps: int) -> dict[str, tuple[int, int, int]]:
    """{flag: (replicates with any flag, CSP reports with any flag, replicates)}."""
    names = [k for k in results[0] if not k.endswith(":csp")]
    out = {}
    for name in names:
        any_flag = sum(bool(r[name].any()) for r in results)
        per_csp = 0
        for r in results:
            csp = r[name + ":csp"]
            per_csp += len(np.unique(csp[r[name] & (csp >= 0)]))
        out[name] = (any_flag, per_csp, len(results))
    return out


def simulate_series(w: World, model: str, replicates: int, rng, *, signals: str | None = None) -> list[dict]:
    mu = series_means(w, model, rng, replicates)
    row = None
    if signals == "trend":
        mult, row = trend_multiplier(w)
        mu *= mult[None]
    elif signals == "seasonality":
        mu *= seasonal_multiplier(w)[None]
    counts = rng.poisson(mu).astype(float)
    return [series_flags(counts[k], w) for k in range(replicates)], row


# ---------------------------------------------------------------------------------------------
# hotspots


def theme_lsoa_rate(w: World, theme: str) -> np.ndarray:
    """Expected events a year in each LSOA at its partnership's rate (equal risk inside it)."""
    monthly = w.categories.loc[w.categories["theme"] == theme, "monthly"].sum()
    csp = w.lsoas["CSP19CD"].to_numpy()
    pop = w.lsoas["population"].to_numpy()
    per_csp = pd.Series(w.csp_share, index=w.csps)
    csp_pop = w.lsoas.groupby("CSP19CD")["population"].sum()
    return 12 * monthly * per_csp.reindex(csp).to_numpy() * pop / csp_pop.reindex(csp).to_numpy()


def relative_risk(w: World, model: str, rng) -> np.ndarray:
    n = len(w.lsoas)
    if model == "a":
        return np.ones(n)
    if model in ("b", "c"):
        return gamma_noise(rng, HETEROGENEITY_CV, n)
    field = w.smoothing @ rng.standard_normal(n)
    field = (field - field.mean()) / field.std()
    sigma = np.sqrt(np.log(1 + HETEROGENEITY_CV**2))
    return np.exp(sigma * field - sigma**2 / 2)


def map_years(w: World, theme: str, model: str, rng, *, planted: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(LSOA, 3 years) counts of one theme and the true relative risk (to its partnership)."""
    base = theme_lsoa_rate(w, theme)
    rr = relative_risk(w, model, rng)
    if planted != 1.0:
        # as the generator does: the cluster is chosen with an underlying risk near its
        # partnership's, then raised; here its draws are rescaled to average 1
        cluster = w.lsoas["LSOA11CD"].isin(w.signal_areas.hotspot).to_numpy()
        rr = rr.copy()
        rr[cluster] = planted * rr[cluster] / rr[cluster].mean()
    mean = base[:, None] * rr[:, None] * np.ones((1, 3))
    if model == "c":
        mean = mean * gamma_noise(rng, np.sqrt(YEAR_CV**2 + MONTH_CV**2 / 12), mean.shape)
    csp = w.lsoas["CSP19CD"].to_numpy()
    pop = w.lsoas["population"].to_numpy()
    # true risk relative to the partnership's population-weighted mean risk
    csp_mean = pd.Series(rr * pop).groupby(csp).sum() / pd.Series(pop).groupby(csp).sum()
    return rng.poisson(mean).astype(float), rr / csp_mean.reindex(csp).to_numpy()


def hotspot_flags(counts: np.ndarray, true_rr: np.ndarray, w: World) -> dict[str, object]:
    pop = np.repeat(w.lsoas["population"].to_numpy()[:, None], counts.shape[1], axis=1)
    csp = w.lsoas["CSP19CD"].to_numpy()
    r = hotspots.hotspot_classes(counts, pop, csp, w.weights)
    hot = r["latest"]["hot"]
    planted = w.lsoas["LSOA11CD"].isin(w.signal_areas.hotspot).to_numpy()
    return {"hot": hot, "class": r["class"], "false_hot": hot & (true_rr <= 1.0), "planted": planted,
            "csp": csp}


def simulate_maps(w: World, theme: str, model: str, replicates: int, rng, *, planted: float = 1.0) -> list[dict]:
    return [hotspot_flags(*map_years(w, theme, model, rng, planted=planted), w) for _ in range(replicates)]


# ---------------------------------------------------------------------------------------------
# near repeats, displacement, night-time economy


def knox_replicate(rng, tables: int = 6, events: int = 150, near: float = 0.0) -> np.ndarray:
    """One family of Knox tables (a CSP x theme each): events uniform over a 4 km square and
    a year, independent in space and time; ``near`` of them get a follow-up within 50 m and
    a week (a planted near-repeat pattern). Returns each table's near-repeat claim."""
    frames = []
    for t in range(tables):
        x, y = rng.uniform(0, 4000, events), rng.uniform(0, 4000, events)
        day = rng.integers(0, 365, events)
        k = int(near * events)
        if k:
            pick = rng.choice(events, k, replace=False)
            x = np.r_[x, x[pick] + rng.uniform(-35, 35, k)]
            y = np.r_[y, y[pick] + rng.uniform(-35, 35, k)]
            day = np.r_[day, np.minimum(day[pick] + rng.integers(1, 7, k), 364)]
        ev = pd.DataFrame({"x": x, "y": y, "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(day, unit="D")})
        table = repeats.knox_test(ev, permutations=999, seed=int(rng.integers(2**31)))
        frames.append(table.assign(csp_code=f"c{t}", theme="t"))
    claims = near_repeat_claims(pd.concat(frames, ignore_index=True))
    return claims.drop_duplicates("csp_code")["near_repeat"].to_numpy(dtype=bool)


def displacement_counts(w: World, rng, replicates: int, model: str, planted: bool,
                        expected: bool = False) -> np.ndarray:
    """(replicates, 6) police crimes: initiative, buffer, control, 12 months before and after."""
    from csp.synth import signals

    police = w.categories.loc[~w.categories["category"].isin(list(OTHER_CATEGORIES) + ["Anti-social behaviour"]),
                              "monthly"].sum()
    codes = w.lsoas["LSOA11CD"]
    areas = w.signal_areas
    base = [12 * police * w.lsoas.loc[codes.isin(group), "weight"].sum()
            for group in (areas.initiative, areas.buffer, areas.control)]
    effect = [1 + signals.INITIATIVE_CHANGE, 1 + signals.BUFFER_CHANGE, 1.0] if planted else [1.0, 1.0, 1.0]
    mean = np.array([[b, b * e] for b, e in zip(base, effect, strict=True)]).ravel()  # ab, aa, bb, ba, cb, ca
    mean = np.broadcast_to(mean, (replicates, 6)).copy()
    if expected:
        return mean
    if model == "c":
        mean *= gamma_noise(rng, np.sqrt(YEAR_CV**2 + MONTH_CV**2 / 12), mean.shape)
    return rng.poisson(mean).astype(float)


def planted_displacement_truth(w: World) -> dict[str, float]:
    """The WDQ and total net effect the planted changes imply for the expected counts."""
    expected = displacement_counts(w, None, 1, "a", planted=True, expected=True)[0]
    r = wdq.weighted_displacement(*expected, draws=10)
    return {"wdq": float(r["wdq"].iloc[0]), "tne": float(r["total_net_effect"].iloc[0])}


def displacement_labels(counts: np.ndarray, kappa: float) -> pd.DataFrame:
    return wdq.weighted_displacement(*counts.T, kappa=kappa, draws=1999)


def nte_replicate(w: World, rng, model: str, planted: bool) -> np.ndarray:
    """Each LSOA's night-time share of police violence against the rest (Fisher, BH):
    returns in_cluster. Violence about 2,800 a month; in-hours share 15 % (NTE LSOAs 60 %
    when planted); model b lets each LSOA's share vary (beta, CV 0.3 of its odds)."""
    from csp.synth import signals

    violence = 12 * 2798 * w.lsoas["weight"].to_numpy()
    nte_lsoa = w.lsoas["LSOA11CD"].isin(w.signal_areas.nte).to_numpy()
    if planted:
        violence = violence * np.where(nte_lsoa, signals.NTE_VIOLENCE_MULTIPLIER, 1.0)
    share = np.full(len(violence), 0.15)
    if model in ("b", "c", "d"):
        share = np.clip(share * gamma_noise(rng, HETEROGENEITY_CV, len(share)), 0, 0.95)
    if planted:
        share = np.where(nte_lsoa, signals.NTE_NIGHT_SHARE, share)
    base = rng.poisson(violence)
    night = rng.binomial(base, share)
    places = pd.DataFrame({"csp_code": w.lsoas["CSP19CD"], "place": w.lsoas["LSOA11CD"], "events": night,
                           "base_events": base})
    return nte.raised_share(places)["in_cluster"].to_numpy(dtype=bool)


# ---------------------------------------------------------------------------------------------
# the run


def interval(k: int, n: int) -> tuple[float, float]:
    ci = binomtest(k, n).proportion_ci(0.95, method="exact")
    return ci.low, ci.high


@dataclass
class Row:
    kind: str  # "false flag" | "FDP" | "power"
    flag: str
    model: str
    hits: int
    replicates: int
    per_csp: float | None = None
    value: float | None = None  # FDP: mean false discovery proportion

    @property
    def rate(self) -> float:
        return self.value if self.value is not None else self.hits / self.replicates

    def as_dict(self) -> dict:
        low, high = interval(self.hits, self.replicates) if self.value is None else (np.nan, np.nan)
        return {"kind": self.kind, "flag": self.flag, "model": self.model, "rate": self.rate,
                "low": low, "high": high, "replicates": self.replicates, "per_csp": self.per_csp}


def series_nulls(model: str, n: int, rng) -> list[Row]:
    w = world()
    results, _ = simulate_series(w, model, n, rng)
    return [Row("false flag", flag, model, hits, total, per_csp / (total * len(w.csps)))
            for flag, (hits, per_csp, total) in count_flags(results, len(w.csps)).items()]


def hotspot_nulls(model: str, theme: str, n: int, rng) -> list[Row]:
    w = world()
    maps = simulate_maps(w, theme, model, n, rng)
    if model == "d":
        fdp = [m["false_hot"].sum() / m["hot"].sum() if m["hot"].any() else 0.0 for m in maps]
        return [Row("FDP", f"hotspot {theme}", model, sum(int(m["hot"].any()) for m in maps), n,
                    value=float(np.mean(fdp))),
                Row("false flag", f"hotspot class emerging {theme} (risk constant over the years)", model,
                    sum(int((m["class"] == "emerging").any()) for m in maps), n)]
    per_csp = sum(len(np.unique(m["csp"][m["hot"]])) for m in maps)
    rows = [Row("false flag", f"hotspot {theme}", model, sum(int(m["hot"].any()) for m in maps), n,
                per_csp / (n * len(w.csps)))]
    for cls in ("emerging", "persistent", "diminishing"):
        rows.append(Row("false flag", f"hotspot class {cls} {theme}", model,
                        sum(int((m["class"] == cls).any()) for m in maps), n))
    return rows


def hotspot_planted(model: str, n: int, rng) -> list[Row]:
    maps = simulate_maps(world(), DENSE_THEME, model, n, rng, planted=3.0)
    return [
        Row("false flag", "hotspot class emerging (planted hotspot stable over the years)", model,
            sum(int((m["class"][m["planted"]] == "emerging").any()) for m in maps), n),
        Row("power", "hotspot: 4 of the 5 planted LSOAs hot", model,
            sum(int(m["hot"][m["planted"]].sum() >= 4) for m in maps), n),
        Row("power", "hotspot planted, stable: class persistent (4 of 5)", model,
            sum(int((m["class"][m["planted"]] == "persistent").sum() >= 4) for m in maps), n),
    ]


def near_repeats(kind: str, n: int, rng) -> list[Row]:
    if kind == "false flag":
        claims = [knox_replicate(rng) for _ in range(n)]
        return [Row(kind, "near-repeat (global Knox, 999 permutations)", "a", sum(int(c.any()) for c in claims), n)]
    claims = [knox_replicate(rng, near=0.15) for _ in range(n)]
    return [Row(kind, "near-repeat: 15 % of events followed within 50 m and a week", "a",
                sum(int(c.all()) for c in claims), n)]


def displacement(model: str, n: int, n_power: int, rng) -> list[Row]:
    w = world()
    kappa = 0.0 if model == "a" else YEAR_CV**2 + MONTH_CV**2 / 12
    null = displacement_labels(displacement_counts(w, rng, n, model, planted=False), kappa)
    planted = displacement_labels(displacement_counts(w, rng, n_power, model, planted=True), kappa)
    truth = planted_displacement_truth(w)
    wrong_sign = ((planted["detail"] == "displacement outweighed the direct benefit") & (truth["tne"] > 0)) | (
        planted["detail"].str.startswith("net benefit") & (truth["tne"] < 0))
    return [
        Row("false flag", "displacement label (displacement or diffusion)", model,
            int(null["label"].isin(["displacement", "diffusion of benefits"]).sum()), n),
        Row("false flag", "displacement outweighed the benefit", model,
            int((null["detail"] == "displacement outweighed the direct benefit").sum()), n),
        Row("power", f"displacement labelled, no wrong net-effect claim (true WDQ {truth['wdq']:.2f}, "
            f"TNE {truth['tne']:+.0f})", model, int(((planted["label"] == "displacement") & ~wrong_sign).sum()),
            n_power),
    ]


def night_time_economy(n: int, n_power: int, rng) -> list[Row]:
    w = world()
    rows = []
    for model in ("a", "b"):
        flags = [nte_replicate(w, rng, model, planted=False) for _ in range(n)]
        rows.append(Row("false flag", "night-time-economy cluster", model, sum(int(f.any()) for f in flags), n))
    nte_lsoa = w.lsoas["LSOA11CD"].isin(w.signal_areas.nte).to_numpy()
    flags = [nte_replicate(w, rng, "a", planted=True) for _ in range(n_power)]
    rows.append(Row("power", "night-time-economy cluster: 3 of 4 planted LSOAs", "a",
                    sum(int(f[nte_lsoa].sum() >= 3) for f in flags), n_power))
    return rows


def series_power(model: str, n: int, rng) -> list[Row]:
    w = world()
    results, row = simulate_series(w, model, n, rng, signals="trend")
    rows = [
        Row("power", "trend: planted vehicle crime (+25 %/yr) rising, category level", model,
            sum(int(r["trend category"][row]) for r in results), n),
        Row("power", "change: planted vehicle crime, category rolling 12 m", model,
            sum(int(r["change category rolling_12m"][row]) for r in results), n),
    ]
    results, _ = simulate_series(w, model, n, rng, signals="seasonality")
    _, theme_of_row = theme_rows(w)
    themes = np.unique(theme_of_row)
    burglary = np.tile(w.categories["category"].to_numpy() == "Burglary", len(w.csps))
    rows += [
        Row("power", "seasonality: ASB (amplitude 0.3) in every CSP", model,
            sum(int(r["seasonality theme"][theme_of_row == "asb"].all()) for r in results), n),
        Row("power", "seasonality: ASB force-wide", model,
            sum(int(r["seasonality force theme"][np.searchsorted(themes, "asb")]) for r in results), n),
        Row("power", "seasonality: burglary (winter) per CSP category, share of CSPs", model,
            sum(int(r["seasonality category"][burglary].sum()) for r in results), n * len(w.csps)),
    ]
    return rows


def _task(item) -> list[Row]:
    function, args, seed = item
    return function(*args, np.random.default_rng(seed))


def run(replicates: int = 1000, map_replicates: int = 500, knox_replicates: int = 200,
        power_replicates: int = 200, seed: int = 15, workers: int = 1, progress=None) -> pd.DataFrame:
    """Every row of the false-flag and power tables (see the module docstring). Each scenario
    has its own random stream (spawned from ``seed``), so the rows do not depend on
    ``workers`` (processes; 1 runs everything here)."""
    say = progress or (lambda message: None)
    tasks = [(series_nulls, (m, replicates)) for m in ("a", "b", "c")]
    tasks += [(hotspot_nulls, (m, t, map_replicates))
              for m in ("a", "b", "c", "d") for t in (DENSE_THEME, SPARSE_THEME)]
    tasks += [(hotspot_planted, (m, map_replicates)) for m in ("b", "c")]
    tasks += [(near_repeats, (k, knox_replicates)) for k in ("false flag", "power")]
    tasks += [(displacement, (m, replicates, power_replicates)) for m in ("a", "c")]
    tasks += [(night_time_economy, (map_replicates, power_replicates))]
    tasks += [(series_power, (m, power_replicates)) for m in ("a", "c")]
    seeds = np.random.SeedSequence(seed).spawn(len(tasks))
    items = [(f, args, s) for (f, args), s in zip(tasks, seeds, strict=True)]
    rows: list[Row] = []
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for (f, args, _), result in zip(items, pool.map(_task, items), strict=True):
                say(f"{f.__name__}{args}")
                rows += result
    else:
        for item in items:
            say(f"{item[0].__name__}{item[1]}")
            rows += _task(item)
    return pd.DataFrame([r.as_dict() for r in rows])


def format_table(table: pd.DataFrame) -> str:
    """The two tables as Markdown."""
    lines = []
    false = table[table["kind"] != "power"]
    lines += ["| flag | model | rate | 95 % interval | per CSP | replicates |", "|---|---|---|---|---|---|"]
    for r in false.itertuples():
        ci = "" if np.isnan(r.low) else f"{100 * r.low:.1f}-{100 * r.high:.1f} %"
        name = r.flag + (" (mean FDP)" if r.kind == "FDP" else "")
        per = "" if r.per_csp is None or pd.isna(r.per_csp) else f"{100 * r.per_csp:.1f} %"
        lines.append(f"| {name} | {r.model} | {100 * r.rate:.1f} % | {ci} | {per} | {r.replicates} |")
    lines += ["", "| power scenario | noise | found | 95 % interval | replicates |", "|---|---|---|---|---|"]
    for r in table[table["kind"] == "power"].itertuples():
        ci = f"{100 * r.low:.1f}-{100 * r.high:.1f} %"
        lines.append(f"| {r.flag} | {r.model} | {100 * r.rate:.1f} % | {ci} | {r.replicates} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m csp.calibration", description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=1000, help="series replicates per null model (default 1000)")
    parser.add_argument("--map-replicates", type=int, default=500, help="maps per null model and theme (default 500)")
    parser.add_argument("--knox-replicates", type=int, default=200, help="Knox families (default 200)")
    parser.add_argument("--power-replicates", type=int, default=200, help="replicates per power scenario (default 200)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--workers", type=int, default=1, help="processes (default 1; the machine may be shared)")
    parser.add_argument("--csv", help="also write the rows to this CSV file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = run(args.replicates, args.map_replicates, args.knox_replicates, args.power_replicates, args.seed,
                workers=args.workers,
                progress=lambda m: print(f"[{time.perf_counter() - start:6.0f} s] {m}", file=sys.stderr))
    print(format_table(table))
    print(f"\nrun time {time.perf_counter() - start:.0f} s")
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
