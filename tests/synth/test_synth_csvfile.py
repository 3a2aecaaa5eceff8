"""The synthetic generator's CSV writer: blank columns, missing values, one value for every
row, and minimal RFC 4180 quoting (in the header too)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from csp.synth.csvfile import write_csv


def test_rows_are_written_with_blanks_and_minimal_quoting(tmp_path):
    path = tmp_path / "out.csv"
    rows = write_csv(path, ["ref", "blank", 'say "x"', "count", "when", "note"], {
        "ref": np.array(["A1", "B,2", None], dtype=object),
        'say "x"': pd.Series(["plain", 'he said "hi"', "two\nlines"], index=[7, 8, 9]),
        "count": np.array([1, 2, 3]),
        "when": pd.Series([1.5, np.nan, 3.0]),
        "note": "same, every row",
    })
    assert rows == 3
    assert path.read_bytes() == (
        b'ref,blank,"say ""x""",count,when,note\n'
        b'A1,,plain,1,1.5,"same, every row"\n'
        b'"B,2",,"he said ""hi""",2,,"same, every row"\n'
        b',,"two\nlines",3,3.0,"same, every row"\n'
    )


def test_trailing_blank_columns_and_no_rows(tmp_path):
    write_csv(tmp_path / "a.csv", ["a", "b", "c"], {"a": pd.Series(["x", None], dtype="str")})
    assert (tmp_path / "a.csv").read_bytes() == b"a,b,c\nx,,\n,,\n"
    assert write_csv(tmp_path / "b.csv", ["a", "b"], {"a": np.array([], dtype=object)}) == 0
    assert (tmp_path / "b.csv").read_bytes() == b"a,b\n"


def test_columns_must_match_the_header_and_each_other(tmp_path):
    with pytest.raises(ValueError, match="not in the header"):
        write_csv(tmp_path / "x.csv", ["a"], {"b": ["1"]})
    with pytest.raises(ValueError, match="differ in length"):
        write_csv(tmp_path / "x.csv", ["a", "b"], {"a": ["1"], "b": ["1", "2"]})
