"""The returns tracker's app (csp.tracker) behind Airflow's own authentication, mounted at /csp
as the API server mounts it: no token gets 401 and a bad one 403 on every route, never data;
a viewer sees the compliance matrix with a late return as late and its days late, every
version, the quarantine summary and the reports; no path outside the data and output folders
is ever served (traversal, links, hidden and non-report files refused), and nothing
personal (the ledger's OS user and host) is shown. The pages in the real Airflow UI, in
Chromium, are tests/ops/test_real_services.py."""
from __future__ import annotations

import json
import os
from datetime import date, datetime

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from support.warehouse import ONE_EVENT, build, stage_authority

from csp import provenance
from csp.quarters import Quarter
from csp.registry import DATASETS
from csp.staging import REJECTED, Staging

Q = Quarter(2024, 1)
LATE = datetime(2024, 7, 21, 10, 30)  # 21 days after 2024Q1's deadline (30 June)
JWT_SECRET = "test-only-jwt-secret-for-the-tracker"
PROCESS_MARKERS = {"hostname": "host-marker-7f3a", "os_user": "user-marker-91c2", "code_version": "test"}


@pytest.fixture
def deployment(workspace, tmp_path, monkeypatch):
    """2024Q1: police and the council on time, fire 21 days late, health's admissions rejected
    then accepted with three quarantined rows, the rest of health not received; a report."""
    monkeypatch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
    # Every ledger entry records the host and OS user that staged it: markers to look for.
    monkeypatch.setattr(provenance, "process_provenance", lambda: dict(PROCESS_MARKERS))
    for authority in ("police", "local_authority"):
        stage_authority(workspace, tmp_path, authority)
    stage_authority(workspace, tmp_path, "fire", received=LATE)
    staging = Staging(workspace.staging_dir)
    admissions = DATASETS["hospital_admissions"]
    rows = [{**ONE_EVENT["hospital_admissions"], "date": date(2024, 2, 10)}]
    from support.warehouse import events_frame

    for version, (status, quarantined) in enumerate([(REJECTED, 0), ("accepted", 3)], start=1):
        path = tmp_path / f"admissions_v{version}.csv"
        path.write_text(f"version {version}\n")
        os.utime(path, (datetime(2024, 4, 20).timestamp(),) * 2)
        quarantine = pd.DataFrame({"source_file": [path.name] * quarantined,
                                   "source_line": [7, 3, 12][:quarantined],
                                   "rule": ["unparseable_date"] * quarantined,
                                   "reason": ["admidate is not a date"] * quarantined})
        staging.stage(admissions, Q, [path], events_frame("hospital_admissions", rows), quarantine,
                      rows_in=1 + quarantined, rows_loaded=1, status=status,
                      failures=["row count below the plausible band"] if status == REJECTED else None,
                      validation_html=f"<html><body>validation of v{version}</body></html>")
    monkeypatch.setenv("CSP_TODAY", "2024-07-25")
    build(workspace)[0].dispose()
    report = workspace.out_dir / "strategic" / "2023-04_to_2024-03" / "E22000168.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html><head><title>Strategic assessment: Leicester</title></head><body>report</body></html>")
    report.with_suffix(".json").write_text(json.dumps({"kind": "strategic", "subject": "E22000168",
                                                       "title": "Strategic assessment: Leicester"}))
    return workspace


@pytest.fixture
def client(deployment):
    from airflow.api_fastapi.app import init_auth_manager
    from conftest import AIRFLOW_HOME

    from csp.runner import configure_airflow
    from csp.tracker.app import URL_PREFIX, create_app

    configure_airflow(AIRFLOW_HOME)  # a migrated metadata database: tokens are checked against revocations
    init_auth_manager()  # what the API server does at start (SimpleAuthManager here)
    server = FastAPI()  # the API server mounts plugin apps like this (airflow.api_fastapi.app)
    server.mount(URL_PREFIX, create_app())
    with TestClient(server) as test_client:
        yield test_client


def token(role: str = "viewer") -> str:
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return create_auth_manager().generate_jwt(SimpleAuthManagerUser(username=f"test-{role}", role=role))


def as_viewer(client, path: str):
    return client.get(path, headers={"Authorization": f"Bearer {token()}"})


