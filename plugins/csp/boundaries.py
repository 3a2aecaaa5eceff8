"""LSOA 2011 boundary polygons from the reference data, with one rule for which file wins.

The reference geography folder holds the ONS super-generalised (200 m) LSOA 2011 polygons for
all of England and Wales (``lsoa11_boundaries_EW_BSC.geojson``), the same polygons cut to a
police force area (``lsoa11_boundaries_E23...``: a subset, so never read), and more detailed
polygons for a few districts (``lsoa11_boundaries_<district code>_<name>.geojson``, Leicester
and the City of London). An LSOA takes its polygon from a detailed district file where one
holds it, else from the national file. Locating points, hotspot contiguity and the maps all
read polygons through here, so they agree on every boundary.

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


def detailed_lsoa_files(reference_dir: Path) -> list[Path]:
    return sorted(p for p in (Path(reference_dir) / GEOGRAPHY).glob("lsoa11_boundaries_*.geojson")
                  if DETAILED_LSOA_FILE.fullmatch(p.name))


@lru_cache(maxsize=2)
def lsoa_polygons(reference_dir: Path) -> dict[str, object]:
    """LSOA 2011 code -> polygon (WGS84), every LSOA of England and Wales the reference data
    hold, the detailed district files taking precedence over the national file."""
    from shapely.geometry import shape

    polygons: dict[str, object] = {}
    national = Path(reference_dir) / GEOGRAPHY / NATIONAL_LSOA_FILE
    for path in ([national] if national.exists() else []) + detailed_lsoa_files(reference_dir):
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            polygons[feature["properties"][LSOA_ID]] = shape(feature["geometry"])
    return polygons


def lsoa_polygons_of(reference_dir: Path, codes) -> tuple[list[str], list]:
    """(codes, polygons) for those of ``codes`` that have a polygon, in the order given."""
    polygons = lsoa_polygons(Path(reference_dir))
    held = [code for code in codes if code in polygons]
    return held, [polygons[code] for code in held]
