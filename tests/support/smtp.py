"""A local SMTP server (aiosmtpd) as the Airflow SMTP connection, and an analysts file."""
from __future__ import annotations

import email
import email.policy
import json
import socket

import pytest

BLABY, LEICESTER, MELTON, COUNTY = "E22000164", "E22000168", "E22000169", "E10000018"
ANALYSTS = f"""
[delivery]
from = "csp-reports@example.org"
[analysts]
"{BLABY}" = ["blaby.a@example.org", "blaby.b@example.org"]
"{LEICESTER}" = ["leicester@example.org"]
"county:{COUNTY}" = ["county@example.org"]
[alerts]
to = ["platform@example.org"]
"""


class Inbox:
    """aiosmtpd handler keeping every message with its envelope recipients."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((tuple(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch):
    """A local SMTP server and the Airflow connection to it, defined the way a deployment
    would: the AIRFLOW_CONN_SMTP_DEFAULT environment variable, JSON form (the URI form would
    turn disable_ssl=false into the truthy string "false")."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10, "retry_limit": 0},
    }))
    monkeypatch.delenv("CSP_SMTP_CONN_ID", raising=False)
    yield inbox
    controller.stop()


@pytest.fixture
def analysts(tmp_path, monkeypatch):
    path = tmp_path / "analysts.toml"
    path.write_text(ANALYSTS)
    monkeypatch.setenv("CSP_ANALYSTS_FILE", str(path))
    return path