ROUTES = ["/csp/returns", "/csp/returns.json", "/csp/returns/fire_incidents/2024Q1",
          "/csp/returns/hospital_admissions/2024Q1/v2/validation",
          "/csp/returns/hospital_admissions/2024Q1/v2/quarantine",
          "/csp/reports", "/csp/reports/strategic/2023-04_to_2024-03/E22000168.html"]


def test_without_a_token_every_route_answers_401_and_no_data(client):
    for path in ROUTES:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json() == {"detail": "Not authenticated"}
    for path in ROUTES:  # a forged token: Airflow's validator refuses it
        response = client.get(path, headers={"Authorization": "Bearer not-a-jwt"})
        assert response.status_code == 403, path
        assert "fire" not in response.text and "late" not in response.text
    forged_cookie = client.get("/csp/returns", cookies={"_token": "x.y.z"})
    assert forged_cookie.status_code == 403


def test_a_viewer_sees_every_route(client):
    for path in ROUTES:
        assert as_viewer(client, path).status_code == 200, path
    # The UI's way: the login cookie, sent by the browser to the framed page.
    client.cookies.set("_token", token())
    assert client.get("/csp/returns").status_code == 200
    client.cookies.clear()


def test_the_matrix_shows_each_state_with_days_late_and_versions(client, deployment):
    page = as_viewer(client, "/csp/returns").text
    assert "Compliance matrix as of 25 July 2024" in page
    data = as_viewer(client, "/csp/returns.json").json()
    cells = {(c["dataset"], c["quarter"]): c for c in data["returns"]}
    assert cells[("fire_incidents", "2024Q1")]["state"] == "late"
    assert cells[("fire_incidents", "2024Q1")]["days_late"] == 21
    assert cells[("police_crimes", "2024Q1")]["state"] == "on_time"
    assert cells[("health_counts", "2024Q1")]["state"] == "not_received"
    assert cells[("ambulance_callouts", "2024Q1")]["state"] == "not_held"
    admissions = cells[("hospital_admissions", "2024Q1")]
    assert admissions["state"] == "on_time" and admissions["in_use"] == 2
    assert [(v["version"], v["status"]) for v in admissions["versions"]] == [(1, "rejected"), (2, "accepted")]
    assert admissions["versions"][1]["rows_quarantined"] == 3
    # The HTML: the late cell says so, with its days, and links the version's pages.
    assert 'data-state="late"' in page and "21 days late" in page
    assert 'href="./returns/fire_incidents/2024Q1/v1/validation"' in page
    assert 'href="./returns/hospital_admissions/2024Q1/v2/quarantine">quarantine (3)' in page
    assert "Needs action" in page and "not received" in page


def test_return_page_lists_every_version_and_the_quarantine_summary(client):
    page = as_viewer(client, "/csp/returns/hospital_admissions/2024Q1").text
    assert "v2 (in use)" in page and "rejected" in page and "row count below the plausible band" in page
    # Relative links from a page two levels down reach the app's root.
    assert 'href="../../returns"' in page
    assert 'href="../../returns/hospital_admissions/2024Q1/v1/validation"' in page
    assert as_viewer(client, "/csp/returns/hospital_admissions/2024Q1/v1/validation").text == \
        "<html><body>validation of v1</body></html>"
    summary = as_viewer(client, "/csp/returns/hospital_admissions/2024Q1/v2/quarantine").text
    assert "unparseable_date" in summary and "admidate is not a date" in summary
    assert "3, 7, 12" in summary  # the lines, in order


def test_nothing_personal_is_shown(client, deployment):
    """The ledger records who staged each version (host, OS user): the pages show the run."""
    ledger = Staging(deployment.staging_dir).ledger()
    assert set(ledger["os_user"].dropna()) == {PROCESS_MARKERS["os_user"]}
    pages = "".join(as_viewer(client, path).text for path in ROUTES[:5])
    assert PROCESS_MARKERS["os_user"] not in pages and PROCESS_MARKERS["hostname"] not in pages


