"""Maps of rates by LSOA (or ward) with hotspots, as inline SVG (see csp.reports.charts for the
form: deterministic, self-contained, accessible, A4 width).

Geometry
--------
* Polygons come from csp.boundaries (a detailed district file where one holds the unit, else
  the ONS national generalised file), so any area of England and Wales is drawn. A unit with
  no polygon at all is drawn as a circle at its ONS population-weighted centroid.
* Every LSOA map also carries the ward outlines with the main places named (the wards with
  most hotspots, then the most populous, never two labels on top of each other) and the
  partnership's outline; a scale bar and a north arrow. Everything is projected to British
  National Grid (EPSG:27700, metres) and drawn with equal aspect; polygons are simplified to
  ``SIMPLIFY_M`` metres. Grid north is within about 2 degrees of true north in England.
* Rates are shaded in up to five classes of natural breaks (Fisher-Jenks, ``jenkspy``), so an
  outlier gets a class of its own rather than lumping 41 with 147, on values rounded to one
  precision for the whole legend (whole numbers when the top class reaches 20, else one
  decimal); a light-to-dark single-hue blue (ColorBrewer Blues, ordered for every kind of
  colour vision and in greyscale). Units without a value are light grey. Hotspots get a white
  halo, a heavy black outline and black hatching: visible without colour.
* Each unit is a ``<g>`` with class ``lsoa polygon`` or ``lsoa centroid`` (``ward ...`` on ward
  maps) and each hotspot overlay a ``<g>`` with class ``hotspot``; their ids end with the code,
  e.g. ``c1a2b3c4-lsoa-polygon-E01013600`` and ``c1a2b3c4-lsoa-hotspot-E01013600`` (the prefix
  keeps ids unique when several maps share a page). Ward outlines are ``ward-outline``, the
  partnership's ``area-outline``.
* The text alternative (``<desc>``, and the PDF figure's alt text) gives the key figures: the
  range, the highest units with their ward, and the hotspots.
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import shapely
from markupsafe import Markup
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, PathPatch
from matplotlib.path import Path as MplPath
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar
from scipy.spatial import cKDTree

from csp import boundaries
from csp.geography import lsoa_lookup
from csp.geometry import to_british_grid
from csp.reports.charts import RC, WIDTH_IN, bands, new_figure, number, to_markup

SIMPLIFY_M = 20.0
CLASSES = 5
NO_VALUE = "#d9d9d9"
EDGE = "#ffffff"
WARD_EDGE = "#404040"
BOUNDARY_LICENCE = ("Boundaries: Office for National Statistics licensed under the Open Government "
                    "Licence v3.0. Contains OS data © Crown copyright and database right 2011–2022.")
MAP_WIDTH_IN = 4.5  # the rest of the width holds the legend
# With its title and source a map is under half an A4 page: one that moves to the next page
# never leaves the last one more than half empty.
MAP_MAX_HEIGHT_IN = 4.0
SCALE_STEPS_KM = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100]
PLACE_LABELS = 8  # ward names on a map: enough to find one's way, few enough to read
DESCRIBED_UNITS = 3  # highest-rate units named in the text alternative


# --- geometry -----------------------------------------------------------------------------


def _project(geometry):
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = to_british_grid(longitude=coords[:, 0], latitude=coords[:, 1])
        return np.column_stack([x, y])
    return shapely.simplify(shapely.transform(geometry, project), SIMPLIFY_M, preserve_topology=True)


@lru_cache(maxsize=64)
def _lsoa_shapes(reference_dir: Path, codes: tuple[str, ...]) -> dict[str, object]:
    held, polygons = boundaries.lsoa_polygons_of(reference_dir, codes)
    return dict(zip(held, (_project(p) for p in polygons), strict=True))


def lsoa_shapes(reference_dir: Path, codes: Iterable[str]) -> dict[str, object]:
    """LSOA code -> polygon in British National Grid metres, simplified, for those of ``codes``
    that csp.boundaries holds (a partnership's set projected once per process)."""
    return _lsoa_shapes(Path(reference_dir), tuple(sorted(codes)))


def ward_shapes(reference_dir: Path, codes: Iterable[str]) -> dict[str, tuple[str, object]]:
    """Ward code -> (name, polygon in BNG metres) for those of ``codes`` that are held."""
    return {code: (name, _project(polygon))
            for code, (name, polygon) in boundaries.ward_polygons_of(Path(reference_dir), list(codes)).items()}


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


def _polygons(geometry):
    for part in getattr(geometry, "geoms", [geometry]):
        if part.geom_type == "Polygon":
            yield part
        elif hasattr(part, "geoms"):  # a collection left by an intersection
            yield from _polygons(part)


def _mpl_path(geometry) -> MplPath:
    rings = []
    for polygon in _polygons(geometry):
        if polygon.geom_type != "Polygon":
            continue
        rings.append(MplPath(np.asarray(polygon.exterior.coords), closed=True))
        rings.extend(MplPath(np.asarray(hole.coords), closed=True) for hole in polygon.interiors)
    return MplPath.make_compound_path(*rings)


# --- classes and decorations --------------------------------------------------------------

def legend_decimals(values: np.ndarray) -> int:
    """One precision for a whole legend: whole numbers once the values reach 20, else one decimal."""
    finite = values[np.isfinite(values)]
    return 0 if finite.size and finite.max() >= 20 else 1


def class_breaks(values: np.ndarray, classes: int = CLASSES, decimals: int | None = None) -> np.ndarray:
    """Natural-breaks (Fisher-Jenks) class edges on the values rounded to ``decimals`` (one
    precision for the whole legend): at most ``classes`` classes, one per distinct value where
    there are no more than that, the outer edges the minimum and maximum so every value falls in
    a class. A class holds the values above the edge before it up to its own edge; the first
    also holds its lower edge."""
    import jenkspy

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 1.0])
    decimals = legend_decimals(finite) if decimals is None else decimals
    rounded = np.round(finite, decimals)
    distinct = np.unique(rounded)
    if distinct.size <= classes:  # a class per distinct value, the first holding the lowest alone
        return np.concatenate([[distinct[0]], distinct])
    edges = np.unique(np.round(np.array(jenkspy.jenks_breaks(rounded, n_classes=classes), dtype=float), decimals))
    if edges.size < 3:  # a heap of ties (mostly zeros): natural breaks on the distinct values
        edges = np.unique(np.round(np.array(jenkspy.jenks_breaks(distinct, n_classes=classes), dtype=float), decimals))
    return edges


