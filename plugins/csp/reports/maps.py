"""Maps of rates by LSOA (or ward) with hotspots, as inline SVG (see csp.reports.charts for the
form: deterministic, self-contained, accessible, A4 width).

Geometry
--------
* Polygons come from the detailed district files ``lsoa11_boundaries_<district>_*.geojson`` (ONS boundaries,
  WGS84) where a file covers the area; every other unit is drawn as a circle at its ONS
  population-weighted centroid (``csp.geography.lsoa_lookup``), coloured like a polygon. The
  reference data holds polygons for Leicester and the City of London only.
* Everything is projected to British National Grid (EPSG:27700, metres) and drawn with equal
  aspect; polygons are simplified to ``SIMPLIFY_M`` metres (invisible at district scale, keeps a
  district map to tens of KB). Grid north is within about 2 degrees of true north in England.
* Rates are shaded in up to five quantile classes of a light-to-dark blue (ColorBrewer Blues,
  single hue, so ordered for every kind of colour vision and in greyscale). Units without a value
  are light grey. Hotspots get a white halo, a heavy black outline and black hatching: visible
  without colour.
* Each unit is a ``<g>`` with class ``lsoa polygon`` or ``lsoa centroid`` (``ward ...`` on ward
  maps) and each hotspot overlay a ``<g>`` with class ``hotspot``; their ids end with the code,
  e.g. ``c1a2b3c4-lsoa-polygon-E01013600`` and ``c1a2b3c4-lsoa-hotspot-E01013600`` (the prefix
  keeps ids unique when several maps share a page).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import shapely
from markupsafe import Markup
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, PathPatch
from matplotlib.path import Path as MplPath
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from scipy.spatial import cKDTree

from csp.geometry import polygons_from_geojson, to_british_grid
from csp.geography import GEOGRAPHY, lsoa_lookup
from csp.reports.charts import RC, WIDTH_IN, bands, new_figure, number, to_markup

SIMPLIFY_M = 20.0
CLASSES = 5
NO_VALUE = "#d9d9d9"
EDGE = "#ffffff"
BOUNDARY_LICENCE = ("Boundaries and centroids: Office for National Statistics, Open Government "
                    "Licence v3.0. Contains OS data © Crown copyright and database right.")
MAP_WIDTH_IN = 4.6  # the rest of the width holds the colour bar and legend
SCALE_STEPS_KM = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100]


# --- geometry -----------------------------------------------------------------------------

def _to_bng(geometries) -> np.ndarray:
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = to_british_grid(longitude=coords[:, 0], latitude=coords[:, 1])
        return np.column_stack([x, y])
    projected = shapely.transform(np.asarray(geometries, dtype=object), project)
    return shapely.simplify(projected, SIMPLIFY_M, preserve_topology=True)


@lru_cache(maxsize=8)
def boundaries(reference_dir: Path, pattern: str, id_property: str) -> dict[str, object]:
    """code -> polygon in British National Grid metres, simplified, from every file matching
    ``pattern`` in the reference geography folder."""
    shapes: dict[str, object] = {}
    for path in sorted((reference_dir / GEOGRAPHY).glob(pattern)):
        ids, geoms = polygons_from_geojson(json.loads(path.read_text(encoding="utf-8")), id_property)
        shapes.update(zip(ids, _to_bng(geoms), strict=True))
    return shapes


@lru_cache(maxsize=4)
def lsoa_points(reference_dir: Path) -> pd.DataFrame:
    """LSOA 2011 code, ward code, population and centroid in BNG metres (x, y)."""
    lookup = lsoa_lookup(reference_dir).dropna(subset=["longitude", "latitude"])
    x, y = to_british_grid(longitude=lookup["longitude"], latitude=lookup["latitude"])
    return pd.DataFrame({"code": lookup["LSOA11CD"].to_numpy(), "ward": lookup["WD19CD"].to_numpy(),
                         "population": lookup["population"].astype(float).to_numpy(), "x": x, "y": y})


def ward_points(reference_dir: Path) -> pd.DataFrame:
    """Ward code and the population-weighted mean of its LSOA centroids (x, y)."""
    lsoas = lsoa_points(reference_dir)
    weight = lsoas["population"].fillna(0).clip(lower=0) + 1e-9  # a ward of empty LSOAs still has a point
    frame = lsoas.assign(w=weight, wx=lsoas["x"] * weight, wy=lsoas["y"] * weight)
    sums = frame.groupby("ward")[["w", "wx", "wy"]].sum()
    return pd.DataFrame({"code": sums.index.to_numpy(), "x": (sums["wx"] / sums["w"]).to_numpy(),
                         "y": (sums["wy"] / sums["w"]).to_numpy()})


def _mpl_path(geometry) -> MplPath:
    rings = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        rings.append(MplPath(np.asarray(polygon.exterior.coords), closed=True))
        rings.extend(MplPath(np.asarray(hole.coords), closed=True) for hole in polygon.interiors)
    return MplPath.make_compound_path(*rings)


# --- classes and decorations --------------------------------------------------------------

def class_breaks(values: np.ndarray, classes: int = CLASSES) -> np.ndarray:
    """Quantile class edges (at most ``classes`` classes), inner edges rounded to two
    significant figures, outer edges the minimum and maximum so every value falls in a class."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 1.0])
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.array([low, low + 1.0])
    inner = np.quantile(finite, np.linspace(0, 1, classes + 1)[1:-1])
    inner = np.array([float(f"{q:.2g}") for q in inner])
    edges = np.unique(np.concatenate([[low], inner[(inner > low) & (inner < high)], [high]]))
    return edges


