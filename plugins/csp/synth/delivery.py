"""When each authority's return "landed": its files' modification time, which the ledger
records as the received time. Each quarter's return arrives on a seeded day within the
following quarter, before the statutory deadline, except one planted late return (the fire
and rescue service's second-to-last quarter, three weeks after its deadline), so the
compliance matrix has an on-time picture and one late cell to find."""
from __future__ import annotations

import os
from datetime import datetime, time, timedelta, UTC

from csp.quarters import Quarter
from csp.synth.context import Context

LATE_AUTHORITY = "fire"
LATE_BY = timedelta(days=21)


def received_at(ctx: Context, authority: str, quarter: Quarter) -> datetime:
    if authority == LATE_AUTHORITY and len(ctx.quarters) > 1 and quarter == ctx.quarters[-2]:
        day = quarter.deadline + LATE_BY
    else:
        window = (quarter.deadline - quarter.end).days
        day = quarter.end + timedelta(days=int(ctx.rng("received", authority, quarter.label).integers(5, window)))
    return datetime.combine(day, time(10, 30), tzinfo=UTC)


def stamp_received_times(ctx: Context) -> dict:
    """Set every landing file's mtime to its return's received time; return them for the manifest."""
    stamped = {}
    for folder in sorted(p for p in ctx.landing_dir.glob("*/*") if p.is_dir()):
        authority, quarter = folder.parent.name, Quarter.parse(folder.name)
        when = received_at(ctx, authority, quarter)
        for path in folder.iterdir():
            os.utime(path, (when.timestamp(), when.timestamp()))
        stamped[f"{authority}/{quarter}"] = when.isoformat()
    return stamped
