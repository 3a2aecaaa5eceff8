"""What the partnership itself supplies: public consultation, the plan's priorities and
targets, the board's capacity ratings, the initiative areas of the displacement study, and
the tasking log.

The planted trend's theme gets the highest public concern in its CSP, so a priority
matrix (volume x trend x harm x concern) has a clear leader there. Its capacity rating is
the middle of the scale (3): the signal is the trend and the concern, not a rigged rating.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from csp.registry import THEMES
from csp.synth import events, signals
from csp.synth.context import Context
from csp.synth.csvfile import write_csv

TARGET_CHANGE_PCT = {"violence": -5, "asb": -10, "acquisitive": -5, "domestic_abuse": 5, "road_danger": -10}
PLAN_MEASURES = {
    "violence": "police recorded violence with injury",
    "asb": "ASB incidents reported to police and councils",
    "acquisitive": "police recorded acquisitive crime",
    "domestic_abuse": "domestic abuse incidents reported (increase sought: reporting confidence)",
    "road_danger": "people killed or seriously injured on roads",
}
# problem, actions, outcome, owner role, owner team (with {district} / {csp} filled in)
TASKING = {
    "acquisitive": ("Series of thefts from vehicles in residential streets overnight",
                    "Targeted patrols 22:00-06:00; crime prevention letters; ANPR review",
                    "Two arrests; offences back to seasonal levels", "Neighbourhood Inspector", "{district} NPT"),
    "asb": ("Youth-related ASB around shops and the park in the evenings",
            "Joint patrols with council wardens; diversionary youth sessions; dispersal order considered",
            "Calls reduced over six weeks", "ASB Officer", "{district} Council"),
    "violence": ("Late-night violence near licensed premises at weekends",
                 "Licensing visits; taxi marshals; Best Bar None scheme", "Fewer weekend assaults reported",
                 "Licensing Sergeant", "{district} NPT"),
    "criminal_damage_arson": ("Repeat deliberate refuse and bin fires",
                              "Fire service arson reduction visits; early bin collection; CCTV deployed",
                              "No further fires in the month after", "Arson Reduction Officer",
                              "Leicestershire Fire and Rescue Service"),
    "road_danger": ("Speeding complaints and collisions on a rural route",
                    "Speed checks; community speed watch; highways review of the junction",
                    "Highways scheme programmed", "Road Safety Officer", "{district} Road Safety Partnership"),
    "domestic_abuse": ("Repeat domestic incidents at addresses with children",
                       "MARAC referrals; IDVA contact; school safeguarding leads informed",
                       "Safety plans in place", "Domestic Abuse Coordinator", "{csp} CSP"),
    "drugs_alcohol": ("Street drinking and drug litter in a town-centre car park",
                      "Outreach with treatment service; needle bins; PSPO enforcement",
                      "Referrals into treatment made", "Community Safety Coordinator", "{csp} CSP"),
}
STATUSES = pd.Series({"closed": 6, "open": 3, "monitoring": 1})


def _consultation(ctx: Context, rng: np.random.Generator, csps: pd.DataFrame) -> dict:
    themes = list(THEMES)
    n = len(csps) * len(themes)
    share = rng.uniform(0.12, 0.48, n).round(2)
    csp_col = np.repeat(csps["CSP19CD"].to_numpy(), len(themes))
    theme_col = np.tile(themes, len(csps))
    share[(csp_col == signals.TREND_CSP) & (theme_col == signals.TREND_THEME)] = 0.64
    respondents = np.repeat((csps["population"].to_numpy() / 250 * rng.uniform(0.8, 1.2, len(csps))).astype(int),
                            len(themes))
    return {"csp_code": csp_col, "theme": theme_col, "share_concerned": _two_decimals(share),
            "respondents": respondents.astype(str)}


def _two_decimals(values: np.ndarray) -> np.ndarray:
    return np.char.mod("%.2f", values).astype(object)


def _plan(ctx: Context, rng: np.random.Generator, csps: pd.DataFrame) -> dict:
    first, last = ctx.quarters[0], ctx.quarters[min(3, len(ctx.quarters) - 1)]
    rows = []
    for code in csps["CSP19CD"]:
        themes = list(rng.choice(list(PLAN_MEASURES), size=3, replace=False))
        if code == signals.TREND_CSP and signals.TREND_THEME not in themes:
            themes[0] = signals.TREND_THEME
        rows += [(code, theme, PLAN_MEASURES[theme], f"{first.label}-{last.label}",
                  str(TARGET_CHANGE_PCT[theme])) for theme in sorted(themes)]
    frame = pd.DataFrame(rows,
                         columns=["csp_code", "priority_theme", "measure", "baseline_period", "target_change_pct"])
    return {c: frame[c] for c in frame.columns}


# Capacity ratings (1 none .. 5 strong): most themes sit in the middle, a few are well or
# poorly resourced, as a board's self-assessment usually reads.
CAPACITY_RATINGS = pd.Series({1: 1, 2: 3, 3: 4, 4: 3, 5: 1})
RATED_BY = ("Partnership board", "Partnership board workshop", "Community Safety Manager")


def _capacity(ctx: Context, rng: np.random.Generator, csps: pd.DataFrame) -> dict:
    themes = list(THEMES)
    codes = np.repeat(csps["CSP19CD"].to_numpy(), len(themes))
    theme_col = np.tile(themes, len(csps))
    rating = events.pick(rng, CAPACITY_RATINGS, len(codes)).astype(int)
    rating[(codes == signals.TREND_CSP) & (theme_col == signals.TREND_THEME)] = 3
    rated_by = np.repeat(rng.choice(RATED_BY, size=len(csps)), len(themes))
    return {"csp_code": codes, "theme": theme_col, "capacity_rating": rating.astype(str), "rated_by": rated_by}


def _initiative_areas(ctx: Context) -> dict:
    areas = ctx.plan.areas
    roles = [("initiative", areas.initiative), ("buffer", areas.buffer), ("control", areas.control)]
    role = [r for r, codes in roles for _ in codes]
    return {"area_role": role, "lsoa_code": [c for _, codes in roles for c in codes],
            "initiative_start": [ctx.plan.initiative_start.isoformat()] * len(role)}


def _tasking_log(ctx: Context, rng: np.random.Generator, csps: pd.DataFrame) -> dict:
    lsoas = ctx.area.lsoas
    rows = []
    for quarter in ctx.quarters:
        for code, name in zip(csps["CSP19CD"], csps["CSP19NM"], strict=True):
            district = lsoas.loc[lsoas["CSP19CD"] == code, "LAD19NM"].iloc[0]
            for theme in sorted(rng.choice(list(TASKING), size=2, replace=False)):
                problem, actions, outcome, role, team = TASKING[theme]
                raised = quarter.start + timedelta(days=int(rng.integers(0, 85)))
                status = str(events.pick(rng, STATUSES, 1)[0])
                rows.append((code, raised.isoformat(), problem, theme,
                             f"{role}, {team.format(district=district, csp=name)}", actions,
                             outcome if status != "open" else "", status))
    frame = pd.DataFrame(rows,
                         columns=["csp_code", "raised_date", "problem", "theme", "owner", "actions", "outcome",
                                  "status"])
    return {c: frame[c] for c in frame.columns}


def generate(ctx: Context, folder: Path) -> list[Path]:
    rng = ctx.rng("partnership")
    csps = ctx.area.lsoas.groupby(["CSP19CD", "CSP19NM"], as_index=False, sort=True)["population"].sum()
    files = {
        "consultation.csv": (["csp_code", "theme", "share_concerned", "respondents"], _consultation(ctx, rng, csps)),
        "plan.csv": (["csp_code", "priority_theme", "measure", "baseline_period", "target_change_pct"],
                     _plan(ctx, rng, csps)),
        "initiative_areas.csv": (["area_role", "lsoa_code", "initiative_start"], _initiative_areas(ctx)),
        "tasking_log.csv": (["csp_code", "raised_date", "problem", "theme", "owner", "actions", "outcome", "status"],
                            _tasking_log(ctx, rng, csps)),
        # Its own random stream, so the other files keep their bytes.
        "capacity.csv": (["csp_code", "theme", "capacity_rating", "rated_by"],
                         _capacity(ctx, ctx.rng("partnership", "capacity"), csps)),
    }
    paths = []
    for name, (header, columns) in files.items():
        write_csv(folder / name, header, columns)
        paths.append(folder / name)
    return paths
