"""Alerts for failures and late returns, and the SMTP connection that mail goes through.

Every alert is logged (visible in the task log and to any log shipper). AlertNotifier also
emails the alert list of config/analysts.toml when the Airflow SMTP connection exists; whether
it exists is decided when the alert fires, never when a DAG file is parsed (no I/O at parse
time), so defining the connection later needs no redeploy."""
from __future__ import annotations

import html
import logging
import os

from airflow.sdk import BaseNotifier

log = logging.getLogger("csp.alerts")

DEFAULT_SMTP_CONN_ID = "smtp_default"
MAX_ERROR_CHARS = 2000  # a traceback-sized error is enough to act on; the task log has the rest


def smtp_conn_id() -> str:
    return os.environ.get("CSP_SMTP_CONN_ID", DEFAULT_SMTP_CONN_ID)


def smtp_configured(conn_id: str | None = None) -> bool:
    """Whether the Airflow connection exists (environment AIRFLOW_CONN_*, secrets backend or
    metadata database): mail is sent only when it does."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id or smtp_conn_id())
    except AirflowNotFoundException:
        return False
    return True


class LogNotifier(BaseNotifier):
    """Logs an alert naming the DAG, task, run and error, at ERROR level."""

    template_fields = ("message",)

    def __init__(self, message: str = "CSP pipeline alert"):
        super().__init__()
        self.message = message

    def notify(self, context) -> None:
        ti = context.get("task_instance") or context.get("ti")
        log.error(
            "%s: dag=%s task=%s run=%s error=%s",
            self.message,
            getattr(ti, "dag_id", "?"),
            getattr(ti, "task_id", "?"),
            getattr(ti, "run_id", "?"),
            context.get("exception"),
        )


class AlertNotifier(LogNotifier):
    """Logs the alert, then emails it to the [alerts] list of config/analysts.toml through the
    SMTP provider's SmtpNotifier when the SMTP connection exists."""

    def notify(self, context) -> None:
        super().notify(context)
        from csp.recipients import load_recipients

        recipients = load_recipients()
        conn_id = smtp_conn_id()
        if not recipients.alerts:
            log.info("alert email not sent: no [alerts] recipients configured")
            return
        if not smtp_configured(conn_id):
            log.info("alert email not sent: SMTP connection %r is not defined", conn_id)
            return
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        ti = context.get("task_instance") or context.get("ti")
        where = f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}"
        error = str(context.get("exception") or "")[:MAX_ERROR_CHARS]
        # notify() is called directly so the texts are sent as written, not rendered as Jinja.
        SmtpNotifier(
            to=list(recipients.alerts),
            from_email=recipients.sender,
            subject=f"{self.message}: {where}",
            html_content=(
                f"<p>{html.escape(self.message)}</p><p>DAG {html.escape(getattr(ti, 'dag_id', '?'))}, task "
                f"{html.escape(getattr(ti, 'task_id', '?'))}, run {html.escape(str(getattr(ti, 'run_id', '?')))}.</p>"
                f"<pre>{html.escape(error)}</pre>"
            ),
            smtp_conn_id=conn_id,
        ).notify(context)
