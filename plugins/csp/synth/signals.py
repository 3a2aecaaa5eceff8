"""The planted signals and how each one changes the expected count of an LSOA in a month.

Every signal is a plain multiplier on the stationary base rate, so ``signals=False`` is the
same partnership with all multipliers equal to one. The night-time-economy cluster also
changes *when* violence happens; that part lives in timing.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from csp.quarters import Quarter
from csp.synth import rates
from csp.synth.areas import SignalAreas, SynthArea

TREND_CSP = "E22000171"  # Oadby and Wigston: vehicle crime there runs at about 35-40 a month
TREND_CRIME_TYPE = "Vehicle crime"
TREND_THEME = "acquisitive"
TREND_ANNUAL_GROWTH = 0.25
HOTSPOT_CSP = "E22000167"  # Hinckley and Bosworth
HOTSPOT_RATE_RATIO = 3.0
NTE_VIOLENCE_MULTIPLIER = 2.0  # NTE LSOAs record twice their base violence ...
NTE_NIGHT_SHARE = 0.6  # ... and this share of it falls on Fri/Sat 21:00-03:00
NTE_ADMISSION_MULTIPLIER = 2.0  # assault admissions of NTE outward-code residents
INITIATIVE_CHANGE = -0.30
BUFFER_CHANGE = 0.20
INITIATIVE_START_QUARTER_INDEX = 8  # the 9th generated quarter
SUMMER_STREAMS = ("Anti-social behaviour", "council_asb", "deliberate_secondary_fires")
WINTER_STREAMS = ("Burglary",)
VIOLENCE = "Violence and sexual offences"


@dataclass(frozen=True)
class SignalPlan:
    planted: bool
    areas: SignalAreas
    hotspot_factor: float  # multiplier on hotspot LSOAs giving HOTSPOT_RATE_RATIO
    initiative_start: date

    def manifest(self) -> dict:
        return {
            "trend": {
                "csp_code": TREND_CSP, "dataset": "police_crimes", "crime_type": TREND_CRIME_TYPE,
                "theme": TREND_THEME, "annual_growth": TREND_ANNUAL_GROWTH,
                "compounding": "monthly",
            },
            "hotspot": {
                "csp_code": HOTSPOT_CSP, "datasets": ["police_crimes", "police_incidents"],
                "scope": "police crimes and ASB", "lsoa_codes": list(self.areas.hotspot),
                "rate_ratio_to_csp": HOTSPOT_RATE_RATIO, "multiplier": round(self.hotspot_factor, 4),
            },
            "seasonality": {
                "amplitude": rates.SEASONAL_AMPLITUDE,
                "summer_peak_month": rates.SUMMER_PEAK_MONTH, "summer_streams": list(SUMMER_STREAMS),
                "winter_peak_month": rates.WINTER_PEAK_MONTH, "winter_streams": list(WINTER_STREAMS),
                "form": "1 + amplitude * cos(2 pi (month - peak) / 12)",
            },
            "night_time_economy": {
                "lsoa_codes": list(self.areas.nte), "outward_codes": list(self.areas.nte_outward_codes),
                "crime_type": VIOLENCE, "violence_multiplier": NTE_VIOLENCE_MULTIPLIER,
                "night_share": NTE_NIGHT_SHARE, "night_window": "Fri/Sat 21:00-03:00",
                "assault_admission_multiplier": NTE_ADMISSION_MULTIPLIER,
                "ambulance_assault_multiplier": NTE_VIOLENCE_MULTIPLIER,
            },
            "displacement": {
                "dataset": "police_crimes", "initiative_start": self.initiative_start.isoformat(),
                "initiative_lsoa_codes": list(self.areas.initiative), "initiative_change": INITIATIVE_CHANGE,
                "buffer_lsoa_codes": list(self.areas.buffer), "buffer_change": BUFFER_CHANGE,
                "control_lsoa_codes": list(self.areas.control), "control_change": 0.0,
            },
        }


def hotspot_factor(area: SynthArea, hotspot: tuple[str, ...]) -> float:
    """Multiplier putting the cluster at HOTSPOT_RATE_RATIO x the CSP's rate, the CSP's rate
    including the raised cluster: h = r R_rest P_rest / (P_rest - (r - 1) P_hot)."""
    lsoas = area.lsoas
    in_csp = lsoas["CSP19CD"].eq(HOTSPOT_CSP)
    hot = lsoas["LSOA11CD"].isin(hotspot)
    rest = in_csp & ~hot
    pop_rest, pop_hot = lsoas.loc[rest, "population"].sum(), lsoas.loc[hot, "population"].sum()
    rate_rest = lsoas.loc[rest, "weight"].sum() / pop_rest
    target = HOTSPOT_RATE_RATIO * rate_rest * pop_rest / (pop_rest - (HOTSPOT_RATE_RATIO - 1) * pop_hot)
    return float(target / (lsoas.loc[hot, "weight"].sum() / pop_hot))


def make_plan(area: SynthArea, areas: SignalAreas, first_quarter: Quarter, planted: bool) -> SignalPlan:
    return SignalPlan(
        planted=planted, areas=areas, hotspot_factor=hotspot_factor(area, areas.hotspot),
        initiative_start=first_quarter.shift(INITIATIVE_START_QUARTER_INDEX).start,
    )


class Multipliers:
    """Per-LSOA multipliers for one month; all ones when the plan is not planted."""

    def __init__(self, plan: SignalPlan, area: SynthArea, month: date, month_index: int):
        self.plan, self.area, self.month, self.month_index = plan, area, month, month_index
        self._ones = np.ones(area.size)

    def _mask(self, codes) -> np.ndarray:
        return self.area.lsoas["LSOA11CD"].isin(list(codes)).to_numpy()

    def seasonal(self, stream: str) -> float:
        if not self.plan.planted:
            return 1.0
        if stream in SUMMER_STREAMS:
            return float(rates.seasonal_factor(rates.SUMMER_PEAK_MONTH, self.month.month))
        if stream in WINTER_STREAMS:
            return float(rates.seasonal_factor(rates.WINTER_PEAK_MONTH, self.month.month))
        return 1.0

    def police(self, crime_type: str) -> np.ndarray:
        """Crime types and ASB (crime_type 'Anti-social behaviour')."""
        factor = self._ones * self.seasonal(crime_type)
        if not self.plan.planted:
            return factor
        factor = factor * np.where(self._mask(self.plan.areas.hotspot), self.plan.hotspot_factor, 1.0)
        if crime_type == TREND_CRIME_TYPE:
            growth = rates.trend_factor(TREND_ANNUAL_GROWTH, self.month_index)
            factor = factor * np.where(self.area.lsoas["CSP19CD"].eq(TREND_CSP).to_numpy(), growth, 1.0)
        if crime_type == VIOLENCE:
            factor = factor * np.where(self._mask(self.plan.areas.nte), NTE_VIOLENCE_MULTIPLIER, 1.0)
        if crime_type != rates.ASB and self.month >= self.plan.initiative_start:
            factor = factor * np.where(self._mask(self.plan.areas.initiative), 1 + INITIATIVE_CHANGE, 1.0)
            factor = factor * np.where(self._mask(self.plan.areas.buffer), 1 + BUFFER_CHANGE, 1.0)
        return factor

    def nte_night_share(self) -> np.ndarray:
        """Share of violence timed in the Fri/Sat night window, per LSOA (zero outside the NTE)."""
        if not self.plan.planted:
            return np.zeros(self.area.size)
        return np.where(self._mask(self.plan.areas.nte), NTE_NIGHT_SHARE, 0.0)

    def nte_outward(self, multiplier: float) -> np.ndarray:
        """Raise events of the NTE outward codes (health data located by outward code)."""
        if not self.plan.planted:
            return self._ones
        nte = self.area.lsoas["outward_code"].isin(self.plan.areas.nte_outward_codes).to_numpy()
        return np.where(nte, multiplier, 1.0)