def class_labels(values: np.ndarray, edges: np.ndarray, decimals: int) -> list[str]:
    """Each class's lowest and highest value at the legend's precision ('0.0 to 4.9', '5.2 to
    12.3', or '7' for a class of one value), so the legend says what is on the map."""
    index = classify(values, edges, decimals)
    rounded = np.round(values, decimals)
    labels = []
    for k in range(len(edges) - 1):
        members = rounded[index == k]
        if members.size == 0:
            low, high = edges[k], edges[k + 1]
        else:
            low, high = members.min(), members.max()
        labels.append(f"{low:,.{decimals}f}" if low == high else f"{low:,.{decimals}f} to {high:,.{decimals}f}")
    return labels


def classify(values: np.ndarray, edges: np.ndarray, decimals: int) -> np.ndarray:
    """Class index of each value (-1 for a missing value), on the values as the legend rounds them."""
    rounded = np.round(values, decimals)
    index = np.searchsorted(edges[1:-1], rounded, side="left")
    return np.where(np.isfinite(values), index, -1)


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
             source: str, hotspots: Iterable[str] = (), area_codes: Iterable[str] | None = None,
             partnership: str | None = None, unit_names: dict[str, str] | None = None) -> Markup:
    """Rates by LSOA 2011 (``values``: lsoa11_code, value) with ``hotspots`` outlined, the ward
    outlines and main place names over them, and the outline of ``partnership`` (a CSP code;
    the union of the mapped LSOAs where the outline files do not hold it).

    ``area_codes`` restricts the map to those LSOAs (a partnership's), drawing the ones without
    a value in grey; by default every LSOA in ``values`` is drawn. Hotspots outside the mapped
    LSOAs are not drawn. A code with neither a polygon nor a centroid is an error.
    ``unit_names`` (code -> name) names the highest units in the text alternative.
    """
    reference_dir = Path(reference_dir)
    points = lsoa_points(reference_dir)
    units = _units(values, "lsoa11_code", area_codes, points)
    shapes = lsoa_shapes(reference_dir, units["code"])
    ward_of = points.drop_duplicates("code").set_index("code")["ward"]
    wards, outline = _overlays(reference_dir, tuple(units["code"]), partnership or "")
    return _choropleth(units, shapes, "lsoa", "LSOA", title=title, legend_label=legend_label, source=source,
                       hotspots=hotspots, wards=wards, ward_of=ward_of,
                       population=points.set_index("code")["population"],
                       outline=outline, unit_names=unit_names or {})


