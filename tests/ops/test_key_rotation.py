"""Pseudonymisation key rotation: staging files and every warehouse table re-keyed by the same
keyed mapping, repeat-location analysis unchanged, no old pseudonym left anywhere, the key
generation recorded, and a crashed rotation finished by running it again."""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import itertools
import json
from datetime import date

import pandas as pd
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from csp.analysis.locations import repeat_location_table
from csp.depersonalise import pseudonymise
from csp import key_rotation
from csp.key_rotation import (KEY_LEDGER, KeyRotationError, assert_current_key, key_fingerprint,
                              rotate_key)
from csp.warehouse import models
from csp.warehouse.engine import make_engine
from csp.warehouse.load import load_returns
from support.locations import P1, P2, REFERENCE_MONTH, build, event, plant_repeats, stage_rows

OLD, NEW, NEWER = b"old-test-key", b"new-test-key", b"newer-test-key"


def plant(settings, tmp_path) -> None:
    """The repeat-location returns (16 rows; police crimes of 2023Q4: one row), record keys
    pseudonymised with OLD as ingest does, then 2023Q4 resubmitted with two rows: its first
    version stays in staging, superseded and not loaded."""
    plant_repeats(settings, tmp_path)
    rows = [event("Burglary", date(2023, 11, 1), P2), event("Burglary", date(2023, 12, 8), P1)]
    stage_rows(settings, tmp_path / "resubmitted", "police_crimes", rows)


@pytest.fixture
def planted(workspace, tmp_path, monkeypatch):
    # Record keys as depersonalisation writes them: HMAC(OLD, "<dataset>:<ref>").
    import support.locations as helpers

    original = helpers.staged_frame
    serial = itertools.count()

    def keyed_frame(dataset_id, rows):
        frame = original(dataset_id, rows)
        refs = pd.Series([f"REF-{next(serial)}" for _ in range(len(frame))])
        frame["record_key"] = pseudonymise(refs, OLD, dataset_id).to_numpy()
        return frame

    monkeypatch.setattr(helpers, "staged_frame", keyed_frame)
    (tmp_path / "resubmitted").mkdir()
    return workspace, tmp_path


def staged_keys(settings) -> pd.DataFrame:
    frames = [pq.read_table(p).to_pandas()[["return_id", "source_line", "record_key"]]
              for p in sorted(settings.staging_dir.glob("*/*/v*.parquet"))]
    return pd.concat(frames, ignore_index=True).sort_values(["return_id", "source_line"], ignore_index=True)


def warehouse_strings(engine) -> set[str]:
    """Every string value of every table in the warehouse."""
    values: set[str] = set()
    with engine.connect() as conn:
        columns = conn.execute(sa.text(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema IN ('reference', 'staging', 'core', 'marts', 'analysis') "
            "AND (data_type LIKE '%CHAR%' OR data_type LIKE '%char%' OR data_type = 'text')")).all()
        for schema, table, column in columns:
            values |= {v for (v,) in conn.execute(sa.text(f"SELECT DISTINCT {column} FROM {schema}.{table}"))
                       if v is not None}
    return values


def staging_strings(settings) -> str:
    """Every staging file as text (parquet files by their string columns)."""
    parts = []
    for path in sorted(settings.staging_dir.rglob("*")):
        if path.suffix == ".parquet":
            parts.append(pq.read_table(path).to_pandas().astype(str).to_csv())
        elif path.is_file():
            parts.append(path.read_text())
    return "\n".join(parts)


def expected_rekey(old: str, key: bytes) -> str:
    return hmac.new(key, f"rekey:{old}".encode(), hashlib.sha256).hexdigest()