REFUSED = [
    "/csp/reports/..%2F..%2F..%2Fetc%2Fpasswd",
    "/csp/reports/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/csp/reports/strategic/..%2f..%2f..%2fdata%2fstaging%2fpolice_crimes%2f2024Q1%2fv1.json",
    "/csp/reports//etc/passwd",
    "/csp/reports/%2Fetc%2Fpasswd",
    "/csp/reports/strategic/2023-04_to_2024-03/E22000168.json",  # a manifest, not a report
    "/csp/reports/strategic/2023-04_to_2024-03/.hidden.html",
    "/csp/reports/strategic/2023-04_to_2024-03/E22000168.html%00.pdf",
    "/csp/reports/strategic/2023-04_to_2024-03\\E22000168.html",
    "/csp/reports/linked/outside.html",  # a link inside the output folder to a file outside
    "/csp/reports/linked-folder/secret.html",  # a linked folder
    "/csp/returns/..%2F..%2Fetc/2024Q1/v1/validation",
    "/csp/returns/police_crimes/2024Q1%0A/v1/validation",
    "/csp/returns/police_crimes/2024Q1/v0/validation",
    "/csp/returns/police_crimes/2024Q1/v1%2F..%2F..%2Fv1/validation",
    "/csp/returns/police_crimes/2024Q1/1/validation",
    "/csp/returns/police_crimes/2024Q1/v1/parquet",
    "/csp/returns/no_such_dataset/2024Q1",
    "/csp/returns/police_crimes/2024Q5",
]


def test_no_path_outside_the_data_and_output_folders_is_served(client, deployment, tmp_path):
    secret = tmp_path / "secret.html"
    secret.write_text("<html>SECRET outside the output folder</html>")
    (deployment.out_dir / "linked").mkdir()
    (deployment.out_dir / "linked" / "outside.html").symlink_to(secret)
    (deployment.out_dir / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    (deployment.out_dir / "strategic" / "2023-04_to_2024-03" / ".hidden.html").write_text("hidden")
    for path in REFUSED:
        response = as_viewer(client, path)
        assert response.status_code == 404, (path, response.status_code)
        assert "SECRET" not in response.text and "root:" not in response.text
    # The same request shapes work for a real file: the refusals above are the rules, not luck.
    served = as_viewer(client, "/csp/reports/strategic/2023-04_to_2024-03/E22000168.html")
    assert served.status_code == 200 and "report" in served.text
    assert served.headers["x-content-type-options"] == "nosniff"


def test_reports_page_lists_reports_by_partnership(client):
    page = as_viewer(client, "/csp/reports").text
    assert "Leicester" in page and "April 2023 to March 2024" in page
    assert 'href="./reports/strategic/2023-04_to_2024-03/E22000168.html"' in page


def test_an_unbuilt_warehouse_is_a_message(client, deployment, monkeypatch, tmp_path):
    monkeypatch.setenv("CSP_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'none.duckdb'}")
    response = as_viewer(client, "/csp/returns")
    assert response.status_code == 503 and "not available right now" in response.text


def test_the_plugin_is_the_only_file_airflow_loads_from_plugins(tmp_path):
    """Airflow's own plugin loader over the project's plugins folder (what every Airflow
    process runs): one plugin, the two pages in the navigation, and loading it imports neither
    the csp package file by file nor anything heavy (the app is built when the API server
    asks for it)."""
    import subprocess
    import sys

    from csp.config import PROJECT_DIR

    script = (
        "import json, sys\n"
        "from airflow._shared.plugins_manager.plugins_manager import _load_plugins_from_plugin_directory\n"
        "plugins, errors = _load_plugins_from_plugin_directory(sys.argv[1])\n"
        "print(json.dumps({'names': [p.name for p in plugins], 'errors': errors,\n"
        "  'views': [(v['name'], v['href'], v['url_route'], v['destination']) for v in plugins[0].external_views],\n"
        "  'imported': sorted(m for m in ('registry', 'staging', 'returns', 'app', 'csp.tracker.app', 'pandas',\n"
        "                                 'fastapi') if m in sys.modules)}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(PROJECT_DIR / "plugins")], capture_output=True,
                         text=True, check=True, env={**os.environ, "AIRFLOW_HOME": str(tmp_path)})
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded["names"] == ["csp_returns_tracker"] and loaded["errors"] == {}
    assert loaded["views"] == [["Returns", "csp/returns", "csp-returns", "nav"],
                               ["Reports", "csp/reports", "csp-reports", "nav"]]
    assert loaded["imported"] == []

    sys.path.insert(0, str(PROJECT_DIR / "plugins"))
    try:
        from returns_tracker import ReturnsTrackerPlugin
    finally:
        sys.path.remove(str(PROJECT_DIR / "plugins"))
    (app,) = ReturnsTrackerPlugin().fastapi_apps
    assert app["url_prefix"] == "/csp" and {r.path for r in app["app"].routes} >= {"/returns", "/reports"}
