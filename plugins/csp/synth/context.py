"""What every authority's generator needs: the area, its map points, the signal plan, the
quarters to write, the volume scale, and independent random streams derived from the seed."""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from csp.quarters import Quarter
from csp.synth.areas import SynthArea
from csp.synth.places import Points
from csp.synth.signals import Multipliers, SignalPlan


def rng_for(seed: int, *keys: str) -> np.random.Generator:
    """An independent PCG64 stream per (seed, keys), so adding or dropping one dataset never
    changes the bytes of another."""
    entropy = [seed, *(zlib.crc32(key.encode()) for key in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


@dataclass(frozen=True)
class Context:
    seed: int
    reference_dir: Path
    landing_dir: Path
    area: SynthArea
    points: Points
    plan: SignalPlan
    quarters: tuple[Quarter, ...]
    scale: float
    held: frozenset[str]  # registry dataset ids the authorities hold

    def rng(self, *keys: str) -> np.random.Generator:
        return rng_for(self.seed, *keys)

    def months(self, quarter: Quarter) -> list[tuple[int, date]]:
        """(month index from the first generated month, first day) for the quarter's months."""
        first = self.quarters[0].start
        return [((m.year - first.year) * 12 + m.month - first.month, m) for m in quarter.months]

    def multipliers(self, month_index: int, month: date) -> Multipliers:
        return Multipliers(self.plan, self.area, month, month_index)

    def expected(self, monthly: float, factor: np.ndarray | float = 1.0) -> np.ndarray:
        """Expected events per LSOA for a force-wide monthly volume."""
        return monthly * self.scale * self.area.weights * factor

    def folder(self, authority: str, quarter: Quarter) -> Path:
        return self.landing_dir / authority / quarter.label
