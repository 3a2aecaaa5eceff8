"""Least privilege in the stack (docker-compose.yaml): each service gets only the platform
secrets it uses. The pseudonymisation key is a file secret mounted into the services that run
ingest (the default-queue worker) and the operator's CLI, never an environment variable and
never in the API server, scheduler, DAG processor, triggerer, warehouse worker or flower; the
warehouse URL (with its password) reaches the warehouse worker, the API server's returns
tracker and the CLI; the SMTP connection the workers and the triggerer. Checked without a
Docker engine, on the compose file as `docker compose` reads it (YAML merge keys resolved)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
KEY_SECRET = "csp_pseudonym_key"

# secret (environment variable or compose secret) -> the services that use it, and why
USERS = {
    KEY_SECRET: {"airflow-worker", "airflow-cli"},  # ingest_return; csp history, csp rotate-key
    "CSP_WAREHOUSE_URL": {"airflow-warehouse-worker", "airflow-apiserver", "airflow-cli"},
    "AIRFLOW_CONN_SMTP_DEFAULT": {"airflow-worker", "airflow-warehouse-worker", "airflow-triggerer",
                                  "airflow-cli"},  # task alerts, report delivery, deadline alerts
}


def environment(service: dict) -> dict[str, str]:
    return {name: str(value) for name, value in (service.get("environment") or {}).items()}


def holders(secret: str) -> set[str]:
    if secret == KEY_SECRET:
        return {name for name, svc in SERVICES.items() if KEY_SECRET in (svc.get("secrets") or [])}
    return {name for name, svc in SERVICES.items() if secret in environment(svc)}


def test_each_platform_secret_reaches_only_the_services_that_use_it():
    for secret, users in USERS.items():
        assert holders(secret) == users, secret


def test_the_pseudonymisation_key_is_a_file_secret_not_an_environment_variable():
    (source,) = COMPOSE["secrets"][KEY_SECRET].values()
    assert list(COMPOSE["secrets"][KEY_SECRET]) == ["file"]
    assert re.fullmatch(r"\$\{CSP_PSEUDONYM_KEY_HOST_FILE:\?[^}]+\}", source)  # required, from .env
    for name, svc in SERVICES.items():
        env = environment(svc)
        assert "CSP_PSEUDONYM_KEY" not in env, name
        if name in USERS[KEY_SECRET]:
            assert env["CSP_PSEUDONYM_KEY_FILE"] == f"/run/secrets/{KEY_SECRET}", name
        else:
            assert "CSP_PSEUDONYM_KEY_FILE" not in env, name
    assert "CSP_PSEUDONYM_KEY=" not in (PROJECT_DIR / ".env.example").read_text()


def test_the_key_file_is_never_committed_nor_sent_to_the_build():
    ignored = subprocess.run(["git", "check-ignore", "-q", "secrets/pseudonym.key"], cwd=PROJECT_DIR)
    assert ignored.returncode == 0
    assert "secrets" in (PROJECT_DIR / ".dockerignore").read_text().split()


def test_the_ui_passwords_reach_only_the_init_service():
    for name, svc in SERVICES.items():
        passwords = {k for k in environment(svc) if k in ("AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_VIEWER_PASSWORD")}
        assert not passwords or name == "airflow-init", name


def test_services_that_run_no_task_hold_no_platform_secret():
    quiet = {"airflow-scheduler", "airflow-dag-processor", "airflow-init", "flower"}
    for name in quiet:
        assert not any(name in holders(secret) for secret in USERS), name
