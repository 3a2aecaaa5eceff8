"""Checks of a rendered report's form, shared by every report test (and the full synthetic run):

- ``check_html_in_chromium``: the HTML opens in Debian's headless Chromium with no request
  other than the file itself (data: URIs never reach the network layer), no failed request,
  no console error and no page error; a screenshot of its first A4-sized page is written.
- ``check_pdf``: the PDF converts with pdftoppm, its text holds the section headings, and its
  outline has one top-level entry per section.

Both return what they found rather than asserting, so a caller can check many reports and
report every problem at once."""
from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

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
