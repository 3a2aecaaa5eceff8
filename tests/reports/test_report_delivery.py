"""Delivery end to end: reports rendered to the output folder are emailed through the Airflow
SMTP connection (SmtpNotifier) to a real SMTP server on 127.0.0.1 (aiosmtpd), one message per
report to its partnership's analysts, with the PDF and the HTML attached; without the
connection nothing is sent and the summary says delivery was skipped."""
from __future__ import annotations

import io
import json
import os
from collections import Counter
from types import SimpleNamespace

import pytest
from support.smtp import ANALYSTS, analysts, free_port, smtp_server  # noqa: F401  (fixtures)

BLABY, LEICESTER, MELTON, COUNTY = "E22000164", "E22000168", "E22000169", "E10000018"

def blaby_ward(settings) -> str:
    from csp.geography import lsoa_lookup

    lookup = lsoa_lookup(settings.reference_dir)
    return lookup.loc[lookup["csp_code"] == BLABY, "WD19CD"].iloc[0]


def write_report(settings, kind, folder, subject, title, *, provisional=False, file_stem=None):
    """A small report HTML with its manifest (csp.reports.readiness.record), in render_all's
    layout out/<kind>/<period>/<subject>.html, and its PDF."""
    from csp.quarters import Quarter
    from csp.reports.pdf import write_pdf
    from csp.reports.readiness import Period, record

    path = settings.out_dir / kind / folder / f"{file_stem or subject}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><h2>Summary</h2><p>Figures for {subject}.</p><h2>Recommendations</h2><p>Act.</p></body></html>""",
                    encoding="utf-8")
    quarters = tuple(Quarter(2023, 2).shift(i) for i in range(4))
    period = Period(quarters=quarters, provisional=provisional, missing=(), inputs=(("police_crime", "2024Q1", 1),))
    record(path, period, kind=kind, subject=subject, title=title)
    write_pdf(path)
    return path


@pytest.fixture
def reports(workspace):
    ward = blaby_ward(workspace)
    return [
        write_report(workspace, "strategic", "2023-04_to_2024-03", BLABY, "Strategic assessment: Blaby"),
        write_report(workspace, "tactical", "2024Q1", LEICESTER, "Tactical assessment: Leicester, 2024Q1",
                     provisional=True),
        write_report(workspace, "problem_profile", "2023-04_to_2024-03", f"{ward}/violence",
                     f"Problem profile: violence in {ward}", file_stem=f"{ward}_violence"),
        write_report(workspace, "county", "2023-04_to_2024-03", COUNTY, "County roll-up: Leicestershire"),
    ]


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_payload(decode=True) for part in message.iter_attachments()}


def test_each_analyst_list_gets_one_message_per_report(workspace, smtp_server, analysts, reports):
    from pypdf import PdfReader

    from csp.reports.delivery import deliver

    ward = reports[2].stem.removesuffix("_violence")
    summary = deliver(workspace, reports)

    assert summary.skipped is None and summary.unaddressed == [] and len(summary.sent) == 4
    received = Counter((rcpt, msg["Subject"]) for rcpts, msg in smtp_server.messages for rcpt in rcpts)
    assert received == Counter({
        ("blaby.a@example.org", "Strategic assessment: Blaby | April 2023 to March 2024"): 1,
        ("blaby.b@example.org", "Strategic assessment: Blaby | April 2023 to March 2024"): 1,
        # the ward's problem profile goes to the partnership the ward is in, and says which
        ("blaby.a@example.org", f"Problem profile: violence in {ward} | Blaby | April 2023 to March 2024"): 1,
        ("blaby.b@example.org", f"Problem profile: violence in {ward} | Blaby | April 2023 to March 2024"): 1,
        # title already names partnership and quarter: nothing repeated
        ("leicester@example.org", "Tactical assessment: Leicester, 2024Q1 [provisional]"): 1,
        ("county@example.org", "County roll-up: Leicestershire | April 2023 to March 2024"): 1,
    })
    for (_, message), report in zip(smtp_server.messages, reports, strict=True):
        assert message["From"] == "csp-reports@example.org"
        files = attachments(message)
        assert sorted(files) == sorted([report.name, report.with_suffix(".pdf").name])
        assert files[report.name] == report.read_bytes()
        pdf = PdfReader(io.BytesIO(files[report.with_suffix(".pdf").name]))
        assert len(pdf.pages) > 0
        assert pdf.metadata.title == json.loads(report.with_suffix(".json").read_text())["title"]
        body = message.get_body(("html",)).get_content()
        assert report.name in body and report.with_suffix(".pdf").name in body


def test_delivering_again_sends_nothing_twice_until_a_report_changes(workspace, smtp_server, analysts, reports):
    from csp.quarters import Quarter
    from csp.reports.delivery import deliver
    from csp.reports.readiness import Period, record

    deliver(workspace, reports)
    again = deliver(workspace, reports)
    assert len(smtp_server.messages) == 4
    assert again.sent == [] and again.already_sent == reports

    # a late return re-renders Leicester's tactical assessment from new inputs: sent again
    period = Period(quarters=(Quarter(2024, 1),), provisional=False, missing=(),
                    inputs=(("police_crime", "2024Q1", 2),))
    record(reports[1], period, kind="tactical", subject=LEICESTER, title="Tactical assessment: Leicester, 2024Q1")
    third = deliver(workspace, reports)
    assert [d.report for d in third.sent] == [reports[1]] and len(smtp_server.messages) == 5
    assert smtp_server.messages[-1][1]["Subject"] == "Tactical assessment: Leicester, 2024Q1"  # no longer provisional


