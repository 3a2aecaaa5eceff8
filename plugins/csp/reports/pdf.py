"""The PDF of a rendered report: the same self-contained HTML, laid out on A4 by WeasyPrint
with the print stylesheet report_templates/pdf.css. Nothing is fetched: a report that
references any resource other than an inline data: URI is an error, so a PDF can never
silently lose a chart that the HTML would load from elsewhere."""
from __future__ import annotations

import base64
import contextlib
import logging
import queue
import re
import subprocess
import sys
import tempfile
import threading
import xml.etree.ElementTree as ET
from html import escape as html_escape
from pathlib import Path

from csp import safe_paths
from csp.templating import TEMPLATES

# WeasyPrint logs each layout step at INFO and every SVG presentation attribute it does not
# support as a WARNING (matplotlib's stroke-linejoin etc., which it draws correctly anyway):
# hundreds of lines per report that would bury the task log. Real errors still come through.
for _name in ("weasyprint", "weasyprint.progress"):
    logging.getLogger(_name).setLevel(logging.ERROR)

PRINT_STYLESHEET = TEMPLATES / "pdf.css"


class ExternalResourceError(RuntimeError):
    """The report references something outside itself (a URL or a file)."""


def _inline_only_fetcher():
    # Imported here: WeasyPrint loads Pango and fonts on import, which DAG parsing must not pay for.
    from weasyprint import URLFetcher

    class InlineOnlyFetcher(URLFetcher):
        """Serves data: URIs and refuses everything else; fail_on_errors makes the refusal
        stop the rendering instead of becoming a logged warning and a missing image."""

        def __init__(self):
            super().__init__(allowed_protocols=("data",), fail_on_errors=True)

        def fetch(self, url, headers=None):
            if not url.startswith("data:"):
                raise ExternalResourceError(f"report references an external resource: {url}")
            return super().fetch(url, headers)

    return InlineOnlyFetcher()


_INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.S)
_SVG_TITLE = "{http://www.w3.org/2000/svg}title"
_SVG_DESC = "{http://www.w3.org/2000/svg}desc"


def svgs_as_images(html: str) -> str:
    """The report with each inline ``<svg>`` moved into an ``<img>`` holding it as a data: URI,
    its ``<title>`` and ``<desc>`` (the key figures) as ``alt``, the tagged PDF figure's
    alternative text. WeasyPrint draws both alike, but an inline SVG is first parsed as HTML and each of its
    thousands of elements gets a CSS cascade that is never used. An SVG without a title, or
    that is not well-formed XML, stays inline."""
    def as_image(match: re.Match) -> str:
        svg = match.group()
        try:
            root = ET.fromstring(svg)
        except ET.ParseError:
            return svg
        title, desc = root.findtext(_SVG_TITLE), root.findtext(_SVG_DESC)
        if not title:
            return svg
        if desc:
            title = f"{title.rstrip('.')}. {desc}"
        # The inline SVG's responsive style (max-width, height: auto) would make WeasyPrint size
        # the image as a square; as an image its width and height attributes are what count.
        svg = svg.replace(' style="max-width: 100%; height: auto"', "", 1)
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'<img alt="{html_escape(title)}" src="data:image/svg+xml;base64,{data}">'
    return _INLINE_SVG.sub(as_image, html)


