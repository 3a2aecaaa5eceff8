"""WGS84 <-> British National Grid, and polygons from GeoJSON: the one place coordinates change
reference system.

Every conversion takes and returns (x, y) order, longitude before latitude and easting before
northing, as keyword arguments, so a call site cannot swap them silently:
``to_british_grid(longitude=..., latitude=...) -> (easting, northing)`` in metres (EPSG:27700)
and ``to_wgs84(easting=..., northing=...) -> (longitude, latitude)`` in degrees (EPSG:4326).
One transformer per direction per process (building one reads the PROJ database, ~35 ms).
Which boundary file an LSOA's polygon comes from is csp.boundaries' rule.
"""
from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _transformer(source: str, target: str):
    from pyproj import Transformer

    return Transformer.from_crs(source, target, always_xy=True)


def to_british_grid(*, longitude, latitude) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude (degrees) -> British National Grid easting/northing (metres)."""
    x, y = _transformer("EPSG:4326", "EPSG:27700").transform(np.asarray(longitude, dtype=float),
                                                              np.asarray(latitude, dtype=float))
    return np.asarray(x), np.asarray(y)


def to_wgs84(*, easting, northing) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid easting/northing (metres) -> WGS84 longitude/latitude (degrees)."""
    lon, lat = _transformer("EPSG:27700", "EPSG:4326").transform(np.asarray(easting, dtype=float),
                                                                  np.asarray(northing, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def polygons_from_geojson(collection: dict, id_property: str) -> tuple[list, list]:
    """(ids, shapely geometries) of a GeoJSON FeatureCollection, in its own coordinates."""
    from shapely.geometry import shape

    feats = collection.get("features", [])
    return ([f["properties"][id_property] for f in feats], [shape(f["geometry"]) for f in feats])