def _scale_km(span_m: float) -> float:
    target = span_m / 5000.0
    return max([s for s in SCALE_STEPS_KM if s <= target], default=SCALE_STEPS_KM[0])


def _decorate(ax, span_m: float) -> None:
    km = _scale_km(span_m)
    label = f"{number(km)} km" if km >= 1 else f"{number(km * 1000)} m"
    ax.add_artist(AnchoredSizeBar(ax.transData, km * 1000, label, loc="lower left", pad=0.4,
                                  borderpad=0.6, sep=3, frameon=False, size_vertical=span_m / 400,
                                  color="#000000", fontproperties={"size": 7.5}))
    ax.annotate("N", xy=(0.95, 0.97), xytext=(0.95, 0.86), xycoords="axes fraction",
                ha="center", va="center", fontsize=9, fontweight="bold",
                arrowprops={"arrowstyle": "-|>", "color": "#000000", "linewidth": 1.2})


# --- the maps -----------------------------------------------------------------------------

def rate_map(values: pd.DataFrame, reference_dir: Path, *, title: str, legend_label: str,
             source: str, hotspots: Iterable[str] = (), area_codes: Iterable[str] | None = None) -> Markup:
    """Rates by LSOA 2011 (``values``: lsoa11_code, value) with ``hotspots`` outlined.

    ``area_codes`` restricts the map to those LSOAs (a partnership's), drawing the ones without
    a value in grey; by default every LSOA in ``values`` is drawn. Hotspots outside the mapped
    LSOAs are not drawn. A code with neither a polygon nor a centroid is an error.
    """
    return _choropleth(values, "lsoa11_code", "lsoa", "LSOA",
                       boundaries(Path(reference_dir), "lsoa11_boundaries_[EW]0*_*.geojson", "LSOA11CD"),
                       lsoa_points(Path(reference_dir)), title=title, legend_label=legend_label,
                       source=source, hotspots=hotspots, area_codes=area_codes)


def ward_rate_map(values: pd.DataFrame, reference_dir: Path, *, title: str, legend_label: str,
                  source: str, hotspots: Iterable[str] = (), area_codes: Iterable[str] | None = None) -> Markup:
    """Rates by ward (``values``: ward_code, value; December 2019 ward codes of the ONS lookup),
    from ``ward_boundaries_*.geojson`` where held, else a circle at the population-weighted
    mean of the ward's LSOA centroids. Rates must be computed on ward totals
    (``csp.analysis.hotspots.rates_per_1000(..., group_col=...)``), never averaged from LSOAs."""
    return _choropleth(values, "ward_code", "ward", "ward",
                       boundaries(Path(reference_dir), "ward_boundaries_*.geojson", "WD25CD"),
                       ward_points(Path(reference_dir)), title=title, legend_label=legend_label,
                       source=source, hotspots=hotspots, area_codes=area_codes)