def test_partnership_without_analysts_is_named_not_sent(workspace, smtp_server, analysts):
    from csp.reports.delivery import deliver

    melton = write_report(workspace, "strategic", "2023-04_to_2024-03", MELTON, "Strategic assessment: Melton")

    summary = deliver(workspace, [melton])

    assert summary.unaddressed == [melton] and summary.sent == [] and smtp_server.messages == []


def test_a_default_list_catches_unlisted_partnerships(workspace, smtp_server, analysts):
    from csp.reports.delivery import deliver

    analysts.write_text(ANALYSTS.replace("[alerts]", '"default" = ["all.csps@example.org"]\n[alerts]'))
    melton = write_report(workspace, "strategic", "2023-04_to_2024-03", MELTON, "Strategic assessment: Melton")

    summary = deliver(workspace, [melton])

    assert [d.recipients for d in summary.sent] == [("all.csps@example.org",)]
    assert smtp_server.messages[0][1]["Subject"] == "Strategic assessment: Melton | April 2023 to March 2024"


def test_without_the_smtp_connection_delivery_is_skipped(workspace, smtp_server, analysts, reports, monkeypatch,
                                                         caplog):
    from csp.reports.delivery import deliver, receipt_path

    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
    with caplog.at_level("INFO", logger="csp.reports.delivery"):
        summary = deliver(workspace, reports)

    assert summary.skipped == "SMTP connection 'smtp_default' is not defined"
    assert summary.sent == [] and smtp_server.messages == []
    assert not any(receipt_path(r).exists() for r in reports)
    assert "delivery skipped for 4 report(s)" in caplog.text


def test_the_connection_id_is_configurable(workspace, smtp_server, analysts, reports, monkeypatch):
    from csp.reports.delivery import deliver

    monkeypatch.setenv("CSP_SMTP_CONN_ID", "csp_mail")
    assert deliver(workspace, reports[:1]).skipped == "SMTP connection 'csp_mail' is not defined"

    monkeypatch.setenv("AIRFLOW_CONN_CSP_MAIL", os.environ["AIRFLOW_CONN_SMTP_DEFAULT"])
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
    assert len(deliver(workspace, reports[:1]).sent) == 1 and len(smtp_server.messages) == 1


def test_malformed_analyst_address_is_an_error(analysts):
    from csp.recipients import load_recipients

    analysts.write_text(ANALYSTS.replace('"leicester@example.org"', '"leicester at example.org"'))

    with pytest.raises(ValueError, match=r"\[analysts\] E22000168: not an email address: leicester at example.org"):
        load_recipients()


def test_shipped_analysts_file_covers_every_served_partnership_and_county(workspace, monkeypatch):
    from csp.geography import served_area
    from csp.recipients import DEFAULT_FILE, load_recipients

    monkeypatch.delenv("CSP_ANALYSTS_FILE", raising=False)
    recipients = load_recipients()
    area = served_area(workspace.reference_dir, workspace.area)

    assert recipients.analysts.keys() == {p.code for p in area.partnerships} | {f"county:{c}" for c, _ in area.counties}
    assert all(address.endswith("@example.org") for to in recipients.analysts.values() for address in to)
    assert DEFAULT_FILE.name == "analysts.toml"


def failed_task_context(error: str) -> dict:
    ti = SimpleNamespace(dag_id="warehouse", task_id="load", run_id="scheduled__2024-07-01")
    return {"task_instance": ti, "exception": RuntimeError(error)}


def test_alert_is_mailed_when_smtp_is_configured(smtp_server, analysts, caplog):
    from csp.notify import AlertNotifier

    with caplog.at_level("ERROR", logger="csp.alerts"):
        AlertNotifier("Return is late").notify(failed_task_context("police_crime 2024Q1 not received <by deadline>"))

    assert "Return is late: dag=warehouse task=load" in caplog.text  # always logged
    [(rcpts, message)] = smtp_server.messages
    assert rcpts == ("platform@example.org",)
    assert message["Subject"] == "Return is late: warehouse.load"
    assert "police_crime 2024Q1 not received &lt;by deadline&gt;" in message.get_body(("html",)).get_content()


def test_alert_is_only_logged_without_smtp(smtp_server, analysts, monkeypatch, caplog):
    from csp.notify import AlertNotifier

    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT")
    with caplog.at_level("INFO", logger="csp.alerts"):
        AlertNotifier("Task failed").notify(failed_task_context("boom"))

    assert smtp_server.messages == []
    assert "Task failed: dag=warehouse task=load" in caplog.text
    assert "SMTP connection 'smtp_default' is not defined" in caplog.text
