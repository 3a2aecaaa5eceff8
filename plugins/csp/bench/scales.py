"""Benchmark scales: how many police-format rows, over how many quarters, and the synthetic
partnership generated to reach them (the other datasets at their relative volumes).

A scale is written ``<rows>[/<quarters>q]``: ``100k``, ``1m``, ``5m``, ``5m/20q`` (five years of
returns instead of one quarter's). Rows are police.uk street-file rows (crimes and ASB: the
columns of the real Leicestershire file); the generator's ``scale`` is set from the real
file's monthly mix so the police rows land within a percent or so of the target.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from csp.quarters import Quarter, quarter_range

FIRST_QUARTER = Quarter(2023, 1)
SEED = 2026
_SCALE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*(?:/\s*(\d+)\s*q)?\s*$")
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


@dataclass(frozen=True)
class Scale:
    label: str  # as given: "1m", "5m/20q"
    police_rows: int  # target police.uk rows over all quarters
    quarters: int = 1

    @property
    def quarter_list(self) -> list[Quarter]:
        return list(quarter_range(FIRST_QUARTER, self.quarters))

    @property
    def slug(self) -> str:
        return self.label.replace("/", "_")


def parse_scale(text: str) -> Scale:
    match = _SCALE.match(text)
    if not match:
        raise ValueError(f"bad scale {text!r}: expected e.g. 100k, 1m, 5m or 5m/20q")
    number, unit, quarters = match.groups()
    rows = int(float(number) * _UNITS[unit.lower()])
    if rows <= 0:
        raise ValueError(f"bad scale {text!r}: rows must be positive")
    return Scale(text.strip().lower().replace(" ", ""), rows, int(quarters or 1))


def parse_scales(text: str) -> list[Scale]:
    return [parse_scale(part) for part in text.split(",") if part.strip()]


def generator_scale(scale: Scale, reference_dir: Path) -> float:
    """The ``csp.synth.generate(scale=)`` giving ``scale.police_rows`` police.uk rows: the
    real file's monthly rows (crimes + ASB) are the volume at scale 1."""
    from csp.synth import rates

    monthly = sum(rates.police_crime_mix(reference_dir).values())
    return scale.police_rows / (monthly * 3 * scale.quarters)


def police_files(landing_dir: Path) -> list[Path]:
    return sorted((landing_dir / "police").glob("*/*-street.csv"))


def data_rows(paths: list[Path]) -> int:
    """Data rows (lines after the header) of the generated CSV files; the synthetic writer
    never puts a newline inside a field."""
    total = 0
    for path in paths:
        with path.open("rb") as fh:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1
    return total


def generate(scale: Scale, out_dir: Path, reference_dir: Path) -> dict:
    """Write the scale's synthetic returns under ``out_dir`` (landing/...); stationary noise
    (no planted signals), so volumes are proportional to the scale."""
    from csp.synth import generate as synth_generate

    manifest = synth_generate(
        out_dir, seed=SEED, first_quarter=FIRST_QUARTER, quarters=scale.quarters, signals=False,
        police_format="police_uk", reference_dir=reference_dir,
        scale=generator_scale(scale, reference_dir),
    )
    landing = out_dir / "landing"
    all_files = sorted(p for p in landing.rglob("*") if p.is_file())
    return {
        "manifest": manifest,
        "police_rows": data_rows(police_files(landing)),
        "files": len(all_files),
        "bytes": sum(p.stat().st_size for p in all_files),
        "police_bytes": sum(p.stat().st_size for p in police_files(landing)),
    }
