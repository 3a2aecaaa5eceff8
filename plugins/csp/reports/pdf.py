"""The PDF of a rendered report: the same self-contained HTML, laid out on A4 by WeasyPrint
with the print stylesheet report_templates/pdf.css. Nothing is fetched: a report that
references any resource other than an inline data: URI is an error, so a PDF can never
silently lose a chart that the HTML would load from elsewhere."""
from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from csp.reports.rendering import TEMPLATES

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


def write_pdf(html_path: Path) -> Path:
    """Write ``<report>.pdf`` next to ``<report>.html`` and return its path. The PDF's title
    is the HTML <title>; its outline has one top-level entry per h2 section."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import FatalURLFetchingError

    html_path = Path(html_path)
    pdf_path = html_path.with_suffix(".pdf")
    fetcher = _inline_only_fetcher()
    # The HTML is passed as a string so that WeasyPrint reads the file itself, not through the
    # fetcher; relative references resolve against the report's folder and are then refused.
    document = HTML(string=html_path.read_text(encoding="utf-8"), base_url=html_path.parent.as_uri() + "/",
                    url_fetcher=fetcher)
    stylesheet = CSS(filename=str(PRINT_STYLESHEET), url_fetcher=fetcher)
    try:
        document.write_pdf(pdf_path, stylesheets=[stylesheet], pdf_tags=True)
    except FatalURLFetchingError as error:
        pdf_path.unlink(missing_ok=True)
        raise ExternalResourceError(f"{html_path}: {error.__cause__ or error}") from error
    return pdf_path


class PdfFailed(RuntimeError):
    """A worker could not lay out its PDFs; the message holds the end of its error output."""


def write_pdfs(html_paths: list[Path], workers: int) -> list[Path]:
    """The PDF of every report, laid out by up to ``workers`` fresh interpreters
    (``python -m csp.reports.pdf FILE...``) running side by side: layout is most of the time a
    report takes and it is pure Python, so threads would not help. Fresh interpreters rather
    than multiprocessing: inside an Airflow task a spawned child would import the task
    runner's main module, which refuses to start outside the supervisor."""
    paths = [Path(p) for p in html_paths]
    if workers <= 1 or len(paths) <= 1:
        return [write_pdf(p) for p in paths]
    chunks = [paths[i::workers] for i in range(min(workers, len(paths)))]
    procs = [subprocess.Popen([sys.executable, "-m", "csp.reports.pdf", *map(str, chunk)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for chunk in chunks]
    failures = [(proc, proc.communicate()[1]) for proc in procs]
    failures = [(proc, err) for proc, err in failures if proc.returncode != 0]
    if failures:
        raise PdfFailed("; ".join(f"PDF worker exit {proc.returncode}: {err.strip()[-2000:]}" for proc, err in failures))
    return [p.with_suffix(".pdf") for p in paths]


def main(argv: list[str]) -> int:
    for path in argv:
        write_pdf(Path(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
