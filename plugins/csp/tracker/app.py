"""The FastAPI app behind the Returns and Reports pages, mounted by Airflow's API server at
``URL_PREFIX`` (plugins/returns_tracker.py) and shown inside the Airflow UI as external views.

Airflow does not authenticate a plugin's app: every route here depends on ``reader``, which
takes the caller from Airflow's own token (the UI's ``_token`` cookie, or a Bearer token for
scripts) and asks Airflow's auth manager whether that user may see the custom view
``RESOURCE``. No token: 401; a bad token or a user without the right: 403; never data.
Handlers are plain functions (FastAPI runs them in its thread pool): they read the
warehouse and the data folder with blocking calls.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from csp import legislation

URL_PREFIX = "/csp"
RESOURCE = "CSP returns tracker"
QUARTERS_SHOWN = 8  # the Returns page's default: two years of quarters
_VERSION = re.compile(r"^v([1-9][0-9]{0,5})$")


@lru_cache(maxsize=1)
def _templates():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("csp.tracker", "templates"), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals["si"] = legislation.INSTRUMENTS  # as the reports' environment (csp.templating)
    return env


def _to_root(request: Request) -> str:
    """The relative link from this page to the app's root ('./', '../', ...), so links work
    wherever the API server is published (behind a proxy prefix too)."""
    below = request.url.path[len(request.scope.get("root_path", "")):].strip("/").split("/")
    return "../" * (len(below) - 1) or "./"


def _page(request: Request, template: str, status_code: int = 200, **values) -> HTMLResponse:
    html = _templates().get_template(template).render(root=_to_root(request), **values)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


# Served pages and files: never cached by a shared cache, never framed by another site (the
# Airflow UI frames them from the same origin), no content-type guessing.
PAGE_HEADERS = {
    "Cache-Control": "private, no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'self'",
}


@lru_cache(maxsize=4)
def _area_names(area_file: str, modified: float, reference_dir: str) -> dict[str, str]:
    from csp.config import settings
    from csp.geography import served_area
    from csp.reports import area_names

    return area_names(served_area(Path(reference_dir), settings().area))


def area_names(current) -> dict[str, str]:
    """CSP and county code -> name, for the area the deployment serves (cached per area file)."""
    return _area_names(str(current.area_file), current.area_file.stat().st_mtime, str(current.reference_dir))


async def reader(user: GetUserDep):
    """The caller, from Airflow's token (Bearer header, else the UI's ``_token`` cookie: 401
    without one, 403 when invalid), if Airflow's auth manager lets it see ``RESOURCE``."""
    if not get_auth_manager().is_authorized_custom_view(method="GET", resource_name=RESOURCE, user=user):
        raise HTTPException(status_code=403, detail="Forbidden")
    return user


def _cell_json(cell) -> dict:
    return {
        "authority": cell.authority, "dataset": cell.dataset, "quarter": cell.quarter, "state": cell.state,
        "due_date": cell.due_date.isoformat(), "days_late": cell.days_late,
        "in_use": cell.in_use.number if cell.in_use else None,
        "versions": [{"version": v.number, "status": v.status, "received_at": v.received_at,
                      "days_late": v.days_late, "rows_in": v.rows_in, "rows_loaded": v.rows_loaded,
                      "rows_quarantined": v.rows_quarantined} for v in cell.versions],
    }


def create_app() -> FastAPI:
    from csp.config import settings
    from csp.status import WarehouseUnavailable
    from csp.tracker import files, report_list, returns

    app = FastAPI(title="CSP returns tracker", dependencies=[Depends(reader)],
                  docs_url=None, redoc_url=None, openapi_url=None)

    def not_found():
        return HTTPException(status_code=404, detail="Not found")

    def version_number(label: str) -> int:
        match = _VERSION.match(label)
        if match is None:
            raise not_found()
        return int(match[1])

    @app.get("/returns")
    def returns_page(request: Request, last: int = QUARTERS_SHOWN):
        current = settings()
        try:
            tracker = returns.tracker(current, last=max(1, min(last, 400)))
        except WarehouseUnavailable as unavailable:
            return _page(request, "unavailable.html.j2", status_code=503, reason=str(unavailable))
        return _page(request, "returns.html.j2", tracker=tracker, last=last)

    @app.get("/returns.json")
    def returns_json(last: int = QUARTERS_SHOWN):
        try:
            tracker = returns.tracker(settings(), last=max(1, min(last, 400)))
        except WarehouseUnavailable as unavailable:
            return JSONResponse({"detail": str(unavailable)}, status_code=503, headers=PAGE_HEADERS)
        return JSONResponse({
            "as_of": tracker.as_of.isoformat(),
            "quarters": list(tracker.quarters),
            "returns": [_cell_json(c) for c in tracker.cells.values()],
        }, headers=PAGE_HEADERS)

    @app.get("/returns/{dataset}/{quarter}")
    def return_page(request: Request, dataset: str, quarter: str):
        try:
            files.dataset_of(dataset), files.quarter_of(quarter)
            tracker = returns.tracker(settings())
        except files.Refused:
            raise not_found() from None
        except WarehouseUnavailable as unavailable:
            return _page(request, "unavailable.html.j2", status_code=503, reason=str(unavailable))
        cell = tracker.cell(dataset, quarter)
        if cell is None:
            raise not_found()
        return _page(request, "return.html.j2", cell=cell, row=next(r for r in tracker.rows if r.dataset == dataset),
                     as_of=tracker.as_of)

    @app.get("/returns/{dataset}/{quarter}/{version}/validation")
    def validation_page(dataset: str, quarter: str, version: str):
        try:
            path = files.return_file(settings(), dataset, quarter, version_number(version), "validation")
        except files.Refused:
            raise not_found() from None
        return FileResponse(path, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    @app.get("/returns/{dataset}/{quarter}/{version}/quarantine")
    def quarantine_page(request: Request, dataset: str, quarter: str, version: str):
        number = version_number(version)
        try:
            path = files.return_file(settings(), dataset, quarter, number, "quarantine")
        except files.Refused:
            raise not_found() from None
        return _page(request, "quarantine.html.j2", dataset=dataset, quarter=quarter, version=number,
                     title=returns.DATASETS[dataset].title, rules=returns.quarantine_summary(path),
                     lines_shown=returns.LINES_SHOWN)

    @app.get("/reports")
    def reports_page(request: Request):
        from csp.reports.catalogue import find_reports

        current = settings()
        entries = find_reports(current.out_dir) if current.out_dir.is_dir() else []
        return _page(request, "reports.html.j2",
                     areas=report_list.by_area(entries, current.out_dir, area_names(current)))

    @app.get("/reports/{relative:path}")
    def report_file(relative: str):
        try:
            path = files.report_file(settings(), relative)
        except files.Refused:
            raise not_found() from None
        return FileResponse(path, media_type=files.REPORT_SUFFIXES[path.suffix], headers=PAGE_HEADERS)

    return app
