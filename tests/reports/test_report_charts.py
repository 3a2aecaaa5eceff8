"""Charts and maps for the reports (csp.reports.charts, csp.reports.maps): one well-formed,
self-contained, deterministic SVG each, with title, axis labels, units and source; maps with
polygons where the reference data holds them, centroid circles elsewhere and hotspots styled
apart; and WeasyPrint renders them into a PDF whose text holds the titles."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from markupsafe import Markup

from csp.analysis.control import control_chart as analyse_control
from csp.analysis.seasonality import seasonal_index
from csp.reports import charts, maps

SVG = "{http://www.w3.org/2000/svg}"
LEICESTER_LSOA = "E01013600"  # Leicester 003A, in lsoa11_boundaries_E06000016_Leicester.geojson
LEICESTER = "E22000168"
CHARNWOOD = "E22000165"  # a Leicestershire district the reference data has no polygons for


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    text = str(markup)
    assert text.startswith("<svg ") and text.endswith("</svg>")
    assert text.count("<svg") == 1
    return ET.fromstring(text)


def texts(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def assert_self_contained(markup: Markup) -> None:
    text = str(markup)
    assert "<?xml" not in text and "<!DOCTYPE" not in text
    assert 'href="http' not in text and "@import" not in text and "<image" not in text
    assert re.findall(r'href="(?!#)', text) == []
    assert re.findall(r"url\((?!#)", text) == []
    # every internal reference resolves inside this SVG
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    refs = set(re.findall(r'href="#([^"]+)"', text)) | set(re.findall(r"url\(#([^)]+)\)", text))
    assert refs <= ids


def assert_titled(root: ET.Element, title: str, source: str) -> None:
    assert root.get("role") == "img"
    assert root.get("aria-label") == title
    assert root.find(f"{SVG}title").text == title
    assert any(title in t for t in texts(root))
    assert any(f"Source: {source}" in " ".join(t.split("\n")) for t in texts(root)) or \
        source in " ".join(" ".join(texts(root)).split())


def groups(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == cls]


def code_of(group: ET.Element) -> str:
    return group.get("id").rsplit("-", 1)[1]


def monthly(n=48, seed=1, spike_at=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    months = pd.date_range("2021-01-01", periods=n, freq="MS")
    events = rng.poisson(40 + 10 * np.sin(np.arange(n) / 12 * 2 * np.pi))
    if spike_at is not None:
        events[spike_at] = 120
    return pd.DataFrame({"month": months, "events": events})


# --- charts --------------------------------------------------------------------------------

def test_monthly_series_one_panel_per_group_each_on_its_own_whole_number_axis():
    small = monthly(seed=2).assign(events=lambda f: f["events"] // 12, theme="Hate")  # about 3 a month
    frame = pd.concat([monthly().assign(theme="Violence", events=lambda f: f["events"] * 4), small])
    title = "Violence & hate: events per month, <Leicester>"
    svg = charts.monthly_series(frame, title=title, y_label="Events per month",
                                source="Partner returns", group="theme", assessed_from="2024-01-01")
    root = parse(svg)
    assert_self_contained(svg)
    assert_titled(root, title, "Partner returns")
    labels = texts(root)
    assert "Events per month" in labels
    assert {"Hate", "Violence", "Assessed 12 months", "Rolling 12-month average"} <= set(labels)
    ids = [g.get("id").split("-", 1)[1] for g in root.iter(f"{SVG}g") if g.get("id")]
    assert sorted(i for i in ids if i.startswith("series-")) == ["series-0", "series-1"]
    # every tick of a count axis is a whole number, and the small series is not flattened:
    # its own axis tops out near its own maximum
    ticks = [t for t in labels if re.fullmatch(r"[\d,]+(\.\d+)?", t)]
    assert ticks and all("." not in t for t in ticks)
    assert max(int(t.replace(",", "")) for t in ticks if int(t.replace(",", "")) < 40) <= 2 * small["events"].max() + 2


def test_monthly_series_shows_the_assessed_year_and_the_rolling_12_months():
    frame = monthly(n=36)
    svg = charts.monthly_series(frame, title="Burglary", y_label="Events per month", source="s",
                                assessed_from=frame["month"].iloc[24])
    root = parse(svg)
    ids = [g.get("id").split("-", 1)[1] for g in root.iter(f"{SVG}g") if g.get("id")]
    assert "rolling-0" in ids
    desc = root.find(f"{SVG}desc").text
    assessed, before = frame["events"].iloc[24:].sum(), frame["events"].iloc[12:24].sum()
    assert f"{assessed:,} in the assessed 12 months against {before:,} in the 12 before" in desc


def test_monthly_series_sums_rows_of_a_month_and_accepts_string_months():
    frame = pd.DataFrame({"month": ["2024-01", "2024-01", "2024-02", "2024-03"], "events": [2, 3, 7, 1]})
    root = parse(charts.monthly_series(frame, title="t", y_label="Events per month", source="s"))
    line = next(g for g in root.iter(f"{SVG}g") if g.get("id", "").endswith("series-0"))
    path = line.find(f"{SVG}path")
    assert len(re.findall(r"[ML] ", path.get("d"))) == 3  # three months, January summed


def test_control_chart_marks_every_signal_with_its_own_shape():
    result = analyse_control(monthly(spike_at=40))
    assert result.refused is None
    signals = int(result.frame["signal"].sum())
    assert signals >= 1 and result.frame.loc[40, "beyond_3sigma"]
    title = "Violence: control chart, Leicester"
    svg = charts.control_chart(result.frame, title=title, source="Partner returns")
    root = parse(svg)
    assert_self_contained(svg)
    assert_titled(root, title, "Partner returns")
    labels = texts(root)
    assert {"Month", "Events per month", "Signal (run rule)", "Expected (centre line)",
            "2 sigma limits", "3 sigma limits"} <= set(labels)
    marked = next(g for g in root.iter(f"{SVG}g") if g.get("id", "").endswith("-signals"))
    assert len(marked.findall(f".//{SVG}use")) == signals


def test_control_chart_without_signals_has_no_signal_marks():
    frame = analyse_control(pd.DataFrame({"month": pd.date_range("2022-01-01", periods=24, freq="MS"),
                                          "events": [50] * 24})).frame
    assert not frame["signal"].any()
    root = parse(charts.control_chart(frame, title="Flat", source="s"))
    assert not any(g.get("id", "").endswith("-signals") for g in root.iter(f"{SVG}g"))
    assert "Signal (run rule)" not in texts(root)


def test_control_chart_refuses_empty_or_malformed_frames():
    refused = analyse_control(monthly(n=6))
    assert refused.refused
    with pytest.raises(ValueError, match="refused"):
        charts.control_chart(refused.frame, title="t", source="s")
    with pytest.raises(ValueError, match=r"\['signal', 'ucl3'\]"):
        charts.control_chart(pd.DataFrame(columns=["month", "events", "expected", "lcl2", "ucl2", "lcl3"]),
                             title="t", source="s")


def test_seasonal_profile_has_twelve_months():
    index = seasonal_index(monthly().assign(theme="violence"))
    title = "Violence: seasonal profile"
    svg = charts.seasonal_profile(index, title=title, source="Partner returns")
    root = parse(svg)
    assert_self_contained(svg)
    assert_titled(root, title, "Partner returns")
    labels = texts(root)
    assert labels.count("Jan") == 1 and "Dec" in labels
    assert {"Month of year", "Seasonal index (1.0 = average month)"} <= set(labels)
    bars = [g.get("id").split("-", 1)[1] for g in root.iter(f"{SVG}g") if "-month-" in g.get("id", "")]
    assert bars == [f"month-{m}" for m in range(1, 13)]


def test_control_chart_reads_text_flags_from_a_warehouse():
    frame = analyse_control(monthly(spike_at=40)).frame
    as_text = frame.assign(signal=frame["signal"].map({True: "true", False: "false"}))
    signals = int(frame["signal"].sum())
    root = parse(charts.control_chart(as_text, title="t", source="s"))
    marked = next(g for g in root.iter(f"{SVG}g") if g.get("id", "").endswith("-signals"))
    assert len(marked.findall(f".//{SVG}use")) == signals


def test_seasonal_profile_of_several_themes_draws_one_line_each():
    index = seasonal_index(pd.concat([monthly().assign(theme="violence"), monthly(seed=5).assign(theme="asb")]))
    root = parse(charts.seasonal_profile(index, title="Seasonal profiles", source="s"))
    assert {"violence", "asb"} <= set(texts(root))
    assert not any("-month-" in g.get("id", "") for g in root.iter(f"{SVG}g"))


def test_seasonal_profile_without_a_complete_year_is_refused():
    index = seasonal_index(monthly(n=10).assign(theme="violence"))
    with pytest.raises(ValueError, match="no complete calendar year"):
        charts.seasonal_profile(index, title="t", source="s")


def test_bar_chart_orders_labels_top_down_and_marks_the_highlight_without_colour():
    labels = ["Violence against the person", "Anti-social behaviour", "Drugs"]
    svg = charts.bar_chart(labels, [12.5, 8, 3.25], title="Priority scores", x_label="Score (points)",
                           source="Priority matrix", highlight="Anti-social behaviour")
    root = parse(svg)
    assert_self_contained(svg)
    assert_titled(root, "Priority scores", "Priority matrix")
    assert {"Score (points)", "12.5", "8", "3.25"} <= set(texts(root))
    tick_text = [el for el in root.iter(f"{SVG}text") if el.text in labels]
    by_height = sorted(tick_text, key=lambda el: float(el.get("y")))
    assert [el.text for el in by_height] == labels  # first label at the top
    bold = [el.text for el in tick_text if "font-weight: 700" in el.get("style", "")
            or "bold" in el.get("style", "")]
    assert bold == ["Anti-social behaviour"]
    hatched = [g for g in root.iter(f"{SVG}g") if re.search(r"-bar-\d+$", g.get("id", ""))
               and "fill: url(#" in ET.tostring(g, encoding="unicode")]
    assert [g.get("id").rsplit("-", 1)[1] for g in hatched] == ["1"]  # bars numbered in label order


def test_bar_chart_rejects_inconsistent_input():
    with pytest.raises(ValueError, match="2 labels but 1 values"):
        charts.bar_chart(["a", "b"], [1], title="t", x_label="x", source="s")
    with pytest.raises(ValueError, match="not among the labels"):
        charts.bar_chart(["a"], [1], title="t", x_label="x", source="s", highlight="z")


def test_matplotlib_stylesheet_is_scoped_to_its_own_svg():
    svg = str(charts.monthly_series(monthly(), title="A", y_label="Events per month", source="s"))
    root_id = ET.fromstring(svg).get("id")
    assert re.findall(r"<style[^>]*>([^<]*)</style>",
                      svg) == [f"#{root_id} *{{stroke-linejoin: round; stroke-linecap: butt}}"]


def test_charts_are_deterministic_and_ids_differ_between_charts():
    frame = monthly()
    first = charts.monthly_series(frame, title="A", y_label="Events per month", source="s")
    again = charts.monthly_series(frame.copy(), title="A", y_label="Events per month", source="s")
    other = charts.monthly_series(frame, title="B", y_label="Events per month", source="s")
    assert str(first) == str(again)
    assert set(re.findall(r'\bid="([^"]+)"', str(first))).isdisjoint(re.findall(r'\bid="([^"]+)"', str(other)))


# --- maps ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lookup(reference_dir):
    from csp.geography import lsoa_lookup
    return lsoa_lookup(reference_dir)


def rates(codes, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"lsoa11_code": codes, "value": rng.gamma(2.0, 10.0, len(codes))})


def fill(group: ET.Element) -> str:
    return re.search(r"fill: (#[0-9a-f]{6})", group.find(f"{SVG}path").get("style")).group(1)


def lightness(colour: str) -> float:
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_class_breaks_cover_every_value_at_one_precision():
    values = np.random.default_rng(0).gamma(2.0, 10.0, 500)
    edges = maps.class_breaks(values)
    assert len(edges) == 6 and np.all(np.diff(edges) > 0)
    assert edges[0] == round(values.min()) and edges[-1] == round(values.max())
    labels = maps.class_labels(values, edges, maps.legend_decimals(values))
    assert all(re.fullmatch(r"\d+ to \d+", label) for label in labels), labels  # whole numbers throughout
    small = np.array([0.4, 1.26, 2.5, 3.0, 4.75, 6.1, 8.0])
    assert all(re.fullmatch(r"\d+\.\d to \d+\.\d|\d+\.\d", label)
               for label in maps.class_labels(small, maps.class_breaks(small), 1))  # one decimal throughout
    assert maps.class_labels(np.array([4.0, 4.0]), maps.class_breaks(np.array([4.0, 4.0])), 1) == ["4.0"]
    ties = np.array([0.0] * 80 + [1.0, 2.0])
    assert maps.class_labels(ties, maps.class_breaks(ties), 1) == ["0.0", "1.0", "2.0"]
    assert list(maps.class_breaks(np.array([np.nan]))) == [0.0, 1.0]


def test_an_outlier_gets_a_class_of_its_own():
    """Natural breaks: the 147 of one town-centre LSOA is not lumped with the 41 of the next."""
    values = np.array([3, 5, 6, 8, 9, 11, 12, 14, 15, 18, 20, 22, 25, 28, 30, 33, 38, 41, 147.0])
    labels = maps.class_labels(values, maps.class_breaks(values), 0)
    assert labels[-1] == "147"


def test_leicester_map_draws_polygons_outlines_hotspots_and_shades_by_rate(reference_dir, lookup):
    codes = lookup.loc[lookup["csp_code"] == LEICESTER, "LSOA11CD"].tolist()
    values = rates(codes)
    hot = [LEICESTER_LSOA, codes[10]]
    title = "Violence: rate per 1,000 residents, 12 months to March 2024"
    started = time.perf_counter()
    svg = maps.rate_map(values.iloc[1:], reference_dir, title=title, legend_label="Events per 1,000 residents",
                        source="Partner returns", hotspots=hot + ["E01012057"], area_codes=codes)
    elapsed = time.perf_counter() - started
    print(f"\nLeicester district map ({len(codes)} LSOA polygons): {elapsed:.2f} s, {len(svg) / 1024:.0f} KB")
    root = parse(svg)
    assert_self_contained(svg)
    assert_titled(root, title, "Partner returns")
    polygons = groups(root, "lsoa polygon")
    assert sorted(map(code_of, polygons)) == sorted(codes) and len(codes) == 192
    assert groups(root, "lsoa centroid") == []
    # hotspots: exactly the mapped ones (a Middlesbrough code is not on this map), heavy and hatched
    outlined = groups(root, "hotspot")
    assert sorted(map(code_of, outlined)) == sorted(hot)
    for group in outlined:
        style = group.find(f"{SVG}path").get("style")
        assert "stroke: #000000" in style and "stroke-width: 1.7" in style and "fill: url(#" in style
    labels = " ".join(texts(root))
    assert "Events per 1,000 residents" in labels and "km" in labels and "N" in texts(root)
    assert "Crown copyright" in labels and "Open Government Licence" in labels
    assert "Hotspot (Gi*)" in labels and "No value" in labels
    assert "Ward boundary" in labels and "Partnership boundary" in labels
    assert len(groups(root, "ward-outline")) == 21 and len(groups(root, "area-outline")) == 1
    # the text alternative carries the key figures: range, highest LSOA, the hotspots
    desc = root.find(f"{SVG}desc").text
    top = values.iloc[1:].sort_values("value").iloc[-1]
    assert f"{round(top['value'])}" in desc and "2 significant hotspots" in desc
    # darker = higher; the LSOA without a value is grey
    shade = {code_of(g): fill(g) for g in polygons}
    value = values.set_index("lsoa11_code")["value"].iloc[1:]
    assert shade[codes[0]] == maps.NO_VALUE
    assert lightness(shade[value.idxmax()]) < lightness(shade[value.idxmin()])
    assert len(svg) < 400 * 1024


@pytest.mark.parametrize("csp, name", [(CHARNWOOD, "Charnwood"), ("E22000158", "Preston")])
def test_any_district_gets_lsoa_polygons_ward_outlines_place_names_and_its_outline(reference_dir, lookup, csp, name):
    """Not only the districts with a detailed file: the national files draw any partnership of
    England and Wales (Preston is in Lancashire, far from the demo's force area)."""
    codes = lookup.loc[lookup["csp_code"] == csp, "LSOA11CD"].tolist()
    wards = set(lookup.loc[lookup["csp_code"] == csp, "WD19CD"])
    title = f"ASB: rate per 1,000 residents, {name}"
    svg = maps.rate_map(rates(codes), reference_dir, title=title, legend_label="Events per 1,000 residents",
                        source="Partner returns", hotspots=codes[:3], area_codes=codes, partnership=csp)
    root = parse(svg)
    assert_self_contained(svg)
    assert_titled(root, title, "Partner returns")
    assert sorted(map(code_of, groups(root, "lsoa polygon"))) == sorted(codes)
    assert groups(root, "lsoa centroid") == []
    assert sorted(map(code_of, groups(root, "hotspot"))) == sorted(codes[:3])
    assert len(groups(root, "ward-outline")) == len(wards) and len(groups(root, "area-outline")) == 1
    ward_names = set(lookup.loc[lookup["csp_code"] == csp, "WD19NM"])
    placed = [t for t in texts(root) if t in ward_names]
    assert 3 <= len(placed) <= maps.PLACE_LABELS


def test_a_unit_without_any_polygon_is_a_centroid_circle(tmp_path, reference_dir, lookup):
    """Reference data without the national LSOA file: Leicester's detailed polygons, and circles
    at the population-weighted centroids elsewhere."""
    geography = tmp_path / "geography"
    geography.mkdir()
    for path in (reference_dir / "geography").iterdir():
        if path.name != "lsoa11_boundaries_EW_BSC.geojson":
            (geography / path.name).symlink_to(path)
    for other in reference_dir.iterdir():
        if other.name != "geography":
            (tmp_path / other.name).symlink_to(other)
    outside = lookup.loc[lookup["csp_code"] == CHARNWOOD, "LSOA11CD"].iloc[0]
    root = parse(maps.rate_map(rates([LEICESTER_LSOA, outside]), tmp_path, title="Mixed",
                               legend_label="Events per 1,000 residents", source="s"))
    assert [code_of(g) for g in groups(root, "lsoa polygon")] == [LEICESTER_LSOA]
    assert [code_of(g) for g in groups(root, "lsoa centroid")] == [outside]
    assert "LSOA centroid" in texts(root)
    assert "population-weighted centroid" in " ".join(" ".join(texts(root)).split())


def test_map_rejects_unknown_and_repeated_codes(reference_dir):
    with pytest.raises(ValueError, match="no boundary and no centroid.*E01999999"):
        maps.rate_map(rates([LEICESTER_LSOA, "E01999999"]), reference_dir, title="t", legend_label="l", source="s")
    with pytest.raises(ValueError, match="repeat codes"):
        maps.rate_map(rates([LEICESTER_LSOA, LEICESTER_LSOA]), reference_dir, title="t", legend_label="l",
                      source="s")
    with pytest.raises(ValueError, match="lack columns"):
        maps.rate_map(pd.DataFrame({"lsoa11_code": [LEICESTER_LSOA]}), reference_dir, title="t",
                      legend_label="l", source="s")


def test_maps_are_deterministic(reference_dir, lookup):
    codes = lookup.loc[lookup["csp_code"] == LEICESTER, "LSOA11CD"].tolist()[:40]
    kwargs = dict(title="t", legend_label="l", source="s", hotspots=codes[:2])
    assert str(maps.rate_map(rates(codes), reference_dir, **kwargs)) == \
        str(maps.rate_map(rates(codes), reference_dir, **kwargs))


def test_ward_map_uses_ward_polygons_and_centroids(reference_dir, lookup):
    leicester = lookup[lookup["csp_code"] == LEICESTER]
    charnwood_ward = lookup.loc[lookup["csp_code"] == CHARNWOOD, "WD19CD"].iloc[0]
    wards = sorted(leicester["WD19CD"].unique())
    values = pd.DataFrame({"ward_code": wards + [charnwood_ward], "value": np.arange(len(wards) + 1.0)})
    root = parse(maps.ward_rate_map(values, reference_dir, title="Wards", legend_label="Events per 1,000 residents",
                                    source="s", hotspots=[wards[0]]))
    assert sorted(map(code_of, groups(root, "ward polygon"))) == sorted(wards + [charnwood_ward])
    assert len(wards) == 21 and groups(root, "ward centroid") == []
    assert [code_of(g) for g in groups(root, "hotspot")] == [wards[0]]


# --- rendering -------------------------------------------------------------------------------

def test_weasyprint_renders_chart_and_map_into_the_pdf(tmp_path, reference_dir, lookup):
    from weasyprint import HTML, URLFetcher

    class NothingFetcher(URLFetcher):
        """Any fetch is a failure: the SVG must need nothing outside itself."""
        def __init__(self):
            super().__init__(allowed_protocols=(), fail_on_errors=True)

        def fetch(self, url, headers=None):
            raise AssertionError(f"fetched {url}")

    codes = lookup.loc[lookup["csp_code"] == LEICESTER, "LSOA11CD"].tolist()
    chart = charts.monthly_series(monthly(), title="Burglary: events per month, Leicester",
                                  y_label="Events per month", source="Partner returns")
    rate = maps.rate_map(rates(codes), reference_dir, title="Burglary: rate per 1,000 households, Leicester",
                         legend_label="Events per 1,000 households", source="Partner returns",
                         hotspots=[LEICESTER_LSOA])
    html = f'<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>{chart}{rate}</body></html>'
    pdf = tmp_path / "charts.pdf"
    HTML(string=html, url_fetcher=NothingFetcher()).write_pdf(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "Burglary: events per month, Leicester" in text
    assert "Burglary: rate per 1,000 households, Leicester" in text
    assert "Events per 1,000 households" in text and "Crown copyright" in text
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                       check=True)
        assert (tmp_path / "page-1.png").stat().st_size > 10_000


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_chromium_renders_the_svg_without_requests_or_errors(tmp_path, reference_dir, lookup):
    from playwright.sync_api import sync_playwright

    codes = lookup.loc[lookup["csp_code"] == LEICESTER, "LSOA11CD"].tolist()
    chart = charts.control_chart(analyse_control(monthly(spike_at=40)).frame, title="Control", source="s")
    rate = maps.rate_map(rates(codes), reference_dir, title="Map", legend_label="Events per 1,000 residents",
                         source="s", hotspots=codes[:2])
    page_file = tmp_path / "charts.html"
    page_file.write_text(f'<!doctype html><html><head><meta charset="utf-8"><title>t</title></head>'
                         f'<body>{chart}{rate}</body></html>', encoding="utf-8")
    requests, problems = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"),
                                             args=["--no-sandbox", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 900, "height": 1200})
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: problems.append(f"failed {r.url}"))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(page_file.as_uri())
        sizes = page.eval_on_selector_all("svg[role=img]", "els => els.map(e => e.getBoundingClientRect().width)")
        page.screenshot(path=str(tmp_path / "charts.png"))
        browser.close()
    assert requests == [page_file.as_uri()] and problems == []
    assert len(sizes) == 2 and all(width > 600 for width in sizes)  # 17 cm is 642 CSS px


def test_a_series_with_no_month_in_the_assessed_year_is_described_not_an_error():
    # A theme whose events all fall before the assessed 12 months (a dataset that stopped).
    from csp.reports.charts import describe_series

    data = pd.DataFrame({"group": "Fires", "month": pd.date_range("2023-01-01", periods=6, freq="MS"),
                         "value": [3, 1, 4, 1, 5, 9]})
    words = describe_series(data, ["Fires"], pd.Timestamp("2024-01-01"))
    assert words == "Fires: 0 in the assessed 12 months against 23 in the 12 before."
