"""Charts for the reports, as inline SVG (markupsafe.Markup) ready for an autoescaping Jinja2
template: every chart has a title, labelled axes with units and a source line.

Form
----
* matplotlib's object-oriented API (no pyplot, so no global figure state and no GUI backend),
  saved as SVG with ``svg.fonttype = 'none'``: text stays text, so it is searchable in the PDF,
  read by screen readers and small. It is laid out with DejaVu Sans metrics; WeasyPrint and
  Chromium use the same installed DejaVu Sans, so both render identically. Viewers without it
  fall back to Arial or Helvetica, which are narrower, so labels keep clear of each other.
* Deterministic: a fixed ``svg.hashsalt`` and no date in the metadata give byte-identical
  output for identical input.
* Self-contained: the XML prolog, doctype and RDF metadata (which carry URLs) are stripped; the
  only references left are ``#id`` links inside the same SVG. Every id is prefixed with a hash of
  the chart, so several charts inlined in one HTML page never share an id.
* Accessible: ``role="img"``, ``aria-label`` and a ``<title>`` give the chart title, a
  ``<desc>`` the source; categories use the Okabe-Ito palette and also differ by marker shape,
  so no distinction depends on colour alone.
* Sized for an A4 page: 17 cm wide (the text width inside 2 cm margins), scaled down on
  narrower screens by ``max-width: 100%``.
"""
from __future__ import annotations

import hashlib
import io
import re
import textwrap
from collections.abc import Iterable, Sequence

import matplotlib
import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from matplotlib import ticker
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

matplotlib.use("Agg")  # never a GUI backend on a scheduler worker

WIDTH_IN = 17 / 2.54  # A4 text width (21 cm less two 2 cm margins)
FONT = "DejaVu Sans"
FONT_STACK = "'DejaVu Sans', Arial, Helvetica, sans-serif"
TITLE_WRAP = 70  # characters per line of the 11 pt bold title across 17 cm
SOURCE_WRAP = 115  # characters per line of the 7 pt source line

# Okabe & Ito (2008) colour-blind-safe palette, ordered for lines on white (yellow last).
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
BLUE, ORANGE, VERMILLION, GREY = "#0072B2", "#E69F00", "#D55E00", "#595959"
MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "csp-reports",
    "font.family": FONT,
    "font.size": 8.5,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#d9d9d9",
    "grid.linewidth": 0.5,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "figure.facecolor": "white",
    "path.simplify": True,
}


# --- shared figure plumbing (maps.py uses it too) -----------------------------------------

def bands(title: str, source: str) -> tuple[float, float]:
    """Heights in inches of the title band (top) and the source band (foot) of a figure."""
    title_lines = wrap(title).count("\n") + 1
    source_lines = wrap(f"Source: {source}", SOURCE_WRAP).count("\n") + 1
    return 0.14 + 0.2 * title_lines, 0.1 + 0.125 * source_lines


def new_figure(plot_height_in: float, *, title: str, source: str, constrained: bool = True) -> Figure:
    """A white A4-width figure: the title (wrapped, bold, left-aligned) in a band across the top,
    the source line in a band at the foot, ``plot_height_in`` inches between them. With
    ``constrained`` the axes are laid out in that middle band by constrained layout; without,
    the caller places them (see ``bands``)."""
    top, bottom = bands(title, source)
    total = plot_height_in + top + bottom
    fig = Figure(figsize=(WIDTH_IN, total), layout="constrained" if constrained else None)
    fig.text(0.01, 1 - 0.06 / total, wrap(title), ha="left", va="top", fontsize=11,
             fontweight="bold", gid="title")
    fig.text(0.01, 0.05 / total, wrap(f"Source: {source}", SOURCE_WRAP), ha="left", va="bottom",
             fontsize=7, color="#404040", linespacing=1.35, gid="source")
    if constrained:
        fig.get_layout_engine().set(rect=(0, bottom / total, 1, plot_height_in / total),
                                    h_pad=0.04, w_pad=0.04)
    return fig


