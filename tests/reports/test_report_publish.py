"""Publishing reports to object storage through Airflow's ObjectStoragePath: exercised on the
file:// and memory:// stores (s3:// and gs:// differ only in the fsspec backend and the
connection holding their credentials)."""
from __future__ import annotations

import dataclasses

from csp.reports.publish import publish


def rendered(out):
    report = out / "strategic" / "2025-01_to_2025-12" / "E22000171.html"
    report.parent.mkdir(parents=True)
    for suffix, content in ((".html", b"<html>report</html>"), (".pdf", b"%PDF-1.7"), (".json", b"{}")):
        report.with_suffix(suffix).write_bytes(content)
    (out / "index.html").write_bytes(b"<html>index</html>")
    return report


def test_reports_and_index_are_copied_at_their_relative_paths(workspace, tmp_path):
    store = tmp_path / "bucket"
    settings = dataclasses.replace(workspace, reports_url=store.as_uri())
    report = rendered(settings.out_dir)
    urls = publish(settings, [report])
    assert len(urls) == 4
    for suffix in (".html", ".pdf", ".json"):
        copied = store / "strategic" / "2025-01_to_2025-12" / f"E22000171{suffix}"
        assert copied.read_bytes() == report.with_suffix(suffix).read_bytes()
    assert (store / "index.html").read_bytes() == b"<html>index</html>"
    assert publish(settings, [report]) == urls  # idempotent: a retried run copies again


def test_memory_store_and_nothing_without_a_url(workspace):
    from airflow.sdk import ObjectStoragePath

    report = rendered(workspace.out_dir)
    assert publish(workspace, [report]) == []
    settings = dataclasses.replace(workspace, reports_url="memory://csp-test-reports")
    publish(settings, [report])
    published = ObjectStoragePath("memory://csp-test-reports/strategic/2025-01_to_2025-12/E22000171.pdf")
    assert published.read_bytes() == b"%PDF-1.7"