@lru_cache(maxsize=32)
def _overlays(reference_dir: Path, codes: tuple[str, ...], partnership: str):
    """The ward outlines (cut to the outline: wards and LSOAs are generalised differently) and
    the partnership outline of a set of LSOAs, in BNG metres: the same for every map of a
    partnership, so built once."""
    ward_of = lsoa_points(reference_dir).drop_duplicates("code").set_index("code")["ward"]
    wards = ward_shapes(reference_dir, sorted(set(ward_of.reindex(list(codes)).dropna())))
    outline = boundaries.area_outline(reference_dir, "partnership", partnership, codes)
    outline = None if outline is None else _project(outline)
    if outline is not None:
        wards = {code: (name, shapely.intersection(shape, outline)) for code, (name, shape) in wards.items()}
        wards = {code: ward for code, ward in wards.items() if not ward[1].is_empty}
    return wards, outline


def ward_rate_map(values: pd.DataFrame, reference_dir: Path, *, title: str, legend_label: str,
                  source: str, hotspots: Iterable[str] = (), area_codes: Iterable[str] | None = None) -> Markup:
    """Rates by ward (``values``: ward_code, value; December 2019 ward codes of the ONS lookup),
    from the ward polygons of csp.boundaries, else a circle at the population-weighted mean of
    the ward's LSOA centroids. Rates must be computed on ward totals
    (``csp.analysis.hotspots.rates_per_1000(..., group_col=...)``), never averaged from LSOAs."""
    reference_dir = Path(reference_dir)
    units = _units(values, "ward_code", area_codes, ward_points(reference_dir))
    named = ward_shapes(reference_dir, units["code"])
    return _choropleth(units, {code: shape for code, (_, shape) in named.items()}, "ward", "ward",
                       title=title, legend_label=legend_label, source=source, hotspots=hotspots,
                       unit_names={code: name for code, (name, _) in named.items()})


def _units(values: pd.DataFrame, code_col: str, area_codes, points: pd.DataFrame) -> pd.DataFrame:
    """code, value, x, y (the centroid) of every unit to draw, sorted by code."""
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
    return pd.DataFrame({"code": codes, "value": value.reindex(codes).to_numpy(dtype=float),
                         "x": located["x"].to_numpy(), "y": located["y"].to_numpy()})


def _circle_radius(units: pd.DataFrame, span: float) -> float:
    points = units[["x", "y"]].to_numpy()
    if len(points) < 2:
        return span / 40
    distance, _ = cKDTree(points).query(points, k=2)
    return float(np.clip(0.45 * np.median(distance[:, 1]), span / 250, span / 40))


