"""Alerts for failures, late returns and missed DAG deadlines, and the SMTP connection that
mail goes through.

Every alert is logged (visible in the task log and to any log shipper). What else happens is
chosen by the environment variable ``CSP_NOTIFIER``, read when the alert fires (never when a
DAG file is parsed: no I/O at parse time, and changing it needs no redeploy):

- ``auto`` (default): log, and email the [alerts] list of config/analysts.toml when the Airflow
  SMTP connection (``smtp_default`` or ``CSP_SMTP_CONN_ID``) exists;
- ``log``: log only;
- ``smtp``: log and email; a missing SMTP connection or alert list is an error (raised);
- an import path ``package.module.Name``: log, then hand the alert to that notifier: a
  BaseNotifier subclass (or a factory returning one) called as ``Name(message=<subject>)``,
  e.g. a thin subclass of a Slack or Teams provider notifier.

The same AlertNotifier serves three callers: ``on_failure_callback`` of every task (context
of the failed task instance), late returns (``alert_late_return``; the context carries
``late_return``), and the DAG deadline alerts, run in the triggerer (context ``dag_run`` and
``deadline``, as Airflow's deadline callbacks give it).
"""
from __future__ import annotations

import asyncio
import html
import logging
import os

from airflow.sdk import BaseNotifier

log = logging.getLogger("csp.alerts")

DEFAULT_SMTP_CONN_ID = "smtp_default"
MAX_ERROR_CHARS = 2000  # a traceback-sized error is enough to act on; the task log has the rest
NOTIFIER_ENV = "CSP_NOTIFIER"
AUTO, LOG, SMTP = "auto", "log", "smtp"


class NotifierNotConfigured(RuntimeError):
    """CSP_NOTIFIER asks for a channel whose configuration is missing."""


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


def notifier_choice() -> str:
    """``auto``, ``log``, ``smtp`` or an import path, from CSP_NOTIFIER."""
    choice = os.environ.get(NOTIFIER_ENV, AUTO).strip() or AUTO
    if choice.lower() in (AUTO, LOG, SMTP):
        return choice.lower()
    if "." not in choice:
        raise NotifierNotConfigured(
            f"{NOTIFIER_ENV}={choice!r}: expected auto, log, smtp or an import path package.module.Name")
    return choice


def describe(context) -> dict:
    """What the alert is about, from any of the three contexts (see the module docstring)."""
    ti = context.get("task_instance") or context.get("ti")
    if ti is not None:
        return {"dag_id": getattr(ti, "dag_id", "?"), "task_id": getattr(ti, "task_id", "?"),
                "run_id": str(getattr(ti, "run_id", "?"))}
    run = context.get("dag_run")
    if isinstance(run, dict):  # a deadline alert: the run as the REST API shows it
        return {"dag_id": run.get("dag_id", "?"), "task_id": "-", "run_id": str(run.get("run_id", "?"))}
    late = context.get("late_return") or {}
    return {"dag_id": "?", "task_id": "?", "run_id": "?", **({"dataset": late["dataset"]} if late else {})}


def late_return_of(context) -> dict | None:
    """The late return an alert is about: given (``alert_late_return``) or carried by the
    task's error (csp.ingest.ReturnNotReceived, raised on as AirflowFailException)."""
    if late := context.get("late_return"):
        return late
    error = context.get("exception")
    for candidate in (error, getattr(error, "__cause__", None)):
        if hasattr(candidate, "late"):
            return candidate.late.fields()
    return None


def detail(context) -> str:
    """The alert's body text: the task's error, the late return or the missed deadline."""
    if error := context.get("exception"):
        return str(error)[:MAX_ERROR_CHARS]
    if late := context.get("late_return"):
        return "; ".join(f"{key}={value}" for key, value in late.items())
    if deadline := context.get("deadline"):
        run = context.get("dag_run") or {}
        return (f"run {run.get('run_id')} of {run.get('dag_id')} (data interval "
                f"{run.get('data_interval_start')} to {run.get('data_interval_end')}, state "
                f"{run.get('state')}) had not completed by its deadline {deadline.get('deadline_time')}")
    return ""


class LogNotifier(BaseNotifier):
    """Logs an alert naming the DAG, task, run and error, at ``level`` (ERROR by default)."""

    template_fields = ("message",)

    def __init__(self, message: str = "CSP pipeline alert", level: int = logging.ERROR, context=None):
        super().__init__(context=context)
        self.message = message
        self.level = level

    def notify(self, context) -> None:
        where = describe(context)
        log.log(self.level, "%s: dag=%s task=%s run=%s error=%s", self.message, where["dag_id"],
                where["task_id"], where["run_id"], detail(context))

    async def async_notify(self, context) -> None:
        # Deadline alerts run in the triggerer's event loop: blocking mail goes to a thread.
        await asyncio.to_thread(self.notify, context)


class AlertNotifier(LogNotifier):
    """Logs the alert, then sends it on as CSP_NOTIFIER says (module docstring)."""

    def notify(self, context) -> None:
        super().notify(context)
        choice = notifier_choice()
        if choice == LOG:
            return
        if choice in (AUTO, SMTP):
            self._email(context, required=choice == SMTP)
            return
        from airflow.sdk._shared.module_loading import import_string

        custom = import_string(choice)(message=self.message)
        custom.notify(context)

    def _email(self, context, *, required: bool) -> None:
        from csp.recipients import load_recipients

        recipients = load_recipients()
        conn_id = smtp_conn_id()
        if not recipients.alerts:
            if required:
                raise NotifierNotConfigured(f"{NOTIFIER_ENV}=smtp but no [alerts] recipients are configured")
            log.info("alert email not sent: no [alerts] recipients configured")
            return
        if not smtp_configured(conn_id):
            if required:
                raise NotifierNotConfigured(f"{NOTIFIER_ENV}=smtp but SMTP connection {conn_id!r} is not defined")
            log.info("alert email not sent: SMTP connection %r is not defined", conn_id)
            return
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        where = describe(context)
        late = late_return_of(context)
        subject = (f"late return: {late['dataset']} {late['quarter']} ({late['authority']}), "
                   f"{late['days_late']} days after {late['deadline']}" if late
                   else f"{self.message}: {where['dag_id']}.{where['task_id']}")
        # notify() is called directly so the texts are sent as written, not rendered as Jinja.
        SmtpNotifier(
            to=list(recipients.alerts),
            from_email=recipients.sender,
            subject=subject,
            html_content=(
                f"<p>{html.escape(self.message)}</p><p>DAG {html.escape(where['dag_id'])}, task "
                f"{html.escape(where['task_id'])}, run {html.escape(where['run_id'])}.</p>"
                f"<pre>{html.escape(detail(context))}</pre>"
            ),
            smtp_conn_id=conn_id,
        ).notify(context)


def alert_late_return(late, context=None) -> None:
    """Notify a late return (csp.ingest.LateReturn) through the configured notifier, at
    WARNING: the return is in, the partnership should know it was late. ``context`` is the
    task context of the ingest task, when there is one."""
    merged = {**(context or {}), "late_return": late.fields()}
    AlertNotifier(message=late.summary, level=logging.WARNING).notify(merged)
