"""The ingest's shortcuts give what the straightforward code gives: the area codes kept between
tasks (and recomputed when the reference data changes), the files hashed once, the location
helpers worked out per distinct value."""
from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

from csp import area
from csp.geography import GEOGRAPHY, POPULATION
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.sources import frames
from csp.staging import Staging, files_sha256

FORCE_AREA = "E23000021"  # Leicestershire


@pytest.fixture()
def reference_copy(reference_dir, tmp_path):
    """The two reference folders the area codes come from, copied so a test may change them."""
    copy = tmp_path / "reference"
    for folder in (GEOGRAPHY, POPULATION):
        shutil.copytree(reference_dir / folder, copy / folder)
    return copy


def _new_process():
    """Forget what this process has read (each ingest task is a process of its own)."""
    area.area_codes.cache_clear()
    area.lsoa21_to_lsoa11.cache_clear()
    area.outward_code_lsoas.cache_clear()


def _uncached(reference_dir):
    _new_process()
    return area.area_codes(reference_dir, FORCE_AREA)


def test_cached_area_codes_are_the_computed_ones_and_are_reused(reference_copy, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = area.cached_area_codes(reference_copy, FORCE_AREA, cache)
    assert first == _uncached(reference_copy)
    assert first.lsoas and first.outward_codes
    monkeypatch.setattr(area, "area_codes", lambda *args: pytest.fail("computed again"))
    assert area.cached_area_codes(reference_copy, FORCE_AREA, cache) == first


def test_cached_area_codes_follow_a_change_of_the_reference_data(reference_copy, tmp_path):
    cache = tmp_path / "cache"
    before = area.cached_area_codes(reference_copy, FORCE_AREA, cache)
    lookup = reference_copy / POPULATION / area.LSOA21_LOOKUP
    # A new 2021 LSOA for one of the area's 2011 LSOAs: the cached list must gain it.
    lsoa11 = sorted(code for code in before.lsoas if code.startswith("E01"))[0]
    header = lookup.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    row = ["" for _ in header]
    row[header.index("F_LSOA11CD")], row[header.index("LSOA21CD")] = lsoa11, "E01999999"
    with lookup.open("a", encoding="utf-8") as fh:
        fh.write(",".join(row) + "\n")
    _new_process()
    after = area.cached_area_codes(reference_copy, FORCE_AREA, cache)
    assert "E01999999" in after.lsoas and "E01999999" not in before.lsoas
    assert after == _uncached(reference_copy)


def test_a_rewritten_reference_file_of_the_same_size_is_noticed(reference_copy, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    area.cached_area_codes(reference_copy, FORCE_AREA, cache)
    districts = reference_copy / GEOGRAPHY / area.POSTCODE_DISTRICTS
    stat = districts.stat()
    os.utime(districts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    computed = []
    monkeypatch.setattr(area, "area_codes",
                        lambda *args: computed.append(args) or area.AreaCodes(frozenset(), frozenset()))
    area.cached_area_codes(reference_copy, FORCE_AREA, cache)
    assert computed, "a modified reference file must not be answered from the cache"


def test_a_damaged_cache_file_is_computed_again(reference_copy, tmp_path):
    cache = tmp_path / "cache"
    expected = area.cached_area_codes(reference_copy, FORCE_AREA, cache)
    (path,) = cache.glob("area_codes.*.json")
    path.write_text('{"key": ')
    assert area.cached_area_codes(reference_copy, FORCE_AREA, cache) == expected


def test_files_are_hashed_once_and_a_rerun_is_still_recognised(tmp_path, monkeypatch):
    from csp import staging as staging_module

    dataset, quarter = DATASETS["police_incidents"], Quarter(2024, 1)
    files = [tmp_path / "a.csv"]
    files[0].write_text("x\n")
    store = Staging(tmp_path / "staging")
    empty = frames.empty_frame(dataset).drop(columns="source_ref").assign(record_key=pd.Series(dtype="string"))
    checksum = files_sha256(files)
    monkeypatch.setattr(staging_module, "files_sha256", lambda paths: pytest.fail("hashed again"))
    assert store.unchanged(dataset.id, quarter, files) is None  # nothing staged: files not read
    entry = store.stage(dataset, quarter, files, empty, frames.empty_quarantine(), rows_in=0, rows_loaded=0,
                        checksum=checksum)
    assert entry.file_sha256 == checksum
    assert store.unchanged(dataset.id, quarter, files, checksum) == entry


def test_location_helpers_give_the_row_by_row_results():
    raw = pd.Series(["e01000001", "", "X1", "W01999999", "e01000001", " E01000002"], dtype="string", index=range(3, 9))
    codes, invalid = frames.lsoa_codes(raw)
    upper = raw.str.upper()
    bad = upper.ne("") & ~upper.str.fullmatch(frames.LSOA_PATTERN)
    pd.testing.assert_series_equal(codes, frames.blank_to_null(upper.where(~bad, "")))
    assert invalid.fillna(False).tolist() == bad.tolist()
    latitude = pd.Series([1.0, None, None, None, 2.0, None], index=codes.index)
    outward = pd.Series([None, "LE1", None, None, None, None], dtype="string", index=codes.index)
    precision = frames.location_precision(latitude, codes, outward)
    assert precision.tolist() == ["point", "outward_postcode", "none", "lsoa", "point", "none"]
    assert precision.dtype == "string" and precision.index.equals(codes.index)