def _units(values: pd.DataFrame, code_col: str, area_codes, shapes: dict, points: pd.DataFrame) -> pd.DataFrame:
    """code, value, kind (polygon / centroid), x, y of every unit to draw, sorted by code."""
    missing = {code_col, "value"} - set(values.columns)
    if missing:
        raise ValueError(f"map values lack columns: {sorted(missing)}")
    repeated = values[code_col][values[code_col].duplicated()].unique().tolist()
    if repeated:
        raise ValueError(f"map values repeat codes: {repeated[:5]}")
    value = pd.to_numeric(values.set_index(code_col)["value"])
    codes = sorted(set(area_codes) if area_codes is not None else set(value.index))
    if not codes:
        raise ValueError("nothing to map: no area codes and no values")
    located = points.drop_duplicates("code").set_index("code").reindex(codes)
    units = pd.DataFrame({"code": codes, "value": value.reindex(codes).to_numpy(dtype=float),
                          "x": located["x"].to_numpy(), "y": located["y"].to_numpy()})
    units["kind"] = np.where(units["code"].isin(list(shapes)), "polygon", "centroid")
    lost = units[(units["kind"] == "centroid") & units["x"].isna()]["code"].tolist()
    if lost:
        raise ValueError(f"no boundary and no centroid for {len(lost)} codes, e.g. {lost[:5]}")
    return units


def _circle_radius(units: pd.DataFrame, span: float) -> float:
    points = units[["x", "y"]].to_numpy()
    if len(points) < 2:
        return span / 40
    distance, _ = cKDTree(points).query(points, k=2)
    return float(np.clip(0.45 * np.median(distance[:, 1]), span / 250, span / 40))


