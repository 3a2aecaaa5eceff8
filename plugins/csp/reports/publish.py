"""Publishing the rendered reports to object storage the deployment configures
(CSP_REPORTS_URL, e.g. s3://bucket/csp-reports, with credentials in the Airflow connection
CSP_REPORTS_CONN_ID), through Airflow's ObjectStoragePath, so the same code writes to any
fsspec-supported store. The output folder stays the system of record; publishing copies it."""
from __future__ import annotations

import logging
from pathlib import Path

from csp.config import Settings

log = logging.getLogger(__name__)
REPORT_FILES = (".html", ".pdf", ".json")


def publish(settings: Settings, reports: list[Path]) -> list[str]:
    """Copy each report's HTML, PDF and manifest, and the index page, under the configured URL
    at the same relative paths as in the output folder; return the URLs written. Copying is
    idempotent, so every run publishes every current report: a run that failed half-way is
    completed by the next."""
    if not settings.reports_url:
        return []
    from airflow.sdk import ObjectStoragePath

    root = ObjectStoragePath(settings.reports_url, conn_id=settings.reports_conn_id)
    files = [report.with_suffix(suffix) for report in reports for suffix in REPORT_FILES]
    files.append(settings.out_dir / "index.html")
    written = []
    for source in files:
        if not source.exists():
            continue
        target = root / source.relative_to(settings.out_dir).as_posix()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
        written.append(str(target))
    log.info("reports: published %d files to %s", len(written), settings.reports_url)
    return written
