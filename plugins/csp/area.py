"""The deployment's area in the codes returns use: LSOA 2011 and 2021 codes, and the postcode
districts (outward codes) assigned to it by the centroid rule.

Outward codes: each postcode district goes to the LSOA nearest its centroid (and so to that
LSOA's ward, district and CSP). Health data stays at outward-code precision; the rule only
says whose figures they are.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import pandas as pd

from csp import geography

LSOA21_LOOKUP = "ons_LSOA11_to_LSOA21_to_LAD22_lookup_EW.csv"
POSTCODE_DISTRICTS = "doogal_postcode_districts.csv"


@dataclass(frozen=True)
class AreaCodes:
    lsoas: frozenset[str]  # 2011 and 2021 codes of the area's LSOAs
    outward_codes: frozenset[str]


@lru_cache(maxsize=4)
def lsoa21_to_lsoa11(reference_dir: Path) -> pd.DataFrame:
    pairs = pd.read_csv(
        reference_dir / geography.POPULATION / LSOA21_LOOKUP,
        dtype=str, encoding="utf-8-sig", usecols=["F_LSOA11CD", "LSOA21CD"],
    )
    return pd.DataFrame({"lsoa21_code": pairs["LSOA21CD"], "lsoa11_code": pairs["F_LSOA11CD"]})


@lru_cache(maxsize=4)
def outward_code_lsoas(reference_dir: Path) -> pd.DataFrame:
    """Every postcode district of England and Wales -> the LSOA 2011 nearest its centroid
    (districts farther than 10 km from any LSOA centroid, e.g. in Scotland, are left out)."""
    from csp.locate import nearest_lsoa

    districts = pd.read_csv(
        reference_dir / geography.GEOGRAPHY / POSTCODE_DISTRICTS,
        usecols=["Postcode", "Latitude", "Longitude"],
    ).dropna()
    nearest = nearest_lsoa(districts["Latitude"], districts["Longitude"], reference_dir)
    mapped = pd.DataFrame({"outward_code": districts["Postcode"].str.upper(), "lsoa11_code": nearest})
    return mapped.dropna().astype(str).reset_index(drop=True)


@lru_cache(maxsize=4)
def area_codes(reference_dir: Path, police_force_area: str) -> AreaCodes:
    lsoas = set(geography.area_lsoas(reference_dir, police_force_area)["LSOA11CD"])
    mapped21 = lsoa21_to_lsoa11(reference_dir)
    outward = outward_code_lsoas(reference_dir)
    return AreaCodes(
        lsoas=frozenset(lsoas | set(mapped21.loc[mapped21["lsoa11_code"].isin(lsoas), "lsoa21_code"])),
        outward_codes=frozenset(outward.loc[outward["lsoa11_code"].isin(lsoas), "outward_code"]),
    )


# The cached codes depend on these reference folders' files and on this code (and the
# geography and locate modules it calls): a change to any of them makes a new cache key.
_CACHE_INPUT_FOLDERS = (geography.GEOGRAPHY, geography.POPULATION)
_CACHE_CODE_MODULES = ("csp.area", "csp.geography", "csp.locate")


def cached_area_codes(reference_dir: Path, police_force_area: str, cache_dir: Path) -> AreaCodes:
    """``area_codes``, kept in a small file of ``cache_dir`` between processes: each ingest
    task would otherwise read and join the national lookups (a third of a second) for the same
    few thousand codes. The file is used only while its key matches: the force area, the size
    and modification time of every file of the reference folders the codes come from, and
    the source of the modules that compute them."""
    path = cache_dir / f"area_codes.{police_force_area}.json"
    key = _cache_key(reference_dir, police_force_area)
    if (codes := _read_cache(path, key)) is not None:
        return codes
    codes = area_codes(reference_dir, police_force_area)
    _write_cache(path, key, codes)
    return codes


def _cache_key(reference_dir: Path, police_force_area: str) -> str:
    code = [hashlib.sha256(Path(find_spec(name).origin).read_bytes()).hexdigest() for name in _CACHE_CODE_MODULES]
    identity = [str(Path(reference_dir).resolve()), police_force_area, _reference_files(reference_dir), code]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def _reference_files(reference_dir: Path) -> list[tuple[str, int, int]]:
    """(path, size, modification time) of every file the codes may come from."""
    identities = []
    for folder in _CACHE_INPUT_FOLDERS:
        for path in sorted((reference_dir / folder).rglob("*")):
            if path.is_file():
                stat = path.stat()
                identities.append((str(path.relative_to(reference_dir)), stat.st_size, stat.st_mtime_ns))
    return identities


def _read_cache(path: Path, key: str) -> AreaCodes | None:
    try:
        cached = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # no cache yet, or one cut short: computed again
    if not isinstance(cached, dict) or cached.get("key") != key:
        return None
    return AreaCodes(lsoas=frozenset(cached["lsoas"]), outward_codes=frozenset(cached["outward_codes"]))


def _write_cache(path: Path, key: str, codes: AreaCodes) -> None:
    """Written whole under a name of this process, then renamed: tasks running at the same
    time each write a complete file, and a reader never sees half of one."""
    content = {"key": key, "lsoas": sorted(codes.lsoas), "outward_codes": sorted(codes.outward_codes)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(content))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only data folder: the codes are simply not kept