def _extent(units: pd.DataFrame, polygons: dict) -> tuple[float, float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of everything drawn, padded, and the centroid circle radius."""
    centroids = units[units["kind"] == "centroid"]
    boxes = [shapely.bounds(g) for g in polygons.values()]
    boxes += [(x, y, x, y) for x, y in zip(centroids["x"], centroids["y"], strict=True)]
    b = np.array(boxes)
    xmin, ymin, xmax, ymax = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    span = max(xmax - xmin, ymax - ymin, 1000.0)
    radius = _circle_radius(centroids, span) if len(centroids) else 0.0
    pad = radius + span * 0.03
    return xmin - pad, xmax + pad, ymin - pad, ymax + pad, radius


def _draw_units(ax, units: pd.DataFrame, polygons: dict, radius: float, colour_of, unit: str,
                hot: set[str]) -> dict[str, str]:
    """Every unit filled by its value, then the hotspots over them; returns gid -> class."""
    classes: dict[str, str] = {}
    # add_artist, not add_patch: the caller sets the limits, so the data limits add_patch
    # would update with every vertex of every polygon are never used (most of a map's time).
    for row in units.itertuples(index=False):
        gid = f"{unit}-{row.kind}-{row.code}"
        classes[gid] = f"{unit} {row.kind}"
        ax.add_artist(_shape(row, polygons, radius, facecolor=colour_of(row.value), gid=gid, linewidth=0.35,
                            edgecolor=EDGE if row.kind == "polygon" else "#404040"))
    for row in units[units["code"].isin(hot)].itertuples(index=False):
        # a white halo under a heavy hatched black outline: stands out on every shade
        ax.add_artist(_shape(row, polygons, radius, facecolor="none", edgecolor="#ffffff", linewidth=3.4))
        gid = f"{unit}-hotspot-{row.code}"
        classes[gid] = "hotspot"
        ax.add_artist(_shape(row, polygons, radius, facecolor="none", edgecolor="#000000", linewidth=1.7,
                            hatch="////", gid=gid))
    return classes


def _legend_handles(units: pd.DataFrame, hot: set[str], unit_name: str, centroid_colour) -> list:
    handles = []
    if hot:
        handles.append(Patch(facecolor="none", edgecolor="#000000", hatch="////", linewidth=1.7,
                             label="Hotspot (Gi*, significant)"))
    if not np.isfinite(units["value"]).all():
        handles.append(Patch(facecolor=NO_VALUE, edgecolor="#404040", linewidth=0.35, label="No value"))
    if (units["kind"] == "centroid").any():
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=centroid_colour,
                              markeredgecolor="#404040", label=f"{unit_name[:1].upper()}{unit_name[1:]} centroid"))
    return handles


def _choropleth(values: pd.DataFrame, code_col: str, unit: str, unit_name: str, shapes: dict,
                points: pd.DataFrame, *, title: str, legend_label: str, source: str,
                hotspots: Iterable[str], area_codes) -> Markup:
    units = _units(values, code_col, area_codes, shapes, points)
    hot = set(hotspots) & set(units["code"])
    polygons = {code: shapes[code] for code in units.loc[units["kind"] == "polygon", "code"]}
    xmin, xmax, ymin, ymax, radius = _extent(units, polygons)

    edges = class_breaks(units["value"].to_numpy(dtype=float))
    n_classes = len(edges) - 1
    cmap = ListedColormap(matplotlib.colormaps["Blues"](np.linspace(0.15, 0.95, n_classes)))
    norm = BoundaryNorm(edges, n_classes)

    def colour_of(value: float):
        return cmap(norm(value)) if np.isfinite(value) else NO_VALUE

    licence = "" if "crown copyright" in source.lower() else f" {BOUNDARY_LICENCE}"
    note = (f" Circles: {unit_name}s with no boundary in the reference data, at their population-"
            "weighted centroid." if (units["kind"] == "centroid").any() else "")
    full_source = f"{source.rstrip('.')}.{licence}{note}"

    map_h = float(np.clip(MAP_WIDTH_IN * (ymax - ymin) / (xmax - xmin), 3.2, 8.0))
    top, bottom = bands(title, full_source)
    total = map_h + top + bottom

    def box(left_in: float, bottom_in: float, width_in: float, height_in: float) -> list[float]:
        return [left_in / WIDTH_IN, bottom_in / total, width_in / WIDTH_IN, height_in / total]

    with matplotlib.rc_context(RC):
        fig = new_figure(map_h, title=title, source=full_source, constrained=False)
        ax = fig.add_axes(box(0.05, bottom, MAP_WIDTH_IN, map_h))
        classes = _draw_units(ax, units, polygons, radius, colour_of, unit, hot)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_aspect("equal", anchor="NW")
        ax.set_axis_off()
        _decorate(ax, xmax - xmin)
        # side panel: the colour bar at the top right of the map, the symbol legend below it
        bar_h = min(2.0, 0.55 * map_h)
        cax = fig.add_axes(box(MAP_WIDTH_IN + 0.4, bottom + map_h - bar_h - 0.05, 0.16, bar_h))
        bar = fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax,
                           spacing="uniform", ticks=edges)
        bar.set_label(legend_label)
        bar.ax.set_yticklabels([number(float(f"{e:.3g}")) for e in edges])
        bar.outline.set_linewidth(0.5)
        handles = _legend_handles(units, hot, unit_name, cmap(0.5))
        if handles:
            fig.legend(handles=handles, loc="upper left", fontsize=7.5, handlelength=1.6, handleheight=1.2,
                       bbox_to_anchor=box(MAP_WIDTH_IN + 0.25, bottom + map_h - bar_h - 0.35, 0, 0)[:2])
    return to_markup(fig, title=title, source=full_source, classes=classes)


def _shape(row, polygons: dict, radius: float, **style):
    # Not clipped to the axes: the extent holds every unit already, and a clip path on each of
    # hundreds of units is work for every SVG renderer (most of a map's PDF layout).
    style.setdefault("clip_on", False)
    if row.kind == "polygon":
        return PathPatch(_mpl_path(polygons[row.code]), **style)
    return Circle((row.x, row.y), radius, **style)
