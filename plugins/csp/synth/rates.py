"""Base volumes and the time multipliers applied to them.

``MONTHLY_RATES`` is the one table of configured volumes: expected events a month for the
whole force area (Leicestershire, about 1.1 million residents) at ``scale=1``, before any
planted signal. Police crime types are not listed here: their volumes are the crime-type
counts of the real police.uk file for Leicestershire, January 2020 (8,852 rows including
914 ASB), read at generation time by :func:`police_crime_mix`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

POLICE_UK_SAMPLE = Path("police_uk") / "2020-01-leicestershire-street.csv"
ASB = "Anti-social behaviour"


@dataclass(frozen=True)
class Rate:
    dataset: str  # registry dataset id the stream feeds
    monthly: float  # expected events a month, force area, scale 1
    basis: str  # why this volume is plausible


# stream -> rate. Police crime types come from the police.uk sample (see module docstring).
MONTHLY_RATES: dict[str, Rate] = {
    "police_transport_incidents": Rate("police_incidents", 600, "NSIR Transport: RTC damage-only, highway disruption"),
    "police_public_safety_incidents": Rate("police_incidents", 2000,
                                           "NSIR Public Safety and Welfare: concern for safety, missing persons, "
                                           "domestic incidents"),
    "deliberate_primary_fires": Rate("fire_incidents", 25, "deliberate building fires"),
    "deliberate_vehicle_fires": Rate("fire_incidents", 20, "deliberate road vehicle fires"),
    "deliberate_secondary_fires": Rate("fire_incidents", 105, "deliberate refuse, grass and bin fires"),
    "accidental_fires": Rate("fire_incidents", 80, "not mandated: accidental primary and secondary fires"),
    "malicious_false_alarms": Rate("fire_false_alarms", 20, "False alarm - Malicious"),
    "other_false_alarms": Rate("fire_false_alarms", 280, "not mandated: AFA and good-intent false alarms"),
    "special_services": Rate("fire_incidents", 200,
                             "not mandated: RTC rescues, flooding, lift releases, assisting agencies"),
    "violence_against_fire_employees": Rate("fire_incidents", 2, "attacks on crews (contract file)"),
    "dwelling_fires_no_smoke_alarm": Rate("fire_incidents", 8,
                                          "dwelling fires where no alarm was fitted (contract file)"),
    "road_collisions": Rate("road_collisions", 100, "STATS19 injury collisions, about 1.3 casualties each"),
    "school_exclusions": Rate("school_exclusions", 600, "fixed-term and permanent (2 %) exclusions"),
    "racial_incidents": Rate("racial_incidents", 30, "incidents reported to the council"),
    "council_asb": Rate("council_asb", 400, "ASB reported to the councils"),
    "csp_hospital_admissions": Rate("hospital_admissions", 300, "spells coded X85-Y09, F10-F19, T51, Y90, Y91"),
    "domestic_abuse_admissions": Rate("domestic_abuse_admissions", 10,
                                      "assault spells with cause Y07.0-Y07.2 (inside the 300)"),
    "other_hospital_admissions": Rate("hospital_admissions", 900, "not mandated: spells outside the CSP code lists"),
    "mental_illness_op_first_attendances": Rate("health_counts", 1500,
                                                "outpatient first attendances, mental-illness specialties"),
    "other_outpatient_attendances": Rate("health_counts", 2500, "not mandated: follow-ups and other specialties"),
    "persons_in_drug_treatment": Rate("health_counts", 3000,
                                      "persons in treatment in the month (a stock, about 0.27 % of residents)"),
    "ambulance_callouts": Rate("ambulance_callouts", 600,
                               "call-outs to assaults, overdoses, alcohol and traffic incidents"),
}

CASUALTIES_PER_COLLISION = 1.3
PERMANENT_EXCLUSION_SHARE = 0.02
NO_LOCATION_SHARE = 0.01  # police.uk rows with blank coordinates and LSOA

SEASONAL_AMPLITUDE = 0.30
SUMMER_PEAK_MONTH = 7  # Jun-Aug peak: ASB, deliberate secondary fires
WINTER_PEAK_MONTH = 12  # Nov-Jan peak: burglary (dark evenings)


def police_crime_mix(reference_dir: Path) -> dict[str, int]:
    """Monthly police.uk rows by crime type (crimes and ASB), from the real Leicestershire file."""
    crime_type = pd.read_csv(reference_dir / POLICE_UK_SAMPLE, usecols=["Crime type"])["Crime type"]
    return {str(k): int(v) for k, v in crime_type.value_counts().sort_index().items()}


def seasonal_factor(peak_month: int, months: np.ndarray) -> np.ndarray:
    """1 + A cos(2 pi (m - peak) / 12): +A at the peak month, -A six months later, mean 1."""
    return 1.0 + SEASONAL_AMPLITUDE * np.cos(2 * np.pi * (np.asarray(months) - peak_month) / 12)


def trend_factor(annual_growth: float, month_index: int) -> float:
    """Growth compounding monthly, 1.0 in the first generated month."""
    return (1.0 + annual_growth) ** (month_index / 12)