def wrap(text: str, width: int = TITLE_WRAP) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def to_markup(fig: Figure, *, title: str, source: str, classes: dict[str, str] | None = None,
              description: str = "") -> Markup:
    """The figure as one inline ``<svg>`` element (see the module docstring). ``description``
    (the key figures, in words) goes into the ``<desc>`` before the source: the chart's text
    alternative in the HTML, and with the title its alt text in the PDF.

    ``classes`` maps a gid given to an artist to the class attribute its ``<g>`` gets, so a
    template, a stylesheet or a test can find e.g. every hotspot without relying on colour.
    """
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    svg = svg.replace("font-family: 'DejaVu Sans'", f"font-family: {FONT_STACK}")
    svg = _round_path_data(svg)
    for gid, cls in (classes or {}).items():
        svg = svg.replace(f'<g id="{gid}">', f'<g id="{gid}" class="{cls}">', 1)
    prefix = "c" + hashlib.sha256(svg.encode()).hexdigest()[:8]
    svg = _prefix_ids(svg, prefix)
    label = escape(title)
    # matplotlib's stylesheet selects every element ("*{...}"): scoped to this SVG it cannot
    # restyle anything else on the page.
    svg = svg.replace('<style type="text/css">*{', f'<style type="text/css">#{prefix} *{{', 1)
    head = (f'<svg id="{prefix}" role="img" aria-label="{label}" '
            'style="max-width: 100%; height: auto" ')
    svg = svg.replace("<svg ", head, 1)
    opening_end = svg.index(">") + 1
    desc = f"{description.strip()} Source: {source}".strip()
    svg = (svg[:opening_end] + f"\n <title>{label}</title>\n <desc>{escape(desc)}</desc>"
           + svg[opening_end:])
    return Markup(svg.strip())


_NUMBER = re.compile(r"-?\d+\.\d+")


def _round_path_data(svg: str) -> str:
    """Two decimals of a point (0.0035 mm) and single spaces in path data: invisible, and
    about a third smaller."""
    def shorten(match: re.Match) -> str:
        data = _NUMBER.sub(lambda n: f"{float(n.group()):.2f}".rstrip("0").rstrip("."), match.group())
        return re.sub(r"\s+", " ", data)
    return re.sub(r' d="[^"]*"', shorten, svg)


def _prefix_ids(svg: str, prefix: str) -> str:
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{prefix}-\1"', svg)
    return re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", svg)


