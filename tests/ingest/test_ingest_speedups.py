"""The fast paths of the ingest give what the straightforward code gives: the Arrow CSV reader
the same cells, lines, notes and errors as pandas' parser; the pseudonyms the same HMACs."""
from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from csp import depersonalise as dp
from csp.sources import reading

HEADER = "Crime ID,Month,Longitude,Location,Crime type"
# Each file is read twice, by Arrow (when it accepts the file) and by pandas alone.
FILES = {
    "plain": f"{HEADER}\nA1,2024-01,-1.1,On or near X,Burglary\n,2024-02,, ,Drugs\n",
    "crlf": f"{HEADER}\r\nA1,2024-01,-1.1,X,Burglary\r\nB2,2024-02,,Y,Drugs\r\n",
    "cr only": f"{HEADER}\rA1,2024-01,-1.1,X,Burglary\rB2,2024-02,,Y,Drugs\r",
    "no final line end": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary\nB2,2024-02,,Y,Drugs",
    "cut short": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary\nB2,2024-02",
    "surrounding space": f"{HEADER}\n  A1 ,\t2024-01\t,-1.1 ,\u00a0X\u2003,Burglary \n",
    "blank cells row": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary\n,,,,\n  , ,,\t,\nB2,2024-02,,Y,Drugs\n",
    "all rows blank": f"{HEADER}\n,,,,\n , ,,,\n",
    "blank line": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary\n\nB2,2024-02,,Y,Drugs\n",
    "trailing blank lines": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary\n\n\n",
    "quoted": f'{HEADER}\n"A1","2024-01","-1.1","On or near X, Y","Burglary"\nB2,2024-02,,"say ""hi""",Drugs\n',
    "quoted line end": f'{HEADER}\nA1,2024-01,-1.1,"X\nY",Burglary\nB2,2024-02,,"Z\r\nW",Drugs\n',
    "quote after text": f'{HEADER}\nA1,2024-01,-1.1,"X"tra,Burglary\nB2,2024-02,,ab"c,Drugs\n',
    "unterminated quote": f'{HEADER}\nA1,2024-01,-1.1,"X,Burglary\n',
    "unterminated quote at end": f'{HEADER}\nA1,2024-01,-1.1,X,"Burglary\n',
    "short row": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary\nB2,2024-02\n",
    "long row": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary,extra\nB2,2024-02,,Y,Drugs\n",
    "every row long": f"{HEADER}\nA1,2024-01,-1.1,X,Burglary,\nB2,2024-02,,Y,Drugs,\n",
    "quoted header": '"Crime ID","Month","Longitude","Location","Crime type"\nA1,2024-01,-1.1,X,Burglary\n',
    "blank header name": f"{HEADER},\nA1,2024-01,-1.1,X,Burglary,\n",
    "repeated header name": f"{HEADER},Month\nA1,2024-01,-1.1,X,Burglary,2025-01\n",
    "spaced header names": "Crime ID , Month,Longitude,Location,Crime type\nA1,2024-01,-1.1,X,Burglary\n",
    "header only": f"{HEADER}\n",
    "empty": "",
    "missing column": "Crime ID,Month\nA1,2024-01\n",
    "one column": "Month\n2024-01\n\n2024-02\n",
    "non-ascii": f"{HEADER}\nA1,2024-01,-1.1,Café de l’Océan,Burglary\n",
    "nul bytes": f"{HEADER}\nA1,2024-01,-1.1,X\x00,Burglary\n",
}
REQUIRED = ("Crime ID", "Month", "Crime type")
OPTIONAL = ("Longitude", "Location", "Latitude")


NOT_DRUGS = reading.Scope("Crime type", lambda crime_type: ~crime_type.eq("Drugs"))


def _read(path, monkeypatch, arrow: bool, **kwargs):
    with monkeypatch.context() as patch:
        if not arrow:
            patch.setattr(reading, "_arrow_table", lambda data, pick: None)
        try:
            table = reading.read_file(path, REQUIRED, OPTIONAL, **kwargs)
        except reading.SourceError as error:
            return str(error)
        return table


