"""Resolve a missing LSOA code from WGS84 coordinates.

The LSOA is the boundary polygon containing the point (``csp.boundaries``: the ONS polygons of
every LSOA 2011 in England and Wales, more detailed ones where the reference data hold them).
A point no polygon contains (on the generalised coastline, say) takes the LSOA whose
population-weighted centroid is nearest, in British National Grid metres. Points
farther than ``MAX_DISTANCE_M`` from every centroid (Scotland, offshore) stay unresolved rather
than being pinned to a border LSOA. The notes say how many rows each method resolved;
``location_precision`` keeps saying "point", the most precise location the row has.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from csp.geometry import to_british_grid

MAX_DISTANCE_M = 10_000.0


@lru_cache(maxsize=2)
def _centroid_index(reference_dir: Path):
    from scipy.spatial import cKDTree

    from csp.geography import lsoa_lookup

    lookup = lsoa_lookup(reference_dir).dropna(subset=["latitude", "longitude"])
    x, y = to_british_grid(longitude=lookup["longitude"], latitude=lookup["latitude"])
    return cKDTree(np.column_stack([x, y])), lookup["LSOA11CD"].to_numpy()


def nearest_lsoa(latitude: pd.Series, longitude: pd.Series, reference_dir: Path) -> pd.Series:
    """LSOA 2011 code of the nearest centroid for each coordinate pair (null when a coordinate
    is missing or the point is too far from England and Wales)."""
    out = pd.Series(pd.NA, index=latitude.index, dtype="string")
    present = latitude.notna() & longitude.notna()
    if not present.any():
        return out
    tree, codes = _centroid_index(reference_dir)
    x, y = to_british_grid(longitude=longitude[present], latitude=latitude[present])
    distance, position = tree.query(np.column_stack([x, y]))
    near = distance <= MAX_DISTANCE_M
    out.loc[present[present].index[near]] = codes[position[near]]
    return out


@lru_cache(maxsize=2)
def _polygon_index(reference_dir: Path):
    """An STRtree over every LSOA 2011 polygon of the reference boundaries."""
    import shapely

    from csp.boundaries import lsoa_polygons

    polygons = lsoa_polygons(reference_dir)
    return shapely.STRtree(list(polygons.values())), np.array(list(polygons), dtype=object)


def containing_lsoa(latitude: pd.Series, longitude: pd.Series, reference_dir: Path) -> pd.Series:
    """LSOA 2011 code of the boundary polygon containing each point (null where no polygon of
    the reference boundaries contains it)."""
    import shapely

    out = pd.Series(pd.NA, index=latitude.index, dtype="string")
    tree, codes = _polygon_index(reference_dir)
    present = latitude.notna() & longitude.notna()
    if not present.any() or len(codes) == 0:
        return out
    points = shapely.points(longitude[present].to_numpy(float), latitude[present].to_numpy(float))
    point_index, polygon_index = tree.query(points, predicate="within")
    # A point on a shared edge lies in two polygons: keep the first, deterministically.
    first = ~pd.Index(point_index).duplicated()
    out.loc[present[present].index[point_index[first]]] = codes[polygon_index[first]]
    return out


def fill_missing_lsoa(frame: pd.DataFrame, reference_dir: Path) -> tuple[pd.DataFrame, list[str]]:
    """Fill ``lsoa_code`` where it is null and the row has coordinates; notes say how many
    rows each method resolved."""
    missing = frame["lsoa_code"].isna() & frame["latitude"].notna()
    if not missing.any():
        return frame, []
    inside = containing_lsoa(frame.loc[missing, "latitude"], frame.loc[missing, "longitude"], reference_dir)
    rest = inside.isna()
    nearest = nearest_lsoa(frame.loc[missing, "latitude"][rest], frame.loc[missing, "longitude"][rest], reference_dir)
    resolved = inside.fillna(nearest)
    frame = frame.copy()
    frame.loc[missing, "lsoa_code"] = resolved
    notes = []
    if inside.notna().any():
        notes.append(f"lsoa_code resolved from coordinates by boundary polygon for {int(inside.notna().sum())} rows")
    if nearest.notna().any():
        notes.append(f"lsoa_code resolved from coordinates (nearest population-weighted LSOA 2011 centroid) "
                     f"for {int(nearest.notna().sum())} rows")
    if resolved.isna().any():
        notes.append(f"{int(resolved.isna().sum())} rows with coordinates more than "
                     f"{MAX_DISTANCE_M / 1000:g} km from any England and Wales LSOA centroid keep no lsoa_code")
    return frame, notes
