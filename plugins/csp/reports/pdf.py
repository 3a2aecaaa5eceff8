"""The PDF of a rendered report: the same self-contained HTML, laid out on A4 by WeasyPrint
with the print stylesheet report_templates/pdf.css. Nothing is fetched: a report that
references any resource other than an inline data: URI is an error, so a PDF can never
silently lose a chart that the HTML would load from elsewhere."""
from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import tempfile
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
    """A layout worker failed; the message holds the end of its error output."""


class PdfLayout:
    """Lays out PDFs in ``workers`` fresh interpreters (``python -m csp.reports.pdf``, reading
    HTML paths from stdin) while the caller goes on rendering the next report: layout is most
    of the time a report takes and it is pure Python, so threads would not help. Fresh
    interpreters rather than multiprocessing: inside an Airflow task a spawned child imports
    the task runner's main module, which refuses to start outside the supervisor. With one
    worker the layout runs here, at once. Leaving the block waits for every PDF and raises
    PdfFailed if any could not be written."""

    def __init__(self, workers: int):
        self.workers = max(1, workers)
        self.procs: list[tuple[subprocess.Popen, object]] = []
        self.submitted = 0

    def __enter__(self) -> PdfLayout:
        return self

    def _start(self) -> None:
        for _ in range(self.workers):
            errors = tempfile.TemporaryFile(mode="w+")  # a file, so a chatty worker never blocks
            proc = subprocess.Popen([sys.executable, "-m", "csp.reports.pdf", "-"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=errors, text=True)
            self.procs.append((proc, errors))

    def submit(self, html_path: Path) -> None:
        if self.workers == 1:
            write_pdf(html_path)
            return
        if not self.procs:  # started on the first report: a run with nothing to render starts none
            self._start()
        proc, _ = self.procs[self.submitted % len(self.procs)]
        self.submitted += 1
        try:
            proc.stdin.write(f"{html_path}\n")
            proc.stdin.flush()
        except BrokenPipeError:
            return  # the worker has died: its error is raised on leaving the block

    def __exit__(self, *exc) -> None:
        failures = []
        for proc, errors in self.procs:
            with contextlib.suppress(BrokenPipeError):  # a worker that died: reported below
                proc.stdin.close()
            if proc.wait() != 0:
                errors.seek(0)
                failures.append(f"PDF worker exit {proc.returncode}: {errors.read().strip()[-2000:]}")
            errors.close()
        if failures and exc[0] is None:
            raise PdfFailed("; ".join(failures))


def main(argv: list[str]) -> int:
    """``python -m csp.reports.pdf FILE...``, or ``-``: the HTML paths one per line on stdin."""
    paths = (line.strip() for line in sys.stdin) if argv == ["-"] else iter(argv)
    for path in paths:
        if path:
            write_pdf(Path(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
