"""What every adapter shares: the ``Parsed`` result, the per-row verdicts that split good rows
from quarantined ones, vectorised value parsers and the canonical frame builder."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from csp import clock
from csp.quarters import FIRST_QUARTER_ENV, Quarter, possible_days
from csp.registry import DATE, FLOAT, INT, SOURCE_FORMATS, STRING, TIME, Dataset
from csp.sources.reading import FILE, LINE

QUARANTINE_COLUMNS = [FILE, LINE, "rule", "reason"]
STAGING_ONLY = ("return_id", "file_sha256")  # stamped later, at staging

LSOA_PATTERN = r"[EW]0[12]\d{6}"
OUTWARD_PATTERN = r"[A-Z]{1,2}\d[A-Z\d]?"
FULL_POSTCODE_PATTERN = OUTWARD_PATTERN + r"\s*\d[A-Z]{2}"


@dataclass
class Parsed:
    frame: pd.DataFrame
    quarantine: pd.DataFrame
    rows_in: int
    rows_out_of_scope: int
    notes: list[str] = field(default_factory=list)
    # Input rows the frame represents: one per frame row, except for formats that aggregate
    # (casualty rows -> collisions, attendances -> counts), which set it themselves.
    rows_loaded: int | None = None

    def __post_init__(self):
        if self.rows_loaded is None:
            self.rows_loaded = len(self.frame)


def empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame(
        {FILE: pd.Series(dtype="string"), LINE: pd.Series(dtype="Int64"),
         "rule": pd.Series(dtype="string"), "reason": pd.Series(dtype="string")}
    )


class Verdicts:
    """One verdict per row: None (keep) or the first rule the row failed, with a reason that
    describes the problem without quoting the value."""

    def __init__(self, rows: pd.DataFrame):
        self.rows = rows
        self.rule = pd.Series(pd.NA, index=rows.index, dtype="string")
        self.reason = pd.Series(pd.NA, index=rows.index, dtype="string")

    def flag(self, mask: pd.Series, rule: str, reason: str) -> None:
        new = mask.fillna(False).astype(bool) & self.rule.isna()
        self.rule[new] = rule
        self.reason[new] = reason

    @property
    def ok(self) -> pd.Series:
        return self.rule.isna()

    def quarantine(self) -> pd.DataFrame:
        bad = ~self.ok
        if not bad.any():
            return empty_quarantine()
        out = pd.DataFrame({
            FILE: self.rows.loc[bad, FILE].astype("string"),
            LINE: self.rows.loc[bad, LINE].astype("Int64"),
            "rule": self.rule[bad],
            "reason": self.reason[bad],
        })
        return out.reset_index(drop=True)

    def check_dates(self, dates: pd.Series, raw: pd.Series, column: str, form: str,
                    quarter: Quarter | None, required: bool = True) -> None:
        """Unparseable (or, when required, blank) dates, dates that cannot be (after today,
        or before the platform's first quarter: ``csp.quarters.impossible_date``), then dates
        outside the quarter."""
        blank = raw.eq("")
        unparseable = dates.isna() & (~blank | required)
        self.flag(unparseable, "unparseable_date", f"{column} is blank or not a date in {form} form")
        earliest, today = possible_days(clock.today())
        self.flag(dates > pd.Timestamp(today), "impossible_date",
                  f"{column} is after today ({today.isoformat()}): a date that cannot be")
        self.flag(dates < pd.Timestamp(earliest), "impossible_date",
                  f"{column} is before the platform's first quarter {Quarter.of(earliest)} "
                  f"({FIRST_QUARTER_ENV}): a date that cannot be")
        if quarter is not None:
            outside = (dates < pd.Timestamp(quarter.start)) | (dates > pd.Timestamp(quarter.end))
            self.flag(outside, "date_outside_quarter", f"{column} falls outside {quarter.label}")

    def check_known(self, known: pd.Series, raw: pd.Series, column: str, allow_blank: bool = False) -> None:
        blank_ok = raw.eq("") & allow_blank
        self.flag(~known & ~blank_ok, "unknown_category", f"{column} is not a code of the contract's code list")


# --- value parsers: each takes a Series of stripped strings ("" = blank) -----------------


def blank_to_null(values: pd.Series) -> pd.Series:
    return values.astype("string").replace("", pd.NA)


def per_distinct(function, values: pd.Series) -> pd.Series:
    """``function(values)`` for a ``function`` that treats each value on its own, computed
    once per distinct value: a million-row column often holds a few thousand (police.uk
    months and snapped coordinates), and parsing is the cost. The distinct values are the
    same set, in the same dtype, so the result (dtype included) is the same."""
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    parsed = function(pd.Series(distinct, dtype=values.dtype, name=values.name))
    return parsed.take(codes).set_axis(values.index)


def parse_date(values: pd.Series, fmt: str) -> pd.Series:
    """Dates as midnight datetime64[ns]; NaT when blank or not in ``fmt``. An .xlsx date cell
    reads as 'YYYY-MM-DD 00:00:00', so a midnight suffix is accepted."""
    return per_distinct(lambda distinct: _parse_date(distinct, fmt), values)


def _parse_date(values: pd.Series, fmt: str) -> pd.Series:
    text = values.str.replace(r"[ T]00:00:00$", "", regex=True)
    return pd.to_datetime(text, format=fmt, errors="coerce").astype("datetime64[ns]")


_TIME = re.compile(r"^(?P<h>\d{1,2}):?(?P<m>\d{2})(?::\d{2}(?:\.\d+)?)?$")


def parse_time(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """'HH:MM', 'HH:MM:SS' or 'HHMM' (seconds dropped: minute precision) -> (datetime.time
    objects or None, mask of non-blank values that are not a valid time)."""
    parts = values.str.extract(_TIME)
    hours = pd.to_numeric(parts["h"], errors="coerce")
    minutes = pd.to_numeric(parts["m"], errors="coerce")
    valid = hours.between(0, 23) & minutes.between(0, 59)
    stamps = pd.to_datetime(
        "2000-01-01 " + hours.where(valid, 0).astype(int).astype(str)
        + ":" + minutes.where(valid, 0).astype(int).astype(str),
        format="%Y-%m-%d %H:%M",
    )
    times = pd.Series(np.where(valid, stamps.dt.time, None), index=values.index, dtype=object)
    return times, values.ne("") & ~valid


def parse_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """-> (float64 values, mask of non-blank values that are not numbers)."""
    numbers = per_distinct(_to_float, values)
    return numbers, values.ne("") & numbers.isna()


def _to_float(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.replace("", np.nan), errors="coerce").astype("float64")


def parse_coordinates(latitude: pd.Series, longitude: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """WGS84 degrees -> (lat, lon, invalid mask). Half-given or out-of-range pairs are invalid;
    the range is generous (the British Isles) so a typo, not a real place, is what fails."""
    lat, bad_lat = parse_number(latitude)
    lon, bad_lon = parse_number(longitude)
    half = lat.isna() != lon.isna()
    outside = lat.notna() & ~(lat.between(49, 61.5) & lon.between(-9, 3))
    return lat, lon, bad_lat | bad_lon | half | outside


def lsoa_codes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """-> (upper-cased LSOA codes or null, mask of non-blank values that are not LSOA codes).
    Checked once per distinct value (a force area has a few thousand LSOAs): a code is null
    exactly when it was blank or invalid."""
    codes = per_distinct(_valid_lsoa_codes, values)
    return codes, values.ne("") & codes.isna()


def _valid_lsoa_codes(values: pd.Series) -> pd.Series:
    codes = values.str.upper()
    invalid = codes.ne("") & ~codes.str.fullmatch(LSOA_PATTERN)
    return blank_to_null(codes.where(~invalid, ""))


def outward_codes(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """-> (outward codes or null, full-postcode mask, other-invalid mask). A full postcode is
    cut to its outward code here, at the first step that reads it: the inward part (which
    narrows a location to a few addresses) never goes further."""
    codes = values.str.upper().str.strip()
    full = codes.str.fullmatch(FULL_POSTCODE_PATTERN)
    invalid = codes.ne("") & ~full & ~codes.str.fullmatch(OUTWARD_PATTERN)
    # Anchored on the inward part ("5AB"), so "LE15AB" splits as LE1 + 5AB, not LE15.
    outward = codes.where(~full, codes.str.extract(rf"^({OUTWARD_PATTERN})\s*\d[A-Z]{{2}}$", expand=False))
    return blank_to_null(outward.where(~invalid, "")), full, invalid


def check_outward(verdicts: Verdicts, raw: pd.Series, column: str) -> pd.Series:
    codes, _, invalid = outward_codes(raw)
    verdicts.flag(invalid, "invalid_postcode", f"{column} is not an outward postcode (e.g. LE1)")
    return codes


def location_precision(latitude, lsoa, outward=None) -> pd.Series:
    """The most precise location a row carries: a point, else an LSOA, else an outward code.
    Built as Arrow dictionary codes, then cast to strings (a fraction of the time of three
    masked assignments of a million strings)."""
    present = {"point": latitude, "lsoa": lsoa, "outward_postcode": outward}
    given = {name: values.notna().to_numpy(dtype=bool) for name, values in present.items() if values is not None}
    choice = np.select(list(given.values()), range(len(given)), default=len(given)).astype(np.int8)
    names = pa.array([*given, "none"], type=pa.string())
    strings = pa.DictionaryArray.from_arrays(choice, names).cast(pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(strings), index=lsoa.index)


def month_end(start: pd.Series) -> pd.Series:
    return (start + pd.offsets.MonthEnd(0)).astype("datetime64[ns]")


# --- canonical frame -----------------------------------------------------------------------


def output_columns(dataset: Dataset) -> dict[str, str]:
    """The adapter's columns: the canonical schema less the staging lineage, with the source
    record reference in place of its pseudonym."""
    out = {}
    for name, kind in dataset.columns.items():
        if name in STAGING_ONLY:
            continue
        out["source_ref" if name == "record_key" else name] = kind
    return out


_NULL_DTYPES = {STRING: "string", INT: "Int64", FLOAT: "float64", DATE: "datetime64[ns]", TIME: object}


def _typed(values, kind: str, length: int, index) -> pd.Series:
    if not isinstance(values, pd.Series):
        # A constant column is built in its dtype directly: the same column as going
        # through a million-element object list, a tenth of a second sooner.
        if pd.isna(values) and kind != TIME:
            return pd.Series(None, index=index, dtype=_NULL_DTYPES[kind])
        if isinstance(values, str) and kind == STRING:
            return pd.Series(values, index=index, dtype="string")
        if pd.isna(values):
            return pd.Series([None] * length, index=index, dtype=object).astype(_NULL_DTYPES[kind])
        values = pd.Series([values] * length, index=index, dtype=object)
    if kind == STRING:
        return values.astype("string")
    if kind == INT:
        return values.astype("Int64")
    if kind == FLOAT:
        return values.astype("float64")
    if kind == DATE:
        return pd.to_datetime(values).astype("datetime64[ns]")
    if kind == TIME:
        return values.astype(object).where(values.notna(), None)
    raise ValueError(f"unknown column type {kind!r}")


def canonical_frame(dataset: Dataset, rows: pd.DataFrame, **values) -> pd.DataFrame:
    """The dataset's frame for ``rows`` (which carry source_file / source_line): columns not
    given are null, every column cast to its canonical dtype, in schema order."""
    columns = output_columns(dataset)
    unknown = set(values) - set(columns)
    if unknown:
        raise ValueError(f"{dataset.id}: not canonical columns: {sorted(unknown)}")
    values.setdefault(FILE, rows[FILE])
    values.setdefault(LINE, rows[LINE])
    frame = pd.DataFrame(
        {name: _typed(values.get(name, pd.NA), kind, len(rows), rows.index) for name, kind in columns.items()},
        index=rows.index,
    )
    return frame.reset_index(drop=True)


def empty_frame(dataset: Dataset) -> pd.DataFrame:
    return canonical_frame(dataset, pd.DataFrame({FILE: pd.Series(dtype="string"), LINE: pd.Series(dtype="Int64")}))


def combine(parts: list[Parsed], dataset: Dataset) -> Parsed:
    frames = [p.frame for p in parts if len(p.frame)]
    quarantines = [p.quarantine for p in parts if len(p.quarantine)]
    return Parsed(
        frame=pd.concat(frames, ignore_index=True) if frames else empty_frame(dataset),
        quarantine=pd.concat(quarantines, ignore_index=True) if quarantines else empty_quarantine(),
        rows_in=sum(p.rows_in for p in parts),
        rows_out_of_scope=sum(p.rows_out_of_scope for p in parts),
        notes=[note for p in parts for note in p.notes],
        rows_loaded=sum(p.rows_loaded for p in parts),
    )


# --- the when and where of a record, shared by the contract formats --------------------------

ISO_DATE = "%Y-%m-%d"


def when_by_format(verdicts: Verdicts, rows: pd.DataFrame, format_id: str, time_column: str | None,
                   quarter: Quarter | None) -> dict:
    """``when`` on the format's own date column and date format (registry.SourceFormat)."""
    fmt = SOURCE_FORMATS[format_id]
    return when(verdicts, rows, fmt.date_column, time_column, quarter, date_format=fmt.date_format,
                form=fmt.date_form)


def when(verdicts: Verdicts, rows: pd.DataFrame, date_column: str, time_column: str | None,
         quarter: Quarter | None, date_format: str = ISO_DATE, form: str = "YYYY-MM-DD") -> dict:
    """event_date / event_time / time_precision: minute when a time is given, else day."""
    dates = parse_date(rows[date_column], date_format)
    verdicts.check_dates(dates, rows[date_column], date_column, form, quarter)
    if time_column is None:
        return {"event_date": dates, "time_precision": "day"}
    times, bad_time = parse_time(rows[time_column])
    verdicts.flag(bad_time, "unparseable_time", f"{time_column} is not a time in HH:MM form")
    precision = pd.Series(np.where(times.notna(), "minute", "day"), index=rows.index)
    return {"event_date": dates, "event_time": times, "time_precision": precision}


def where(verdicts: Verdicts, rows: pd.DataFrame, lsoa: str | None = None,
          latitude: str | None = None, longitude: str | None = None, outward: str | None = None) -> dict:
    """lsoa_code / latitude / longitude / outward_postcode / location_precision, flagging
    malformed codes and coordinates."""
    nothing = pd.Series(pd.NA, index=rows.index, dtype="string")
    out = {"lsoa_code": nothing, "latitude": nothing.astype("float64"), "longitude": nothing.astype("float64")}
    if lsoa:
        out["lsoa_code"], bad = lsoa_codes(rows[lsoa])
        verdicts.flag(bad, "invalid_lsoa", f"{lsoa} is not an LSOA 2011/2021 code (E01/W01 + 6 digits)")
    if latitude:
        out["latitude"], out["longitude"], bad = parse_coordinates(rows[latitude], rows[longitude])
        verdicts.flag(bad, "invalid_coordinates", f"{latitude}/{longitude} are not WGS84 coordinates in Great Britain")
    postcode = check_outward(verdicts, rows[outward], outward) if outward else None
    if postcode is not None:
        out["outward_postcode"] = postcode
    out["location_precision"] = location_precision(out["latitude"], out["lsoa_code"], postcode)
    return out


def keep(values: dict, ok: pd.Series) -> dict:
    """The kept rows of each column (scalars pass through)."""
    return {k: (v[ok] if isinstance(v, pd.Series) else v) for k, v in values.items()}
