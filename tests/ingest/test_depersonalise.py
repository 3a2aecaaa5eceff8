import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from csp import depersonalise as dp
from csp.registry import DATASETS


def test_refuses_to_run_without_a_key(monkeypatch):
    for var in (dp.KEY_ENV, dp.KEY_FILE_ENV, "AIRFLOW_CONN_CSP_PSEUDONYM_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(dp.MissingKeyError, match="CSP_PSEUDONYM_KEY"):
        dp.pseudonym_key()


def test_key_from_file(monkeypatch, tmp_path):
    monkeypatch.delenv(dp.KEY_ENV, raising=False)
    (tmp_path / "k").write_text("secret\n")
    monkeypatch.setenv(dp.KEY_FILE_ENV, str(tmp_path / "k"))
    assert dp.pseudonym_key() == b"secret"


def test_pseudonyms_are_keyed_stable_and_keep_nulls():
    ids = pd.Series(["A1", "A1", None, "B2"], dtype="string")
    first = dp.pseudonymise(ids, b"k1", "police_crimes")
    assert first[0] == first[1] and first[0] != first[3] and pd.isna(first[2])
    assert not first.dropna().isin(ids.dropna()).any()
    assert (dp.pseudonymise(ids, b"k2", "police_crimes").dropna() != first.dropna()).all()
    assert (dp.pseudonymise(ids, b"k1", "fire_incidents").dropna() != first.dropna()).all()


def test_only_canonical_columns_survive_and_free_text_is_redacted():
    dataset = DATASETS["racial_incidents"]
    row = {c: [None, None] for c in dataset.columns if c not in ("return_id", "file_sha256", "record_key")}
    frame = pd.DataFrame({**row, "source_ref": ["R-1", "R-2"], "victim_name": ["Ann Lee", "Bo Li"],
                          "location_description": ["outside LE1 5AB, abused by Mr Tom Ray", "bus stop"]})
    result = dp.depersonalise(frame, dataset, b"key")
    out = result.frame
    assert "victim_name" not in out and "source_ref" not in out
    assert out["record_key"].str.fullmatch("[0-9a-f]{64}").all()
    assert out["location_description"].tolist() == ["outside [postcode], abused by [name]", "bus stop"]
    assert result.rows_redacted == 1 and result.redactions == {"name": 1, "postcode": 1}
    assert result.note == "personal data redacted from free text in 1 rows: 1 name, 1 postcode"


def test_mandated_school_name_is_not_scanned():
    assert DATASETS["school_exclusions"].free_text == ()


@given(key=st.binary(min_size=1, max_size=200), namespace=st.text(max_size=20),
       values=st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=30))
@hypothesis_settings(max_examples=200, deadline=None)
def test_pseudonyms_are_the_standard_librarys_hmac_sha256(key, namespace, values):
    """The hand-built keyed states (csp.depersonalise._hmac_sha256_hex) give exactly
    hmac.new(key, "namespace:value", sha256) for any key length, text and null."""
    import hashlib
    import hmac

    got = dp.pseudonymise(pd.Series(values, dtype="string"), key, namespace).tolist()
    expected = [None if v is None else hmac.new(key, f"{namespace}:{v}".encode(), hashlib.sha256).hexdigest()
                for v in values]
    assert [None if pd.isna(g) else g for g in got] == expected
