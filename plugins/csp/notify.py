"""Alerts for failures and late returns. The default writes a structured log line (visible in
the task log and to any log shipper); SMTP delivery is configured per deployment."""
from __future__ import annotations

import logging

from airflow.sdk import BaseNotifier

log = logging.getLogger("csp.alerts")


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