def write_pdf(html_path: Path) -> Path:
    """Write ``<report>.pdf`` next to ``<report>.html`` and return its path: PDF/UA-1 (tagged),
    its title the HTML <title>, its outline one top-level entry per h2 section."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import FatalURLFetchingError

    html_path = Path(html_path)
    pdf_path = html_path.with_suffix(".pdf")
    fetcher = _inline_only_fetcher()
    # The HTML is passed as a string so that WeasyPrint does not read the file through the
    # fetcher; relative references resolve against the report's folder and are then refused.
    html = svgs_as_images(safe_paths.read_text(html_path))
    document = HTML(string=html, base_url=html_path.parent.as_uri() + "/", url_fetcher=fetcher)
    stylesheet = CSS(filename=str(PRINT_STYLESHEET), url_fetcher=fetcher)
    try:
        # PDF/UA-1: tagged (headings, paragraphs, tables with header cells, figures with their
        # alt text) in reading order, the language and title declared, the title shown.
        safe_paths.write_atomically(
            pdf_path, lambda fh: document.write_pdf(fh, stylesheets=[stylesheet], pdf_variant="pdf/ua-1"))
    except FatalURLFetchingError as error:
        safe_paths.unlink(pdf_path, missing_ok=True)  # no PDF of an earlier render either
        raise ExternalResourceError(f"{html_path}: {error.__cause__ or error}") from error
    return pdf_path


class PdfFailed(RuntimeError):
    """A layout worker failed; the message holds the end of its error output."""


class PdfLayout:
    """Lays out PDFs in ``workers`` fresh interpreters (``python -m csp.reports.pdf -``, reading
    HTML paths from stdin and printing each PDF written) while the caller goes on rendering the
    next report: layout is most of the time a report takes and it is pure Python, so threads
    would not help. Fresh interpreters rather than multiprocessing: inside an Airflow task a
    spawned child imports the task runner's main module, which refuses to start outside the
    supervisor. Each worker is given the next report only once it has finished the last (a
    thread per worker feeds it from one queue), so no report waits behind a long strategic
    assessment while another worker is idle. With one worker the layout runs here, at once.
    Leaving the block waits for every PDF and raises PdfFailed if any could not be written."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self.queue: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self.feeders: list[threading.Thread] = []
        self.failures: list[str] = []

    def __enter__(self) -> PdfLayout:
        return self

    def submit(self, html_path: Path) -> None:
        if self.workers == 1:
            write_pdf(html_path)
            return
        if not self.feeders:  # started on the first report: a run with nothing to render starts none
            self.feeders = [threading.Thread(target=self._feed, daemon=True) for _ in range(self.workers)]
            for feeder in self.feeders:
                feeder.start()
        self.queue.put(Path(html_path))

    def _feed(self) -> None:
        """Run one worker: hand it a queued report, wait for its PDF, repeat until the queue's
        end (None) or the worker dies (its error output becomes a failure)."""
        with tempfile.TemporaryFile(mode="w+") as errors:  # a file, so a chatty worker never blocks
            proc = subprocess.Popen([sys.executable, "-m", "csp.reports.pdf", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=errors, text=True)
            while (html_path := self.queue.get()) is not None:
                if not _hand_over(proc, html_path):
                    break
            with contextlib.suppress(BrokenPipeError):  # a worker that died: reported below
                proc.stdin.close()
            proc.stdout.close()
            if proc.wait() != 0:
                errors.seek(0)
                self.failures.append(f"PDF worker exit {proc.returncode}: {errors.read().strip()[-2000:]}")

    def __exit__(self, *exc) -> None:
        for _ in self.feeders:
            self.queue.put(None)
        for feeder in self.feeders:
            feeder.join()
        if self.failures and exc[0] is None:
            raise PdfFailed("; ".join(self.failures))


def _hand_over(proc: subprocess.Popen, html_path: Path) -> bool:
    """Give a worker one report and wait until it prints the PDF's path; False if it died."""
    pdf_path = str(html_path.with_suffix(".pdf"))
    try:
        proc.stdin.write(f"{html_path}\n")
        proc.stdin.flush()
    except BrokenPipeError:
        return False
    # anything else a library prints there is passed over
    return any(line.rstrip("\n") == pdf_path for line in proc.stdout)


def main(argv: list[str]) -> int:
    """``python -m csp.reports.pdf FILE...``, or ``-``: the HTML paths one per line on stdin;
    prints the path of each PDF once it is written."""
    paths = (line.strip() for line in sys.stdin) if argv == ["-"] else iter(argv)
    for path in paths:
        if path:
            print(write_pdf(Path(path)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
