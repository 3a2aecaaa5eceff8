"""Boundary polygons from the reference data (LSOA 2011, wards, district, partnership and
force-area outlines), with one rule for which file wins.

The reference geography folder holds the ONS super-generalised (200 m) LSOA 2011 polygons for
all of England and Wales (``lsoa11_boundaries_EW_BSC.geojson``), the same polygons cut to a
police force area (``lsoa11_boundaries_E23...``: a subset, so never read), and more detailed
polygons for a few districts (``lsoa11_boundaries_<district code>_<name>.geojson``, Leicester
and the City of London). An LSOA takes its polygon from a detailed district file where one
holds it, else from the national file. Locating points, hotspot contiguity and the maps all
read polygons through here, so they agree on every boundary.

Wards are the December 2019 wards of the ONS LSOA lookup (``ward19_boundaries_EW.geojson``,
WD19CD), the codes the warehouse's geography carries. A detailed per-district ward file
(``ward_boundaries_<district code>_<name>.geojson``, Leicester's) holds 2025 wards (WD25CD): ONS
gives a ward a new code whenever its boundary changes, so a WD25 ward whose code is also a WD19
code is the same ward and takes its detailed polygon; a WD25 code that is not a WD19 code is a
ward redrawn since 2019, which the 2019 counts do not fit, and is left out (all 21 of Leicester's
wards keep their 2019 codes). District (LAD19), partnership (CSP19) and police force area
(PFA19) outlines are the national files dissolved from the LSOA polygons; a partnership that is
not a CSP19 gets the union of its LSOAs' polygons from ``lsoa_polygons``.

Geometries are shapely objects in WGS84 longitude/latitude, as the files hold them.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

GEOGRAPHY = "geography"
NATIONAL_LSOA_FILE = "lsoa11_boundaries_EW_BSC.geojson"
# A detailed file is named after the district it covers (unitary, shire district, metropolitan
# district, London borough or Welsh principal area).
DETAILED_LSOA_FILE = re.compile(r"lsoa11_boundaries_((?:E0[6-9]|W06)\d{6})_\w+\.geojson")
LSOA_ID = "LSOA11CD"
NATIONAL_WARD_FILE = "ward19_boundaries_EW.geojson"
DETAILED_WARD_FILE = re.compile(r"ward_boundaries_((?:E0[6-9]|W06)\d{6})_\w+\.geojson")
WARD_ID, WARD_NAME, DETAILED_WARD_ID = "WD19CD", "WD19NM", "WD25CD"
# outline kind -> (national file, code property, name property)
OUTLINE_FILES = {
    "district": ("lad19_boundaries_EW_from_LSOA11_BSC.geojson", "LAD19CD", "LAD19NM"),
    "partnership": ("csp19_boundaries_EW_from_LSOA11_BSC.geojson", "CSP19CD", "CSP19NM"),
    "force": ("pfa19_boundaries_EW_from_LSOA11_BSC.geojson", "PFA19CD", "PFA19NM"),
}


def detailed_lsoa_files(reference_dir: Path) -> list[Path]:
    return sorted(p for p in (Path(reference_dir) / GEOGRAPHY).glob("lsoa11_boundaries_*.geojson")
                  if DETAILED_LSOA_FILE.fullmatch(p.name))


@lru_cache(maxsize=2)
def _lsoa_geometries(reference_dir: Path) -> dict[str, dict]:
    """LSOA 2011 code -> GeoJSON geometry, the detailed district files taking precedence over
    the national file (shapes are built by the callers, for the LSOAs they need)."""
    geometries: dict[str, dict] = {}
    national = Path(reference_dir) / GEOGRAPHY / NATIONAL_LSOA_FILE
    for path in ([national] if national.exists() else []) + detailed_lsoa_files(reference_dir):
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            geometries[feature["properties"][LSOA_ID]] = feature["geometry"]
    return geometries


@lru_cache(maxsize=2)
def lsoa_polygons(reference_dir: Path) -> dict[str, object]:
    """LSOA 2011 code -> polygon (WGS84), every LSOA of England and Wales the reference data
    hold, the detailed district files taking precedence over the national file."""
    from shapely.geometry import shape

    return {code: shape(geometry) for code, geometry in _lsoa_geometries(Path(reference_dir)).items()}


def lsoa_polygons_of(reference_dir: Path, codes) -> tuple[list[str], list]:
    """(codes, polygons) for those of ``codes`` that have a polygon, in the order given (only
    those are built: a district's map needs a few hundred of the 34,753)."""
    from shapely.geometry import shape

    geometries = _lsoa_geometries(Path(reference_dir))
    held = [code for code in codes if code in geometries]
    return held, [shape(geometries[code]) for code in held]


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"] if path.exists() else []


@lru_cache(maxsize=2)
def _ward_geometries(reference_dir: Path) -> dict[str, tuple[str, dict]]:
    """December 2019 ward code -> (name, GeoJSON geometry), a detailed district file's geometry
    taking precedence for a ward whose code it shares (see the module docstring). Shapes are
    built only for the wards asked for: the national file has 8,071."""
    folder = Path(reference_dir) / GEOGRAPHY
    wards = {f["properties"][WARD_ID]: (f["properties"][WARD_NAME], f["geometry"])
             for f in _features(folder / NATIONAL_WARD_FILE)}
    for path in sorted(p for p in folder.glob("ward_boundaries_*.geojson") if DETAILED_WARD_FILE.fullmatch(p.name)):
        for feature in _features(path):
            code = feature["properties"].get(DETAILED_WARD_ID)
            if code in wards:
                wards[code] = (wards[code][0], feature["geometry"])
    return wards


def ward_polygons_of(reference_dir: Path, codes) -> dict[str, tuple[str, object]]:
    """Ward code -> (name, polygon in WGS84) for those of ``codes`` the reference data hold."""
    from shapely.geometry import shape

    wards = _ward_geometries(Path(reference_dir))
    return {code: (wards[code][0], shape(wards[code][1])) for code in codes if code in wards}


@lru_cache(maxsize=8)
def outlines(reference_dir: Path, kind: str) -> dict[str, tuple[str, object]]:
    """Code -> (name, outline polygon in WGS84) of every district, partnership or police force
    area (``kind``: "district", "partnership", "force") in the national outline files."""
    from shapely.geometry import shape

    name, code_property, name_property = OUTLINE_FILES[kind]
    return {f["properties"][code_property]: (f["properties"][name_property], shape(f["geometry"]))
            for f in _features(Path(reference_dir) / GEOGRAPHY / name)}


def area_outline(reference_dir: Path, kind: str, code: str, lsoa_codes=()) -> object | None:
    """The outline of one area: from the national outline file where it holds the code, else
    the union of ``lsoa_codes``' polygons; None where neither is possible."""
    import shapely

    held = outlines(Path(reference_dir), kind).get(code)
    if held is not None:
        return held[1]
    _, polygons = lsoa_polygons_of(reference_dir, list(lsoa_codes))
    return shapely.union_all(polygons) if polygons else None
