"""Vectorised building blocks for record-level events: Poisson counts per LSOA, references,
hexadecimal ids, and weighted picks from a category table."""
from __future__ import annotations

import numpy as np
import pandas as pd

_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def draw_lsoas(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """LSOA position of each event: a Poisson count per LSOA, repeated."""
    return np.repeat(np.arange(len(expected)), rng.poisson(expected))


def references(prefix: str, start: int, count: int, width: int = 7) -> np.ndarray:
    numbers = np.char.zfill(np.arange(start, start + count).astype(str), width)
    return np.char.add(prefix, numbers).astype(object)


def hex_ids(rng: np.random.Generator, count: int, length: int = 64) -> np.ndarray:
    digits = _HEX_DIGITS[rng.integers(0, 16, size=(count, length))]
    return np.ascontiguousarray(digits).view(f"S{length}").ravel().astype(f"U{length}").astype(object)


def pick(rng: np.random.Generator, table: pd.Series, count: int) -> np.ndarray:
    """``count`` labels drawn from ``table`` (label -> relative weight)."""
    weights = table.to_numpy(dtype=float)
    return table.index.to_numpy()[rng.choice(len(table), size=count, p=weights / weights.sum())]