def number(value: float) -> str:
    """1,234 for whole numbers, 3.46 otherwise (two decimals at most)."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _months(values) -> np.ndarray:
    series = pd.Series(values)
    if isinstance(series.dtype, pd.PeriodDtype):
        series = series.dt.to_timestamp()
    return pd.to_datetime(series).dt.to_period("M").dt.to_timestamp().to_numpy()


def _month_axis(ax) -> None:
    locator = AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))
    ax.set_xlabel("Month")


def _flags(column: pd.Series) -> np.ndarray:
    """True / False from booleans, or from 'true' / 'false' text as a warehouse may return them;
    missing is False."""
    if pd.api.types.is_bool_dtype(column):
        return column.fillna(False).to_numpy(dtype=bool)
    return column.map(lambda v: str(v).strip().lower() in {"true", "t", "1", "yes"}).to_numpy(dtype=bool)


def _need(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = sorted(set(columns) - set(frame.columns))
    if missing:
        raise ValueError(f"{what}: frame lacks columns {missing}")


# --- the charts ---------------------------------------------------------------------------

def monthly_series(frame: pd.DataFrame, *, title: str, y_label: str, source: str,
                   x: str = "month", y: str = "events", group: str | None = None,
                   assessed_from=None) -> Markup:
    """Monthly counts as a line (Okabe-Ito colours and distinct markers), several rows of a
    month (and group) summed, on a whole-number axis. With ``assessed_from`` (the first month
    of the assessed 12 months) that stretch is shaded and labelled. A series of 13 months or
    more also gets its rolling 12-month average (the mean month of the 12 months to each
    month), the line the text's 12 months against 12 months compares. With ``group`` each
    group gets its own panel and its own axis (small multiples), so a series of 15 a month is
    never flattened under one of 150."""
    _need(frame, [x, y] + ([group] if group else []), "monthly_series")
    if frame.empty:
        raise ValueError("monthly_series: no rows to chart")
    data = pd.DataFrame({"month": _months(frame[x]), "value": pd.to_numeric(frame[y]).to_numpy(),
                         "group": frame[group].astype(str).to_numpy() if group else ""})
    data = data.groupby(["group", "month"], sort=True)["value"].sum().reset_index()
    names = list(dict.fromkeys(data["group"]))
    assessed = (None if assessed_from is None
                else np.datetime64(pd.Timestamp(assessed_from).to_period("M").to_timestamp()))
    with matplotlib.rc_context(RC):
        panels = len(names)
        columns = 1 if panels == 1 else 2
        rows_n = -(-panels // columns)
        fig = new_figure(2.1 if panels == 1 else 1.45 * rows_n, title=title, source=source)
        axes = np.atleast_1d(fig.subplots(rows_n, columns, squeeze=False, sharex=True)).ravel()
        for k, name in enumerate(names):
            ax, rows = axes[k], data[data["group"] == name]
            if assessed is not None:
                ax.axvspan(assessed - np.timedelta64(15, "D"), rows["month"].max() + np.timedelta64(15, "D"),
                           color="#e8eef5", linewidth=0, zorder=0,
                           label="Assessed 12 months" if k == 0 else None)
            colour = OKABE_ITO[0] if panels == 1 else OKABE_ITO[k % 8]
            ax.plot(rows["month"], rows["value"], color=colour, marker=MARKERS[0 if panels == 1 else k % 8],
                    markersize=3 if panels == 1 else 2.2, linewidth=1.4, label="Events in the month",
                    gid=f"series-{k}")
            rolling = rows.set_index("month")["value"].rolling(12).mean().dropna()
            if len(rows) >= 13 and not rolling.empty:
                ax.plot(rolling.index, rolling.to_numpy(), color="#000000", linewidth=1.6, linestyle="-",
                        label="Rolling 12-month average", gid=f"rolling-{k}")
            _month_axis(ax)
            if panels > 1:
                ax.set_title(name, fontsize=8.5, fontweight="bold", loc="left")
                ax.set_xlabel("")
                ax.tick_params(labelbottom=True)
            _count_axis(ax, rows["value"].max())
        for ax in axes[panels:]:
            ax.set_visible(False)
        if panels == 1:
            axes[0].set_ylabel(y_label)
            axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            fig.supylabel(y_label, fontsize=8.5)
            handles, labels = axes[0].get_legend_handles_labels()
            fig.legend(handles, labels, loc="outside upper center", ncols=3, fontsize=7.5)
    return to_markup(fig, title=title, source=source, description=describe_series(data, names, assessed))


def _count_axis(ax, top: float) -> None:
    """A count axis from 0 in whole numbers (no 0.5 of an incident), thousands separated."""
    ax.set_ylim(bottom=0, top=max(float(top) * 1.08, 4))
    ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=5, integer=True, min_n_ticks=3))
    ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))


def describe_series(data: pd.DataFrame, names: list[str], assessed) -> str:
    """Per series: the assessed 12 months' total against the 12 before (or the whole span),
    and its highest and lowest month."""
    words = []
    for name in names:
        rows = data[data["group"] == name].set_index("month")["value"]
        label = f"{name}: " if name else ""
        if assessed is not None:
            current = rows[rows.index >= assessed]
            before = rows[(rows.index < assessed) & (rows.index >= assessed - np.timedelta64(365, "D"))]
            span = f"{number(current.sum())} in the assessed 12 months"
            if len(before):
                span += f" against {number(before.sum())} in the 12 before"
        else:
            current = rows
            span = f"{number(rows.sum())} over {len(rows)} months"
        if current.empty:  # a series with no month in the assessed window
            words.append(f"{label}{span}.")
            continue
        high, low = current.idxmax(), current.idxmin()
        words.append(f"{label}{span}; highest month {pd.Timestamp(high):%B %Y} ({number(current[high])}), "
                     f"lowest {pd.Timestamp(low):%B %Y} ({number(current[low])}).")
    return " ".join(words)


CONTROL_COLUMNS = ["month", "events", "expected", "lcl2", "ucl2", "lcl3", "ucl3", "signal"]


def control_chart(frame: pd.DataFrame, *, title: str, source: str) -> Markup:
    """The monthly series of ``csp.analysis.control.control_chart(...).frame`` with its centre
    line (``expected``: flat, or seasonal month by month), the 2 and 3 sigma limits and the
    months flagged by a run rule (``signal``) marked with a large diamond."""
    _need(frame, CONTROL_COLUMNS, "control_chart")
    if frame.empty:
        raise ValueError("control_chart: empty frame (the control chart was refused; "
                         "show its reason instead)")
    month = _months(frame["month"])
    signal = _flags(frame["signal"])
    with matplotlib.rc_context(RC):
        fig = new_figure(3.2, title=title, source=source)
        ax = fig.subplots()
        ax.fill_between(month, frame["lcl3"], frame["ucl3"], color="#eef3f8", linewidth=0,
                        label="Within 3 sigma")
        ax.plot(month, frame["ucl3"], color=GREY, linestyle=":", linewidth=1.1, label="3 sigma limits")
        ax.plot(month, frame["lcl3"], color=GREY, linestyle=":", linewidth=1.1)
        ax.plot(month, frame["ucl2"], color=GREY, linestyle="--", linewidth=0.9, label="2 sigma limits")
        ax.plot(month, frame["lcl2"], color=GREY, linestyle="--", linewidth=0.9)
        ax.plot(month, frame["expected"], color="#000000", linewidth=1.2, label="Expected (centre line)")
        ax.plot(month, frame["events"], color=BLUE, marker="o", markersize=3.2, linewidth=1.5,
                label="Events", gid="events")
        if signal.any():
            ax.plot(month[signal], frame["events"].to_numpy()[signal], linestyle="none", marker="D",
                    markersize=7.5, markerfacecolor=VERMILLION, markeredgecolor="#000000",
                    markeredgewidth=0.8, label="Signal (run rule)", gid="signals")
        _month_axis(ax)
        ax.set_ylabel("Events per month")
        _count_axis(ax, max(frame["events"].max(), frame["ucl3"].max()))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), handlelength=2.4)
    return to_markup(fig, title=title, source=source)


def seasonal_profile(frame: pd.DataFrame, *, title: str, source: str) -> Markup:
    """Seasonal index by month of year (``csp.analysis.seasonality.seasonal_index``): bars
    around the average month (1.0) for one theme, one line per theme for several."""
    _need(frame, ["month_of_year", "index"], "seasonal_profile")
    data = frame.dropna(subset=["index"])
    if data.empty:
        raise ValueError("seasonal_profile: no seasonal index (no complete calendar year)")
    themes = sorted(data["theme"].unique()) if "theme" in data.columns else [None]
    with matplotlib.rc_context(RC):
        fig = new_figure(2.7, title=title, source=source)
        ax = fig.subplots()
        if len(themes) == 1:
            rows = data.sort_values("month_of_year")
            bars = ax.bar(rows["month_of_year"], rows["index"] - 1.0, bottom=1.0, width=0.7, color=BLUE)
            for bar, month in zip(bars, rows["month_of_year"], strict=True):
                bar.set_gid(f"month-{int(month)}")
        else:
            for k, theme in enumerate(themes):
                rows = data[data["theme"] == theme].sort_values("month_of_year")
                ax.plot(rows["month_of_year"], rows["index"], color=OKABE_ITO[k % 8],
                        marker=MARKERS[k % 8], markersize=4, linewidth=1.5, label=str(theme))
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.axhline(1.0, color="#000000", linewidth=0.9)
        ax.set_xticks(range(1, 13), MONTH_ABBR)
        ax.set_xlim(0.4, 12.6)
        ax.set_xlabel("Month of year")
        ax.set_ylabel("Seasonal index (1.0 = average month)")
        ax.grid(axis="x", visible=False)
    return to_markup(fig, title=title, source=source)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str, x_label: str,
              source: str, highlight: str | Iterable[str] | None = None) -> Markup:
    """Horizontal bars, first label at the top, each bar labelled with its value. ``highlight``
    (one label or several) is drawn in orange, hatched and with a bold label."""
    labels = [str(label) for label in labels]
    values = [float(v) for v in values]
    if len(labels) != len(values):
        raise ValueError(f"bar_chart: {len(labels)} labels but {len(values)} values")
    if not labels:
        raise ValueError("bar_chart: no bars to chart")
    marked = {highlight} if isinstance(highlight, str) else set(highlight or ())
    unknown = sorted(marked - set(labels))
    if unknown:
        raise ValueError(f"bar_chart: highlight {unknown} is not among the labels")
    n = len(labels)
    with matplotlib.rc_context(RC):
        fig = new_figure(0.6 + 0.27 * n, title=title, source=source)
        ax = fig.subplots()
        positions = np.arange(n)[::-1]
        for i, (pos, label, value) in enumerate(zip(positions, labels, values, strict=True)):
            hot = label in marked
            ax.barh(pos, value, height=0.7, color=ORANGE if hot else BLUE,
                    hatch="///" if hot else None, edgecolor="#000000" if hot else "none",
                    linewidth=0.6, gid=f"bar-{i}")
            ax.annotate(number(value), (value, pos), xytext=(3 if value >= 0 else -3, 0),
                        textcoords="offset points", va="center",
                        ha="left" if value >= 0 else "right", fontsize=7.5)
        ax.set_yticks(positions, [wrap(label, 40) for label in labels])
        for tick, label in zip(ax.get_yticklabels(), labels, strict=True):
            if label in marked:
                tick.set_fontweight("bold")
        ax.set_xlabel(x_label)
        ax.xaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,g}"))
        ax.grid(axis="y", visible=False)
        ax.margins(x=0.08)
        if min(values) < 0:
            ax.axvline(0, color="#000000", linewidth=0.8)
    return to_markup(fig, title=title, source=source)
