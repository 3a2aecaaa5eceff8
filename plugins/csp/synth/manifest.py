"""manifest.json: what was generated and what was planted, for tests and later analysis."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from csp.synth import rates
from csp.synth.context import Context


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh) - 1


def monthly_rates(ctx: Context) -> dict[str, dict]:
    """Configured expected events a month (force area, after ``scale``), before signals."""
    police = {
        f"police_uk:{crime_type}": {
            "dataset": "police_incidents" if crime_type == rates.ASB else "police_crimes",
            "monthly": count * ctx.scale,
            "basis": "police.uk Leicestershire 2020-01 crime-type count",
        }
        for crime_type, count in rates.police_crime_mix(ctx.reference_dir).items()
    }
    others = {
        stream: {"dataset": rate.dataset, "monthly": rate.monthly * ctx.scale, "basis": rate.basis}
        for stream, rate in rates.MONTHLY_RATES.items()
    }
    return {name: entry for name, entry in {**police, **others}.items() if entry["dataset"] in ctx.held}


def write(ctx: Context, out_dir: Path, settings: dict, files: list[Path]) -> dict:
    manifest = {
        **settings,
        "quarters": [q.label for q in ctx.quarters],
        "held": sorted(ctx.held),
        "monthly_rates": monthly_rates(ctx),
        "casualties_per_collision": rates.CASUALTIES_PER_COLLISION,
        "signals_planted": ctx.plan.planted,
        # Where each signal is (or, with signals off, would be) planted, with its parameters.
        "signals": ctx.plan.manifest(),
        "files": {
            path.relative_to(out_dir).as_posix(): {"sha256": _sha256(path), "rows": _rows(path)}
            for path in sorted(files)
        },
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return manifest