def fact_event(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(sa.text("SELECT * FROM core.fact_event ORDER BY return_id, source_line"), conn)


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_rotation_rekeys_staging_and_warehouse_consistently(planted, backend, request):
    settings, tmp_path = planted
    if backend == "postgresql":
        settings = dataclasses.replace(settings, warehouse_url=request.getfixturevalue("postgres_url"))
    plant(settings, tmp_path)
    engine = build(settings)
    with engine.connect() as conn:
        before = repeat_location_table(conn, REFERENCE_MONTH)
    keys_before = staged_keys(settings)
    old_keys = set(keys_before["record_key"])
    assert len(old_keys) == len(keys_before) == 18  # 16 + 2 rows, each its own pseudonym
    with engine.connect() as conn:
        loaded = set(pd.read_sql(sa.text("SELECT return_id FROM staging.loaded_returns"), conn)["return_id"])
    in_use = keys_before[keys_before["return_id"].isin(loaded)]["record_key"]
    assert len(in_use) == 17 and set(in_use) <= warehouse_strings(engine)

    summary = rotate_key(settings, OLD, NEW)

    assert (summary.generation, summary.old_fingerprint, summary.new_fingerprint) == (
        1, key_fingerprint(OLD), key_fingerprint(NEW))
    parquet_files = len(list(settings.staging_dir.glob("*/*/v*.parquet")))
    assert (summary.files_rekeyed, summary.files_already_rekeyed, summary.staging_values_rekeyed) == (
        parquet_files, 0, 18)
    assert {"staging.police_crimes.record_key", "staging.police_incidents.record_key",
            "core.fact_event.record_key"} <= set(summary.warehouse_columns)
    assert summary.warehouse_pseudonyms == 17  # the superseded version's row was never loaded

    # Every pseudonym became HMAC(NEW, "rekey:" + old), row for row.
    keys_after = staged_keys(settings)
    assert keys_after["record_key"].tolist() == [expected_rekey(k, NEW) for k in keys_before["record_key"]]
    # No old pseudonym anywhere: not in a staging file, not in any warehouse table.
    assert not old_keys & warehouse_strings(engine)
    text = staging_strings(settings)
    assert not [k for k in old_keys if k in text]

    # The warehouse agrees with staging: rebuilding the models from the re-keyed staging
    # tables gives the fact table the rotation updated; nothing needs reloading.
    rekeyed_facts = fact_event(engine)
    assert sorted(rekeyed_facts["record_key"]) == sorted(expected_rekey(k, NEW) for k in in_use)
    assert load_returns(engine, settings).loaded == []
    with engine.begin() as conn:
        models.build(conn)
    pd.testing.assert_frame_equal(fact_event(engine), rekeyed_facts)

    with engine.connect() as conn:
        after = repeat_location_table(conn, REFERENCE_MONTH)
        generations = pd.read_sql(sa.text("SELECT generation, fingerprint FROM "
                                          "staging.pseudonym_key_generations ORDER BY generation"), conn)
    pd.testing.assert_frame_equal(after, before)
    assert generations.values.tolist() == [[0, key_fingerprint(OLD)], [1, key_fingerprint(NEW)]]
    ledger = json.loads((settings.staging_dir / KEY_LEDGER).read_text())
    assert [(g["generation"], g["fingerprint"]) for g in ledger] == [
        (0, key_fingerprint(OLD)), (1, key_fingerprint(NEW))]
    assert ledger[1]["files_rekeyed"] == parquet_files
    # The key ledger holds fingerprints, never a key.
    assert OLD.decode() not in text and NEW.decode() not in text


def test_wrong_keys_are_refused_and_a_crashed_rotation_finishes(planted, monkeypatch):
    settings, tmp_path = planted
    plant(settings, tmp_path)
    engine = build(settings)
    keys_before = staged_keys(settings)

    with pytest.raises(KeyRotationError, match="is the old key"):
        rotate_key(settings, OLD, OLD)

    # A crash after the warehouse and the first file were re-keyed.
    calls = {"n": 0}
    real_rekey_file = key_rotation.rekey_file

    def crash_after_one(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_rekey_file(*args)

    monkeypatch.setattr(key_rotation, "rekey_file", crash_after_one)
    with pytest.raises(OSError, match="disk full"):
        rotate_key(settings, OLD, NEW)
    monkeypatch.setattr(key_rotation, "rekey_file", real_rekey_file)
    assert not (settings.staging_dir / KEY_LEDGER).exists()  # not committed until the end

    resumed = rotate_key(settings, OLD, NEW)
    assert resumed.warehouse_already_rekeyed and resumed.warehouse_columns == []
    assert resumed.files_already_rekeyed == 1
    assert resumed.files_rekeyed == len(list(settings.staging_dir.glob("*/*/v*.parquet"))) - 1
    # Each pseudonym re-keyed exactly once, in the files and in the warehouse.
    expected = [expected_rekey(k, NEW) for k in keys_before["record_key"]]
    assert staged_keys(settings)["record_key"].tolist() == expected
    assert set(fact_event(engine)["record_key"]) <= set(expected)

    with pytest.raises(KeyRotationError, match="already at the new key"):
        rotate_key(settings, OLD, NEW)
    with pytest.raises(KeyRotationError, match="not the current key"):
        rotate_key(settings, NEWER, OLD)
    with pytest.raises(KeyRotationError, match="not the current generation"):
        assert_current_key(settings.staging_dir, OLD)
    assert_current_key(settings.staging_dir, NEW)

    second = rotate_key(settings, NEW, NEWER)
    assert second.generation == 2
    assert staged_keys(settings)["record_key"].tolist() == [expected_rekey(k, NEWER) for k in expected]
    with make_engine(settings.warehouse_url).connect() as conn:
        assert conn.execute(sa.text("SELECT MAX(generation) FROM staging.pseudonym_key_generations")).scalar() == 2


def test_csp_rotate_key_reads_keys_from_files_and_exits_by_outcome(planted, tmp_path, capsys, monkeypatch):
    from csp.cli import main

    settings, folder = planted
    monkeypatch.setenv("CSP_PSEUDONYM_KEY", OLD.decode())  # the key ingest uses before any rotation
    plant(settings, folder)
    load_returns(make_engine(settings.warehouse_url), settings)
    old_file, new_file, wrong_file = (tmp_path / n for n in ("old.key", "new.key", "wrong.key"))
    old_file.write_bytes(OLD + b"\n")
    new_file.write_bytes(NEW + b"\n")
    wrong_file.write_bytes(NEWER)
    assert main(["rotate-key", "--old-key-file", str(wrong_file), "--new-key-file", str(new_file)]) == 1
    assert "csp rotate-key:" in capsys.readouterr().err
    assert main(["rotate-key", "--old-key-file", str(old_file), "--new-key-file", str(new_file)]) == 0
    out = capsys.readouterr().out
    assert "generation" in out and OLD.decode() not in out and NEW.decode() not in out
    assert main(["rotate-key", "--old-key-file", str(old_file), "--new-key-file", str(new_file)]) == 1
