import pandas as pd
import pytest

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


def test_only_canonical_columns_survive():
    dataset = DATASETS["racial_incidents"]
    row = {c: [None] for c in dataset.columns if c not in ("return_id", "file_sha256", "record_key")}
    frame = pd.DataFrame({**row, "source_ref": ["R-1"], "location_description": ["outside 4 Acacia Ave"]})
    out = dp.depersonalise(frame, dataset, b"key")
    assert "location_description" not in out and "source_ref" not in out
    assert out["record_key"].str.fullmatch("[0-9a-f]{64}").all()
