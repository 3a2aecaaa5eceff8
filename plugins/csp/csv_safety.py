"""CSV exports that a spreadsheet opens safely (CSV / formula injection).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets when an analyst opens the file: a partner's
file name or value such as ``=cmd|' /C calc'!A0`` would then execute. Following the OWASP
guidance (https://owasp.org/www-community/attacks/CSV_Injection), such text cells are prefixed
with a single quote, which spreadsheets show as text and do not evaluate.

Only text columns are touched: a numeric column's ``-3`` is a number, not a formula. Apply this
to files people open (quarantine reports, exports), never to data the platform reads back as
input (landing files), whose values it would change.
"""
from __future__ import annotations

import csv

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def neutralise_value(value):
    """The value, prefixed with a single quote when it is text a spreadsheet would evaluate."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return QUOTE + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are safe to open in a spreadsheet; column names
    (the header row) too. Numeric, date and boolean columns are returned unchanged."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            out[column] = values.map(neutralise_value, na_action="ignore").astype(values.dtype)
    out.columns = [neutralise_value(c) for c in out.columns]
    return out


def to_csv(frame: pd.DataFrame, path, **kwargs) -> None:
    """``frame.to_csv(path, index=False, **kwargs)`` with its text neutralised and every cell
    quoted (as OWASP advises): unquoted, a carriage return inside a cell would end the row for
    a reader, since pandas quotes only the characters of its own line terminator."""
    kwargs.setdefault("quoting", csv.QUOTE_ALL)
    neutralise(frame).to_csv(path, index=False, **kwargs)
