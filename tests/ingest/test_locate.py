"""Locating coordinates: the boundary polygon containing the point (detailed district files
before the national generalised ones), the nearest population-weighted centroid for a point no
polygon holds (offshore of the generalised coastline), nothing outside England and Wales."""
import pandas as pd

from csp.locate import containing_lsoa, fill_missing_lsoa, nearest_lsoa

# Inside Leicester 003A (E01013600), but nearer the centroid of E01013602: only the polygon
# test gets it right.
EDGE_OF_003A = (52.669574, -1.142185)


def test_polygon_beats_nearest_centroid_inside_leicester(reference_dir):
    lat, lon = pd.Series([EDGE_OF_003A[0]]), pd.Series([EDGE_OF_003A[1]])
    assert nearest_lsoa(lat, lon, reference_dir)[0] == "E01013602"
    assert containing_lsoa(lat, lon, reference_dir)[0] == "E01013600"


def test_fill_uses_polygons_then_centroids_and_says_so(reference_dir):
    frame = pd.DataFrame({
        "lsoa_code": pd.Series([None, None, None, None, "E01025631"], dtype="string"),
        # Leicester (detailed file), Blaby (national file), off Skegness, Paris, given
        "latitude": [EDGE_OF_003A[0], 52.5800, 53.14, 48.8566, 52.6],
        "longitude": [EDGE_OF_003A[1], -1.2000, 0.37, 2.3522, -1.2],
    })
    filled, notes = fill_missing_lsoa(frame, reference_dir)
    assert filled["lsoa_code"].tolist()[:3] == ["E01013600", "E01025627", "E01026093"]
    assert pd.isna(filled["lsoa_code"][3]) and filled["lsoa_code"][4] == "E01025631"
    assert notes == [
        "lsoa_code resolved from coordinates by boundary polygon for 2 rows",
        "lsoa_code resolved from coordinates (nearest population-weighted LSOA 2011 centroid) for 1 rows",
        "1 rows with coordinates more than 10 km from any England and Wales LSOA centroid keep no lsoa_code",
    ]
