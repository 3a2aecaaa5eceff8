"""When events happen: dates within a month and times of day from plausible daily profiles.

Profiles are relative weights per hour (0-23), built from a base level plus smooth bumps,
e.g. ASB peaking in the evening, violence late at night, collisions in the two rush hours.
"""
from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import pandas as pd


def _profile(base: float, *bumps: tuple[float, float, float]) -> np.ndarray:
    """base + sum of circular Gaussian bumps (height, centre hour, width in hours)."""
    hours = np.arange(24)
    weights = np.full(24, base, dtype=float)
    for height, centre, width in bumps:
        gap = np.minimum(np.abs(hours - centre), 24 - np.abs(hours - centre))
        weights += height * np.exp(-(gap**2) / (2 * width**2))
    return weights / weights.sum()


HOURLY = {
    "flat": _profile(1.0),
    "daytime": _profile(0.15, (1.0, 13, 3.5)),  # thefts, shoplifting, welfare calls
    "evening": _profile(0.15, (1.0, 19, 3.0)),  # ASB, youth disorder, secondary fires
    "late_evening": _profile(0.25, (0.6, 14, 4.0), (1.0, 22, 3.0)),  # violence, public order
    "overnight": _profile(0.3, (1.0, 2, 3.0), (0.5, 19, 3.0)),  # vehicle crime, burglary
    "rush_hours": _profile(0.2, (1.0, 8, 1.2), (1.2, 17, 1.8), (0.4, 13, 3.0)),  # collisions
    "school_day": _profile(0.0, (1.0, 11, 2.0)),
}

# Monday..Sunday: disorder and violence lean to the weekend.
WEEKDAY = {
    "even": np.ones(7),
    "weekend": np.array([1.0, 0.95, 0.95, 1.0, 1.15, 1.3, 1.15]),
    "weekdays_only": np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]),
}

# Night-time-economy window: Friday and Saturday 21:00 to 03:00 the next morning.
NTE_EVENING_HOURS = np.array([21, 22, 23])
NTE_MORNING_HOURS = np.array([0, 1, 2])
NTE_HOUR_WEIGHTS = np.array([0.6, 1.0, 1.3, 1.3, 1.0, 0.6])  # 21, 22, 23, 00, 01, 02


def month_dates(month: date) -> np.ndarray:
    days = calendar.monthrange(month.year, month.month)[1]
    return np.datetime64(month, "D") + np.arange(days)


def _weekday(dates: np.ndarray) -> np.ndarray:
    # 1970-01-01 was a Thursday (weekday 3 with Monday = 0).
    return (dates.astype("int64") + 3) % 7


def draw_times(rng: np.random.Generator, month: date, count: int, hourly: str,
               weekday: str = "even") -> np.ndarray:
    """``count`` timestamps (datetime64[m]) in ``month``."""
    dates = month_dates(month)
    day_weights = WEEKDAY[weekday][_weekday(dates)]
    day = rng.choice(dates, size=count, p=day_weights / day_weights.sum())
    hour = rng.choice(24, size=count, p=HOURLY[hourly])
    minute = rng.integers(0, 60, size=count)
    return day.astype("datetime64[m]") + (hour * 60 + minute).astype("timedelta64[m]")


def draw_nte_night_times(rng: np.random.Generator, month: date, count: int) -> np.ndarray:
    """Timestamps in the Fri/Sat 21:00-03:00 window, kept inside ``month``: evening hours on
    Fridays and Saturdays, early-morning hours on the Saturdays and Sundays that follow."""
    dates = month_dates(month)
    weekday = _weekday(dates)
    evenings, mornings = dates[np.isin(weekday, [4, 5])], dates[np.isin(weekday, [5, 6])]
    slot_day = np.concatenate([np.repeat(evenings, 3), np.repeat(mornings, 3)])
    slot_hour = np.concatenate([np.tile(NTE_EVENING_HOURS, len(evenings)), np.tile(NTE_MORNING_HOURS, len(mornings))])
    slot_weight = np.concatenate([np.tile(NTE_HOUR_WEIGHTS[:3], len(evenings)),
                                  np.tile(NTE_HOUR_WEIGHTS[3:], len(mornings))])
    slot = rng.choice(len(slot_day), size=count, p=slot_weight / slot_weight.sum())
    minute = rng.integers(0, 60, size=count)
    return slot_day[slot].astype("datetime64[m]") + (slot_hour[slot] * 60 + minute).astype("timedelta64[m]")


def is_nte_night(stamps: np.ndarray) -> np.ndarray:
    """True for timestamps in the Fri/Sat 21:00-03:00 window (used by tests and analysis)."""
    day = stamps.astype("datetime64[D]")
    hour = (stamps - day.astype("datetime64[m]")).astype("int64") // 60
    weekday = _weekday(day)
    return (np.isin(weekday, [4, 5]) & (hour >= 21)) | (np.isin(weekday, [5, 6]) & (hour < 3))


def date_text(stamps: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(stamps, unit="D")


def time_text(stamps: np.ndarray) -> np.ndarray:
    """HH:MM."""
    return pd.Series(np.datetime_as_string(stamps, unit="m")).str.slice(11, 16).to_numpy()
