"""Who is told: each partnership's analyst list and the platform's alert list, read from
config/analysts.toml (or the file named by CSP_ANALYSTS_FILE). Kept apart from
config/area.toml so that changing a mailbox never touches what the deployment serves."""
from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from csp.config import PROJECT_DIR

log = logging.getLogger(__name__)

DEFAULT_FILE = PROJECT_DIR / "config" / "analysts.toml"
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
COUNTY_PREFIX = "county:"


@dataclass(frozen=True)
class Recipients:
    analysts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # CSP code / "county:<code>" / "default"
    sender: str | None = None  # None: the SMTP connection's from_email extra
    alerts: tuple[str, ...] = ()

    def for_report(self, scope: str) -> tuple[str, ...]:
        """The analysts of a report's partnership: ``scope`` is a CSP code, a county code or
        "county:<code>"; "default" covers any partnership not listed."""
        bare = scope.removeprefix(COUNTY_PREFIX)
        for key in (scope, bare, COUNTY_PREFIX + bare, "default"):
            if key in self.analysts:
                return self.analysts[key]
        return ()


def recipients_file() -> Path:
    return Path(os.environ.get("CSP_ANALYSTS_FILE", DEFAULT_FILE))


def load_recipients(path: Path | None = None) -> Recipients:
    """Read and check the file; a missing default file means nobody is configured (logged),
    a missing file named explicitly, or a malformed address, is an error."""
    explicit = path is not None or "CSP_ANALYSTS_FILE" in os.environ
    path = Path(path) if path is not None else recipients_file()
    if not path.exists():
        if explicit:
            raise FileNotFoundError(f"analysts file not found: {path}")
        log.warning("no analysts file at %s: reports will be delivered to nobody", path)
        return Recipients()
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    analysts = {str(key): _addresses(value, f"{path} [analysts] {key}")
                for key, value in raw.get("analysts", {}).items()}
    alerts = _addresses(raw.get("alerts", {}).get("to", []), f"{path} [alerts] to")
    sender = raw.get("delivery", {}).get("from")
    if sender is not None:
        _addresses([sender], f"{path} [delivery] from")
    return Recipients(analysts=analysts, sender=sender, alerts=alerts)


def _addresses(value, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: expected a list of email addresses, got {value!r}")
    bad = [v for v in value if not EMAIL.match(v)]
    if bad:
        raise ValueError(f"{where}: not an email address: {', '.join(bad)}")
    return tuple(value)