def _files(tmp_path):
    for name, text in FILES.items():
        for encoding in ("utf-8", "utf-8-sig", "cp1252"):
            try:
                data = text.encode(encoding)
            except UnicodeEncodeError:
                continue
            path = tmp_path / f"{name.replace(' ', '_')}.{encoding}.csv"
            path.write_bytes(data)
            yield path


def test_arrow_reader_reads_every_file_as_pandas_does(tmp_path, monkeypatch):
    fast_path_used = 0
    for path in _files(tmp_path):
        data = reading._utf8_bytes(path) if b"\x00" not in path.read_bytes() else b""
        fast_path_used += reading._arrow_table(data, lambda names: names) is not None
        for kwargs in ({}, {"scope": NOT_DRUGS}, {"used": ("Month", "Crime type")}):
            fast, slow = _read(path, monkeypatch, True, **kwargs), _read(path, monkeypatch, False, **kwargs)
            if isinstance(slow, str):
                assert fast == slow, path.name
                continue
            assert not isinstance(fast, str), (path.name, fast)
            pd.testing.assert_frame_equal(fast.rows, slow.rows, check_exact=True, obj=path.name)
            assert (fast.notes, fast.columns_seen, fast.rows_out_of_scope) == (
                slow.notes, slow.columns_seen, slow.rows_out_of_scope), path.name
    assert fast_path_used >= 20  # the plain files did go through Arrow


def test_several_files_concatenate_as_before(tmp_path, monkeypatch):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    paths[0].write_text(FILES["plain"])
    paths[1].write_text(FILES["blank cells row"])
    fast = reading.read_files(paths, REQUIRED, OPTIONAL)
    monkeypatch.setattr(reading, "_arrow_table", lambda data, pick: None)
    slow = reading.read_files(paths, REQUIRED, OPTIONAL)
    pd.testing.assert_frame_equal(fast.rows, slow.rows, check_exact=True)
    assert fast.rows_out_of_scope == slow.rows_out_of_scope == 0


def _straightforward_pseudonyms(values: pd.Series, key: bytes, namespace: str) -> pd.Series:
    """The original implementation: one keyed HMAC per distinct value, mapped by a dict."""
    present = values.dropna().astype(str)
    prefix = f"{namespace}:".encode()
    digests = {v: hmac.new(key, prefix + v.encode(), hashlib.sha256).hexdigest() for v in present.unique()}
    return values.map(digests, na_action="ignore").astype("string")


@pytest.mark.parametrize("key", [b"", b"k", b"test-only-pseudonymisation-key", b"x" * 64, b"y" * 65, b"z" * 100])
def test_pseudonyms_are_the_straightforward_hmacs(key):
    values = pd.Series(["A1", None, "A1", "", "é-42", "B 2", None, "0123"] * 3, dtype="string")
    fast = dp.pseudonymise(values, key, "police_crimes")
    pd.testing.assert_series_equal(fast, _straightforward_pseudonyms(values, key, "police_crimes"))
    empty = pd.Series([], dtype="string")
    pd.testing.assert_series_equal(dp.pseudonymise(empty, key, "x"), _straightforward_pseudonyms(empty, key, "x"))
    nulls = pd.Series([None, None], dtype="string", index=[5, 7])
    pd.testing.assert_series_equal(dp.pseudonymise(nulls, key, "x"), _straightforward_pseudonyms(nulls, key, "x"))


@pytest.mark.parametrize("value, kind", [(None, "string"), (pd.NA, "string"), ("month", "string"),
                                         (None, "int"), (None, "float"), (None, "date"), (None, "time")])
def test_constant_columns_are_the_object_list_cast(value, kind):
    from csp.sources.frames import _NULL_DTYPES, _typed

    index = pd.RangeIndex(3, 8)
    straightforward = pd.Series([value] * len(index), index=index, dtype=object)
    straightforward = straightforward.astype(_NULL_DTYPES[kind]) if kind != "time" else straightforward
    pd.testing.assert_series_equal(_typed(value, kind, len(index), index), straightforward)
