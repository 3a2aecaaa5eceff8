"""Personal data in free text: found, redacted and counted.

Only columns the registry declares free text are scanned (a mandated school name is data,
not personal). Each pattern replaces its matches with a bracketed label, so the text keeps
its sense ("assaulted by [name] outside [postcode]") and nothing personal survives. Regexes
run vectorised over the column; only NHS-number candidates get a per-match checksum test.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

TITLES = r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Rev|Lord|Lady)"
# Order matters: emails before numbers (they contain digits), NHS numbers before phones
# (both are ten digits; only a valid checksum makes an NHS number).
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = rf"(?:\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\s+\d{{4}})"
PATTERNS: dict[str, re.Pattern] = {
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # A date is personal only as someone's birth date: the label says so ("DOB 17/04/2011").
    "date_of_birth": re.compile(
        rf"(?:\bDOB\b|\bD\.O\.B\b\.?|\bdate of birth\b|\bborn(?:\s+on)?\b)[:\s]*{_DATE}", re.IGNORECASE),
    "nhs_number": re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)"),
    "phone": re.compile(r"(?<![\w+])(?:\+44\s?\(?0?\)?\s?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"),
    "postcode": re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE),
    "name": re.compile(rf"\b{TITLES}\.?\s+[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)?"),
}
LABELS = {"email": "[email]", "date_of_birth": "[date of birth]", "nhs_number": "[nhs number]",
          "phone": "[phone]", "postcode": "[postcode]", "name": "[name]"}


def is_nhs_number(candidate: str) -> bool:
    """Modulus 11 check digit of the NHS number (weights 10..2; 11 -> 0; 10 is invalid)."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if len(digits) != 10:
        return False
    check = 11 - sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 0 if check == 11 else check
    return check != 10 and check == digits[9]


def _nhs_number_label(match: re.Match) -> str:
    """Ten digits are redacted only when their check digit makes them an NHS number."""
    return LABELS["nhs_number"] if is_nhs_number(match.group()) else match.group()


REPLACEMENTS = {"nhs_number": _nhs_number_label}  # patterns needing more than a regex match


@dataclass
class Redaction:
    text: pd.Series
    rows_redacted: int = 0
    found: dict[str, int] = field(default_factory=dict)  # pattern -> matches replaced


def redact(text: pd.Series) -> Redaction:
    """Redact every pattern in a free-text column."""
    out = text.astype("string")
    touched = pd.Series(False, index=text.index)
    found = {}
    for name, pattern in PATTERNS.items():
        before = out
        out = out.str.replace(pattern, REPLACEMENTS.get(name, LABELS[name]), regex=True)
        touched |= (before != out).fillna(False)
        label = re.escape(LABELS[name])
        found[name] = int(out.str.count(label).sum() - before.str.count(label).sum())
    return Redaction(out, int(touched.sum()), {k: v for k, v in found.items() if v})
