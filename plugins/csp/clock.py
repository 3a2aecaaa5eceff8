"""The platform's notion of "today", injectable so deadline logic is testable and history
can be replayed without waiting on the wall clock: set CSP_TODAY=YYYY-MM-DD."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date


def today() -> date:
    frozen = os.environ.get("CSP_TODAY")
    return date.fromisoformat(frozen) if frozen else date.today()


@contextmanager
def frozen(day: date) -> Iterator[None]:
    """Run as of ``day`` (through the environment, so processes started inside see it too),
    then restore whatever was set before."""
    before = os.environ.get("CSP_TODAY")
    os.environ["CSP_TODAY"] = day.isoformat()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CSP_TODAY", None)
        else:
            os.environ["CSP_TODAY"] = before
