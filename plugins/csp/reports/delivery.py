"""Emailing each rendered report to its partnership's analysts (config/analysts.toml) through
the SMTP provider's SmtpNotifier, when the Airflow SMTP connection is configured.

One message per report, with the PDF and the self-contained HTML attached. (Linking to the
HTML in object storage instead of attaching it is not built: reports go to the output folder.)
A receipt ``<report>.delivery.json`` records the manifest fingerprint each report was sent
for, so calling deliver again (a task retry, or every report rather than only the newly
written ones) sends nothing twice, and a report re-rendered from new inputs is sent again."""
from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from csp import safe_paths
from csp.config import Settings
from csp.geography import lsoa_lookup, served_area
from csp.notify import smtp_conn_id, smtp_configured
from csp.recipients import load_recipients
from csp.reports.catalogue import ReportEntry, read_entry
from csp.reports.pdf import write_pdf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    report: Path
    recipients: tuple[str, ...]
    subject: str


@dataclass
class DeliverySummary:
    sent: list[Delivery] = field(default_factory=list)
    already_sent: list[Path] = field(default_factory=list)  # a receipt for this very version exists
    unaddressed: list[Path] = field(default_factory=list)  # no analyst list for its partnership
    skipped: str | None = None  # why nothing was sent at all


def receipt_path(report: Path) -> Path:
    return report.with_suffix(".delivery.json")


def deliver(settings: Settings, reports: list[Path]) -> DeliverySummary:
    """Send each report to its partnership's analysts; without the SMTP connection, log that
    delivery is skipped and say so in the summary (not an error: mail is optional)."""
    summary = DeliverySummary()
    conn_id = smtp_conn_id()
    if not reports:
        return summary
    if not smtp_configured(conn_id):
        summary.skipped = f"SMTP connection {conn_id!r} is not defined"
        log.info("delivery skipped for %d report(s): %s", len(reports), summary.skipped)
        return summary
    recipients = load_recipients()
    names = _area_names(settings)
    for path in map(Path, reports):
        entry = read_entry(path)
        if _receipt_matches(entry):
            summary.already_sent.append(path)
            continue
        partnership = _partnership_of(settings, entry, names)
        to = recipients.for_report(partnership)
        if not to:
            summary.unaddressed.append(path)
            log.warning("no analysts configured for %s (%s): not delivered", partnership, path.name)
            continue
        name = names.get(partnership, partnership)
        subject = subject_line(entry, name)
        _send(entry, to, subject, message_body(entry, name), recipients.sender, conn_id)
        _write_receipt(entry, to)
        summary.sent.append(Delivery(path, to, subject))
        log.info("delivered %s to %d analyst address(es) of %s", path.name, len(to), partnership)
    return summary


def subject_line(entry: ReportEntry, partnership_name: str) -> str:
    """'<report title> | <partnership> | <period>', leaving out what the title already says."""
    extra = [part for part in (partnership_name, entry.period_label) if part not in entry.title]
    marker = " [provisional]" if entry.provisional else ""
    return " | ".join([entry.title, *extra]) + marker


def message_body(entry: ReportEntry, partnership_name: str) -> str:
    provisional = ("<p><strong>Provisional:</strong> not every return for the period was in when this "
                   "was rendered; the report names what is missing.</p>") if entry.provisional else ""
    return (
        f"<p>{html.escape(entry.type_name)} for {html.escape(partnership_name)}, {html.escape(entry.period_label)}: "
        f"<strong>{html.escape(entry.title)}</strong>.</p>{provisional}"
        f"<p>Attached: the PDF ({html.escape(entry.pdf.name)}) and the self-contained web page "
        f"({html.escape(entry.html.name)}), generated {entry.generated_at:%d %B %Y %H:%M} UTC.</p>"
    )


def _send(entry: ReportEntry, to: tuple[str, ...], subject: str, body: str, sender: str | None,
          conn_id: str) -> None:
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    pdf = entry.pdf if entry.pdf.exists() else write_pdf(entry.html)
    # notify() is called directly (not as a task callback) so subject and body are sent as
    # written rather than rendered as Jinja templates against a task context.
    SmtpNotifier(
        to=list(to),
        from_email=sender,
        subject=subject,
        html_content=body,
        files=[str(pdf), str(entry.html)],
        smtp_conn_id=conn_id,
    ).notify({})


def _area_names(settings: Settings) -> dict[str, str]:
    area = served_area(settings.reference_dir, settings.area)
    return {**{p.code: p.name for p in area.partnerships}, **dict(area.counties)}


def _partnership_of(settings: Settings, entry: ReportEntry, names: dict[str, str]) -> str:
    """The CSP or county whose analysts get the report; a ward-level problem profile goes to
    the partnership the ward is in."""
    if entry.area in names:
        return entry.area
    wards = lsoa_lookup(settings.reference_dir).drop_duplicates("WD19CD").set_index("WD19CD")["csp_code"]
    return wards.get(entry.area, entry.area)


def _receipt_matches(entry: ReportEntry) -> bool:
    receipt = receipt_path(entry.html)
    return (safe_paths.exists(receipt)
            and json.loads(safe_paths.read_bytes(receipt)).get("fingerprint") == entry.fingerprint)


def _write_receipt(entry: ReportEntry, to: tuple[str, ...]) -> None:
    safe_paths.write_text(receipt_path(entry.html), json.dumps({
        "fingerprint": entry.fingerprint,
        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipient_count": len(to),
    }, indent=2))
