"""csp.geometry: the one WGS84 <-> British National Grid conversion, checked against Ordnance
Survey's worked example, both directions, and with its arguments named so they cannot be swapped."""
from __future__ import annotations

import numpy as np
import pytest

from csp.geometry import to_british_grid, to_wgs84


def test_bng_matches_ordnance_survey_worked_example():
    """OS 'A guide to coordinate systems in Great Britain', Annex C worked example: OSGB36
    52 39 27.2531 N, 1 43 4.5177 E projects to National Grid E 651409.903 N 313177.270. The
    point is moved to WGS84 first (the input to_british_grid takes), so this checks axis order and the
    CRS pair; pyproj's default datum shift is good to a few metres."""
    from pyproj import Transformer

    lat = 52 + 39 / 60 + 27.2531 / 3600
    lon = 1 + 43 / 60 + 4.5177 / 3600
    wlon, wlat = Transformer.from_crs("EPSG:4277", "EPSG:4326", always_xy=True).transform(lon, lat)
    assert abs(wlon - lon) > 1e-4  # the datum shift is real (about 100 m here)
    x, y = to_british_grid(longitude=[wlon], latitude=[wlat])
    assert abs(x[0] - 651409.903) < 5 and abs(y[0] - 313177.270) < 5


def test_the_two_directions_invert_each_other():
    lon = np.array([-1.1398, -0.0922, -3.1791])  # Leicester, the City of London, Cardiff
    lat = np.array([52.6369, 51.5155, 51.4816])
    easting, northing = to_british_grid(longitude=lon, latitude=lat)
    assert (400_000 < easting[0] < 500_000) and (200_000 < northing[0] < 400_000)
    back_lon, back_lat = to_wgs84(easting=easting, northing=northing)
    assert np.allclose(back_lon, lon, atol=1e-9) and np.allclose(back_lat, lat, atol=1e-9)


def test_coordinates_are_passed_by_name():
    with pytest.raises(TypeError):
        to_british_grid(-1.1398, 52.6369)  # the positional call is the mistake this guards against