def _extent(units: pd.DataFrame, polygons: dict, outline) -> tuple[float, float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of everything drawn, padded, and the centroid circle radius."""
    centroids = units[units["kind"] == "centroid"]
    boxes = [shapely.bounds(g) for g in polygons.values()]
    boxes += [(x, y, x, y) for x, y in zip(centroids["x"], centroids["y"], strict=True)]
    if outline is not None:
        boxes.append(shapely.bounds(outline))
    b = np.array(boxes)
    xmin, ymin, xmax, ymax = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    span = max(xmax - xmin, ymax - ymin, 1000.0)
    radius = _circle_radius(centroids, span) if len(centroids) else 0.0
    pad = radius + span * 0.03
    return xmin - pad, xmax + pad, ymin - pad, ymax + pad, radius


def _draw_units(ax, units: pd.DataFrame, polygons: dict, radius: float, colours: list, unit: str,
                hot: set[str]) -> dict[str, str]:
    """Every unit filled by its class, then the hotspots over them; returns gid -> class."""
    classes: dict[str, str] = {}
    # add_artist, not add_patch: the caller sets the limits, so the data limits add_patch
    # would update with every vertex of every polygon are never used (most of a map's time).
    for row in units.itertuples(index=False):
        gid = f"{unit}-{row.kind}-{row.code}"
        classes[gid] = f"{unit} {row.kind}"
        colour = colours[row.klass] if row.klass >= 0 else NO_VALUE
        ax.add_artist(_shape(row, polygons, radius, facecolor=colour, gid=gid, linewidth=0.3,
                             edgecolor=EDGE if row.kind == "polygon" else "#404040"))
    return classes


def _draw_hotspots(ax, units: pd.DataFrame, polygons: dict, radius: float, unit: str, hot: set[str],
                   classes: dict[str, str]) -> None:
    for row in units[units["code"].isin(hot)].itertuples(index=False):
        # a white halo under a heavy hatched black outline: stands out on every shade
        ax.add_artist(_shape(row, polygons, radius, facecolor="none", edgecolor="#ffffff", linewidth=3.4))
        gid = f"{unit}-hotspot-{row.code}"
        classes[gid] = "hotspot"
        ax.add_artist(_shape(row, polygons, radius, facecolor="none", edgecolor="#000000", linewidth=1.7,
                             hatch="////", gid=gid))


def _draw_outline(ax, geometry, gid: str, **style) -> None:
    ax.add_artist(PathPatch(_mpl_path(geometry), facecolor="none", clip_on=False, gid=gid, **style))


def _place_labels(wards: dict, ward_of: pd.Series, population: pd.Series, hot: set[str], span: float) -> list:
    """(name, x, y) of up to PLACE_LABELS wards: those holding most hotspots first, then the
    most populous, each at least an eighth of the map from the last."""
    codes = list(wards)
    hot_count = pd.Series([ward_of.get(code) for code in hot], dtype=object).value_counts()
    people = population.groupby(ward_of.reindex(population.index)).sum()
    order = sorted(codes, key=lambda c: (-int(hot_count.get(c, 0)), -float(people.get(c, 0)), wards[c][0]))
    placed: list[tuple[str, float, float]] = []
    for code in order:
        point = wards[code][1].representative_point()
        if all(np.hypot(point.x - x, point.y - y) > span / 8 for _, x, y in placed):
            placed.append((wards[code][0], point.x, point.y))
        if len(placed) == PLACE_LABELS:
            break
    return placed


def describe(units: pd.DataFrame, labels: list[str], legend_label: str, hot: set[str], unit_name: str,
             names: dict[str, str], decimals: int) -> str:
    """The key figures a reader of the map would take from it, for its text alternative."""
    valued = units[np.isfinite(units["value"])].sort_values(["value", "code"], ascending=[False, True])
    if valued.empty:
        return f"No {unit_name} has a value."
    top = "; ".join(f"{names.get(r.code, r.code)} {r.value:,.{decimals}f}"
                    for r in valued.head(DESCRIBED_UNITS).itertuples())
    words = [f"{legend_label} by {unit_name}, {len(valued)} {unit_name}s, from {valued['value'].min():,.{decimals}f} "
             f"to {valued['value'].max():,.{decimals}f}, in {len(labels)} classes ({'; '.join(labels)}).",
             f"Highest: {top}."]
    if hot:
        shown = sorted(hot, key=lambda c: names.get(c, c))
        words.append(f"{len(hot)} significant hotspot{'s' if len(hot) != 1 else ''}: "
                     + ", ".join(names.get(c, c) for c in shown[:8]) + (", ..." if len(shown) > 8 else "") + ".")
    else:
        words.append("No significant hotspot.")
    return " ".join(words)


def _choropleth(units: pd.DataFrame, shapes: dict, unit: str, unit_name: str, *, title: str, legend_label: str,
                source: str, hotspots: Iterable[str], wards: dict | None = None, ward_of: pd.Series | None = None,
                population: pd.Series | None = None, outline=None, unit_names: dict[str, str]) -> Markup:
    units = units.copy()
    units["kind"] = np.where(units["code"].isin(list(shapes)), "polygon", "centroid")
    lost = units[(units["kind"] == "centroid") & units["x"].isna()]["code"].tolist()
    if lost:
        raise ValueError(f"no boundary and no centroid for {len(lost)} codes, e.g. {lost[:5]}")
    hot = set(hotspots) & set(units["code"])
    polygons = {code: shapes[code] for code in units.loc[units["kind"] == "polygon", "code"]}
    xmin, xmax, ymin, ymax, radius = _extent(units, polygons, outline)
    span = max(xmax - xmin, ymax - ymin)

    values = units["value"].to_numpy(dtype=float)
    decimals = legend_decimals(values)
    edges = class_breaks(values, decimals=decimals)
    labels = class_labels(values, edges, decimals)
    units["klass"] = classify(values, edges, decimals)
    colours = [matplotlib.colors.to_hex(c) for c in matplotlib.colormaps["Blues"](np.linspace(0.12, 0.92, len(labels)))]

    licence = "" if "crown copyright" in source.lower() else f" {BOUNDARY_LICENCE}"
    note = (f" Circles: {unit_name}s with no boundary in the reference data, at their population-"
            "weighted centroid." if (units["kind"] == "centroid").any() else "")
    full_source = f"{source.rstrip('.')}.{licence}{note}"

    map_h = float(np.clip(MAP_WIDTH_IN * (ymax - ymin) / (xmax - xmin), 2.8, MAP_MAX_HEIGHT_IN))
    top, bottom = bands(title, full_source)
    total = map_h + top + bottom

    def box(left_in: float, bottom_in: float, width_in: float, height_in: float) -> list[float]:
        return [left_in / WIDTH_IN, bottom_in / total, width_in / WIDTH_IN, height_in / total]

    names = dict(unit_names)
    if wards and ward_of is not None:
        ward_names = {code: name for code, (name, _) in wards.items()}
        names = {code: names.get(code, f"{code} ({ward_names.get(ward_of.get(code), '')})".replace(" ()", ""))
                 for code in units["code"]}
    with matplotlib.rc_context(RC):
        fig = new_figure(map_h, title=title, source=full_source, constrained=False)
        ax = fig.add_axes(box(0.05, bottom, MAP_WIDTH_IN, map_h))
        classes = _draw_units(ax, units, polygons, radius, colours, unit, hot)
        if wards:
            for code, (_, geometry) in sorted(wards.items()):
                _draw_outline(ax, geometry, f"ward-outline-{code}", edgecolor=WARD_EDGE, linewidth=0.55)
                classes[f"ward-outline-{code}"] = "ward-outline"
        _draw_hotspots(ax, units, polygons, radius, unit, hot, classes)
        if outline is not None:
            _draw_outline(ax, outline, "area-outline", edgecolor="#000000", linewidth=1.5)
            classes["area-outline"] = "area-outline"
        if wards:
            # a pale box behind each name (a stroked halo would turn the text into paths,
            # which neither a screen reader nor a PDF search can read)
            box_style = {"boxstyle": "round,pad=0.12", "facecolor": "#ffffff", "edgecolor": "none", "alpha": 0.8}
            for name, x, y in _place_labels(wards, ward_of, population, hot, span):
                ax.text(x, y, name, fontsize=6.5, ha="center", va="center", color="#000000",
                        bbox=box_style, gid="place-label")
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_aspect("equal", anchor="NW")
        ax.set_axis_off()
        _decorate(ax, xmax - xmin)
        handles = [Patch(facecolor=c, edgecolor="#808080", linewidth=0.3, label=label)
                   for c, label in zip(colours, labels, strict=True)]
        extra = []
        if hot:
            extra.append(Patch(facecolor="none", edgecolor="#000000", hatch="////", linewidth=1.7,
                               label="Hotspot (Gi*)"))
        if not np.isfinite(values).all():
            extra.append(Patch(facecolor=NO_VALUE, edgecolor="#404040", linewidth=0.35, label="No value"))
        if (units["kind"] == "centroid").any():
            extra.append(Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor=colours[-1],
                                markeredgecolor="#404040", label=f"{unit_name[:1].upper()}{unit_name[1:]} centroid"))
        if wards:
            extra.append(Line2D([], [], color=WARD_EDGE, linewidth=0.8, label="Ward boundary"))
        if outline is not None:
            extra.append(Line2D([], [], color="#000000", linewidth=1.5, label="Partnership boundary"))
        legend = fig.legend(handles=handles, loc="upper left", fontsize=7.5, handlelength=1.6, handleheight=1.1,
                            title=legend_label, title_fontsize=7.5, alignment="left",
                            bbox_to_anchor=box(MAP_WIDTH_IN + 0.3, bottom + map_h, 0, 0)[:2])
        legend._legend_box.align = "left"
        if extra:
            fig.legend(handles=extra, loc="upper left", fontsize=7.5, handlelength=1.6, handleheight=1.1,
                       bbox_to_anchor=box(MAP_WIDTH_IN + 0.3, bottom + map_h - 0.5 - 0.2 * len(handles), 0, 0)[:2])
    description = describe(units, labels, legend_label, hot, unit_name, names, decimals)
    return to_markup(fig, title=title, source=full_source, classes=classes, description=description)


def _shape(row, polygons: dict, radius: float, **style):
    # Not clipped to the axes: the extent holds every unit already, and a clip path on each of
    # hundreds of units is work for every SVG renderer (most of a map's PDF layout).
    style.setdefault("clip_on", False)
    if row.kind == "polygon":
        return PathPatch(_mpl_path(polygons[row.code]), **style)
    return Circle((row.x, row.y), radius, **style)
