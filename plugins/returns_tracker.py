"""Airflow plugin: the returns tracker in the Airflow UI. A "Returns" page (the compliance
matrix) and a "Reports" page in the navigation, served by a FastAPI app that the API server
mounts at /csp. All logic lives in plugins/csp/tracker.

Every Airflow process loads plugins (the scheduler, workers, the DAG processor), only the API
server mounts FastAPI apps: the app is built on first use, so this file imports nothing
beyond Airflow's plugin base class.
"""
from functools import cached_property

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/csp"  # csp.tracker.app.URL_PREFIX; kept literal so loading this file stays light


class ReturnsTrackerPlugin(AirflowPlugin):
    name = "csp_returns_tracker"
    # Shown inside the UI (an iframe at /plugin/<url_route>); href is relative to the UI's base.
    external_views = [
        {"name": "Returns", "href": URL_PREFIX.lstrip("/") + "/returns", "url_route": "csp-returns",
         "destination": "nav", "nav_top_level": True},
        {"name": "Reports", "href": URL_PREFIX.lstrip("/") + "/reports", "url_route": "csp-reports",
         "destination": "nav", "nav_top_level": True},
    ]

    @cached_property
    def fastapi_apps(self):
        from csp.tracker.app import create_app

        return [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "CSP returns tracker"}]
