"""Checks of a rendered report's form, shared by every report test (and the full synthetic run):

- ``check_html_in_chromium``: the HTML opens in Debian's headless Chromium with no request
  other than the file itself (data: URIs never reach the network layer), no failed request,
  no console error and no page error; a screenshot of its first A4-sized page is written.
- ``check_pdf``: the PDF converts with pdftoppm, its text holds the section headings, and its
  outline has one top-level entry per section.
- ``axe_violations``: axe-core (node_modules, pinned by package-lock.json) run in the page at
  WCAG 2.2 AA.
- ``pdf_structure``: the PDF is tagged (a structure tree, marked content, a language, every
  figure with alternative text) and its bookmarks.
- ``page_fill`` and ``broken_table_words``: how far down each page the content reaches, and
  words a table broke across lines inside the word.

Both return what they found rather than asserting, so a caller can check many reports and
report every problem at once."""
from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
AXE = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking"]
FIRST_PAGE = {"width": 1024, "height": 1448}  # A4 proportions (1:sqrt 2) at a laptop-screen width


def screenshot_dir(default: Path) -> Path:
    """CSP_SCREENSHOT_DIR when set (keep the screenshots after the run), else ``default``."""
    folder = Path(os.environ.get("CSP_SCREENSHOT_DIR", default))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chromium() -> Iterator[object]:
    """One headless Chromium for several checks (starting it costs about a second)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def check_html_in_chromium(path: Path, screenshots: Path | None = None, *, browser=None) -> dict:
    """Open ``path`` and return the counts of external requests, failed requests, console
    errors and page errors (with their details), and the first-page screenshot's path.

    Every request other than the file itself is recorded and aborted before it leaves the
    browser, so a report that would fetch something is caught without any network traffic."""
    if browser is None:
        with chromium() as own:
            return check_html_in_chromium(path, screenshots, browser=own)
    path = Path(path).resolve()
    own_url = path.as_uri()
    found = {"external": [], "failed": [], "console": [], "page": []}

    def route(route):
        url = route.request.url
        if url == own_url or url.startswith("data:"):
            route.continue_()
        else:
            found["external"].append(url)
            route.abort()

    def console(message):
        if message.type == "error":
            found["console"].append(message.text)

    page = browser.new_page(viewport=FIRST_PAGE)
    try:
        page.route("**/*", route)
        page.on("requestfailed", lambda r: found["failed"].append(f"{r.url}: {r.failure}"))
        page.on("console", console)
        page.on("pageerror", lambda e: found["page"].append(str(e)))
        response = page.goto(own_url, wait_until="load")
        shot = screenshot_dir(screenshots or path.parent / "screenshots") / _shot_name(path)
        page.screenshot(path=str(shot), full_page=False)
    finally:
        page.close()
    return {
        "loaded": response is not None and response.ok,
        "external_requests": len(found["external"]),
        "failed_requests": len(found["failed"]),
        "console_errors": len(found["console"]),
        "page_errors": len(found["page"]),
        "details": found,
        "screenshot": shot,
    }


def _shot_name(path: Path) -> str:
    # type_period_name.png: unique across the output folder's type/period/name layout
    return "_".join(path.parts[-3:]).removesuffix(".html") + ".png"


class _HeadingParser(HTMLParser):
    def __init__(self, tag: str):
        super().__init__()
        self.tag, self.depth, self.headings = tag, 0, []

    def handle_starttag(self, tag, attrs):
        if tag == self.tag:
            self.depth += 1
            self.headings.append("")

    def handle_endtag(self, tag):
        if tag == self.tag:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.headings[-1] += data


def h2_headings(html_path: Path) -> list[str]:
    """The text of every h2 of a report, whitespace collapsed: its sections."""
    parser = _HeadingParser("h2")
    parser.feed(Path(html_path).read_text(encoding="utf-8"))
    return [" ".join(h.split()) for h in parser.headings]


def check_pdf(pdf_path: Path, expected_sections: list[str], png_dir: Path | None = None) -> dict:
    """Convert page 1 with pdftoppm, extract the text with pdftotext and read the outline with
    pypdf; return the page count, title, top-level outline titles, the expected headings missing
    from the text, and the page-1 PNG path."""
    from pypdf import PdfReader

    pdf_path = Path(pdf_path)
    png_prefix = screenshot_dir(png_dir or pdf_path.parent / "screenshots") / (pdf_path.stem + "_pdf_page1")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf_path),
                    str(png_prefix)], check=True, capture_output=True, timeout=120)
    text = subprocess.run(["pdftotext", str(pdf_path), "-"], check=True, capture_output=True, text=True,
                          timeout=120).stdout
    flat_text = " ".join(text.split())
    reader = PdfReader(pdf_path)
    return {
        "pages": len(reader.pages),
        "title": reader.metadata.title if reader.metadata else None,
        "outline": [item.title for item in reader.outline if not isinstance(item, list)],
        "missing_headings": [h for h in expected_sections if " ".join(h.split()) not in flat_text],
        "page1_png": png_prefix.with_suffix(".png"),
    }


def axe_violations(path: Path, *, browser) -> list[dict]:
    """axe-core's violations of WCAG 2.2 A and AA on the page (id, impact, help, the first
    offending elements). The script is injected as text, so it is not a request."""
    if not AXE.exists():
        raise FileNotFoundError(f"{AXE} is missing: run `make node-packages` (npm ci)")
    page = browser.new_page(viewport=FIRST_PAGE)
    try:
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                   else route.abort())
        page.goto(Path(path).resolve().as_uri(), wait_until="load")
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, "
                               "resultTypes: ['violations']})", WCAG_22_AA)
    finally:
        page.close()
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [" ".join(n["target"][-1:]) if isinstance(n["target"][-1], str) else str(n["target"])
                       for n in v["nodes"][:5]], "count": len(v["nodes"])}
            for v in result["violations"]]


def pdf_structure(pdf_path: Path) -> dict:
    """What a screen reader and a PDF viewer's sidebar get: whether the PDF is tagged (a
    StructTreeRoot and MarkInfo /Marked), its language, the structure roles used, how many
    figures lack /Alt, and the bookmark tree as (level, title)."""
    from pypdf import PdfReader
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    reader = PdfReader(pdf_path)
    root = reader.trailer["/Root"]
    roles: dict[str, int] = {}
    figures_without_alt = 0

    def walk(node, depth=0):
        nonlocal figures_without_alt
        if depth > 200:
            return
        if isinstance(node, IndirectObject):
            node = node.get_object()
        if isinstance(node, ArrayObject):
            for child in node:
                walk(child, depth + 1)
            return
        if not isinstance(node, DictionaryObject):
            return
        role = node.get("/S")
        if role is not None:
            roles[str(role)] = roles.get(str(role), 0) + 1
            if str(role) == "/Figure" and not str(node.get("/Alt", "")).strip():
                figures_without_alt += 1
        if "/K" in node:
            walk(node["/K"], depth + 1)

    tree = root.get("/StructTreeRoot")
    if tree is not None:
        walk(tree.get_object().get("/K"))

    def outline(items, level=1):
        for item in items:
            if isinstance(item, list):
                yield from outline(item, level + 1)
            else:
                yield level, item.title

    mark = root.get("/MarkInfo")
    return {
        "tagged": tree is not None and bool(mark and mark.get_object().get("/Marked")),
        "lang": str(root.get("/Lang", "")) or None,
        "roles": roles,
        "figures_without_alt": figures_without_alt,
        "bookmarks": list(outline(reader.outline)),
    }


def page_fill(pdf_path: Path, *, top_mm: float = 18, bottom_mm: float = 20) -> list[float]:
    """For each page, how far down the text area (inside the top and bottom margins, so the
    running footer is left out) the lowest ink reaches, from 0 (blank) to 1 (full)."""
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-gray", "-r", "24", str(pdf_path), f"{folder}/p"], check=True,
                       capture_output=True, timeout=300)
        fills = []
        for png in sorted(Path(folder).glob("p-*.pgm"), key=lambda p: int(p.stem.split("-")[-1])):
            with Image.open(png) as image:
                width, height = image.size
                top, bottom = round(height * top_mm / 297), round(height * (1 - bottom_mm / 297))
                pixels = image.load()
                lowest = top
                for y in range(bottom - 1, top - 1, -1):
                    if any(pixels[x, y] < 200 for x in range(width)):
                        lowest = y + 1
                        break
                fills.append((lowest - top) / (bottom - top))
    return fills


class _CellWords(HTMLParser):
    """Every word of every table header and cell (the tokens a table may not break)."""

    def __init__(self):
        super().__init__()
        self.depth, self.skip, self.words = 0, 0, set()

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self.depth += 1
        elif tag in ("svg", "style", "script"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.depth -= 1
        elif tag in ("svg", "style", "script"):
            self.skip -= 1

    def handle_data(self, data):
        if self.depth and not self.skip:
            self.words.update(w for w in re.split(r"[\s/–-]+", data) if len(w) > 1)


def broken_table_words(html_path: Path, pdf_path: Path) -> list[str]:
    """Words of the report's tables that the PDF breaks across lines inside the word
    ("Previo" / "us"): a table word that the PDF's text (content order, so a cell's lines follow
    each other) never holds whole, but holds once its line breaks are removed, with a line break
    inside it. Returns the words with "|" where the lines broke."""
    parser = _CellWords()
    parser.feed(Path(html_path).read_text(encoding="utf-8"))
    words = {w.strip(".,:;()*") for w in parser.words if re.search(r"[^\W\d_]", w)} - {""}
    text = subprocess.run(["pdftotext", "-raw", str(pdf_path), "-"], check=True, capture_output=True,
                          text=True, timeout=120).stdout
    whole = {token.strip(".,:;()*") for token in text.split()}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined, breaks, offset = "", [], 0
    for line in lines:
        joined += line
        offset += len(line)
        breaks.append(offset)
    starts = {0, *breaks}

    def bounded(start: int, end: int) -> bool:
        # the match is a whole word: it begins and ends at a line edge or beside a non-letter, so
        # "af|ter" + "m|onths" across a line break is not the table word "term" broken
        before = start in starts or not joined[start - 1].isalpha()
        after = end in starts or end >= len(joined) or not joined[end].isalpha()
        return before and after

    broken = []
    for word in sorted(words - whole):
        start = joined.find(word)
        while start != -1:
            inside = [b for b in breaks if start < b < start + len(word)]
            if inside and bounded(start, start + len(word)):
                cuts = [0, *(b - start for b in inside), len(word)]
                broken.append("|".join(word[i:j] for i, j in zip(cuts, cuts[1:], strict=False)))
                break
            start = joined.find(word, start + 1)
    return broken
