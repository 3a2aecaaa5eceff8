"""Deterministic synthetic partnership: a force area's quarterly returns from every
responsible authority, in the real or contract formats, with planted signals to find.

    from csp.synth import generate
    manifest = generate(Path("out"), seed=2026)

Same seed, same bytes. ``signals=False`` gives the same partnership as stationary Poisson
noise at the same base rates. See manifest.json for every configured rate and planted signal.
"""
from __future__ import annotations

from pathlib import Path

from csp.config import settings as csp_settings
from csp.quarters import Quarter, quarter_range
from csp.registry import DATASETS
from csp.synth import delivery, fire, health, local_authority, manifest, partnership_inputs, police
from csp.synth.areas import choose_signal_areas, load_area
from csp.synth.context import Context, rng_for
from csp.synth.places import make_points
from csp.synth.signals import HOTSPOT_CSP, make_plan

POLICE_FORMATS = ("force_extract", "police_uk")


def generate(out_dir: Path, *, seed: int = 2026, first_quarter: Quarter = Quarter(2023, 1),
             quarters: int = 12, signals: bool = True, police_format: str = "force_extract",
             not_held: frozenset[str] = frozenset({"ambulance_callouts"}),
             reference_dir: Path | None = None, police_force_area: str = "E23000021",
             scale: float = 1.0) -> dict:
    """Write landing/, partnership/ and manifest.json under ``out_dir``; return the manifest."""
    if police_format not in POLICE_FORMATS:
        raise ValueError(f"police_format must be one of {POLICE_FORMATS}, not {police_format!r}")
    unknown = set(not_held) - set(DATASETS)
    if unknown:
        raise ValueError(f"unknown datasets in not_held: {sorted(unknown)}")
    out_dir = Path(out_dir)
    reference_dir = Path(reference_dir or csp_settings().reference_dir)
    area = load_area(reference_dir, police_force_area, rng_for(seed, "area"))
    plan = make_plan(area, choose_signal_areas(area, HOTSPOT_CSP), first_quarter, signals)
    ctx = Context(
        seed=seed, reference_dir=reference_dir, landing_dir=out_dir / "landing", area=area,
        points=make_points(rng_for(seed, "points"), area), plan=plan,
        quarters=tuple(quarter_range(first_quarter, quarters)), scale=scale,
        held=frozenset(DATASETS) - frozenset(not_held),
    )
    files = [
        *police.generate(ctx, police_format),
        *fire.generate(ctx),
        *local_authority.generate(ctx),
        *health.generate(ctx),
        *partnership_inputs.generate(ctx, out_dir / "partnership"),
    ]
    return manifest.write(ctx, out_dir, {
        "generator": "csp.synth", "seed": seed, "first_quarter": first_quarter.label,
        "quarter_count": quarters, "police_format": police_format,
        "police_force_area": police_force_area, "scale": scale, "not_held": sorted(not_held),
        "received": delivery.stamp_received_times(ctx),
        "late_return": {"authority": delivery.LATE_AUTHORITY, "quarter": ctx.quarters[-2].label}
        if quarters > 1 else None,
    }, files)
