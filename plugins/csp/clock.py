"""The platform's notion of "today", injectable so deadline logic is testable and history
can be replayed without waiting on the wall clock: set CSP_TODAY=YYYY-MM-DD."""
from __future__ import annotations

import os
from datetime import date


def today() -> date:
    frozen = os.environ.get("CSP_TODAY")
    return date.fromisoformat(frozen) if frozen else date.today()
