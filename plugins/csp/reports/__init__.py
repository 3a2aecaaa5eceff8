"""Rendering the partnership's intelligence products from the marts and analysis tables
(templates in report_templates/). Every figure in a report is read from the warehouse, never
recomputed from files, so the report and the marts cannot disagree.

Products, for the latest reportable period (csp.reports.readiness):
- strategic assessment per CSP per year, and its public summary (disclosure-controlled);
- tactical assessment per CSP for the latest quarter;
- county roll-up per two-tier county;
- problem profile for a chosen theme and area, on request (DAG run parameters or `csp report`).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from csp.config import Settings
from csp.geography import Partnership, ServedArea, served_area
from csp.reports import readiness
from csp.warehouse.period import UNDECIDED, Period, Undecided, reportable_period
from csp.templating import render

log = logging.getLogger(__name__)
KINDS = ("strategic", "tactical", "public_summary", "county", "problem_profile")


@dataclass(frozen=True)
class Report:
    """One document to render: what it is, where it goes, how to build its context and how to
    write it (the public summary has its own writer, which refuses unprotected tables)."""
    kind: str
    subject: str  # the CSP or county code (and theme, for a problem profile)
    title: str
    template: str | None
    path: Path
    context: Callable[[Connection], dict]
    writer: Callable[[dict, Path], Path] | None = None

    def write(self, context: dict) -> Path:
        if self.writer is not None:
            return self.writer(context, self.path)
        return render(self.template, context, self.path)


@dataclass
class RenderSummary:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    waiting: str | None = None  # why nothing could be rendered yet


def area_names(area: ServedArea) -> dict[str, str]:
    return {**{p.code: p.name for p in area.partnerships}, **dict(area.counties)}


def year_label(period: Period) -> str:
    return f"{period.quarters[0].start:%Y-%m}_to_{period.last.months[-1]:%Y-%m}"


def planned_reports(settings: Settings, area: ServedArea, period: Period, kinds=KINDS[:-1]) -> list[Report]:
    """Every routine report of the period: per CSP the strategic assessment, its public summary
    and the tactical assessment of the latest quarter; per county the roll-up."""
    from csp.reports.public_summary import public_summary, render_public_summary
    from csp.reports.strategic import strategic_assessment
    from csp.reports.tactical import tactical_assessment

    out, year = settings.out_dir, year_label(period)
    reports = []
    for p in area.partnerships:
        if "strategic" in kinds:
            reports.append(Report(
                "strategic", p.code, f"Strategic assessment: {p.name}", "strategic_assessment.html.j2",
                out / "strategic" / year / f"{p.code}.html",
                lambda conn, p=p: strategic_assessment(conn, p, period, settings.reference_dir,
                                                       settings.partnership_dir)))
        if "public_summary" in kinds:
            reports.append(Report(
                "public_summary", p.code, f"Community safety in {p.name}: public summary", None,
                out / "public_summary" / year / f"{p.code}.html",
                lambda conn, p=p: public_summary(conn, p, period, settings.partnership_dir, settings.reference_dir),
                writer=render_public_summary))
        if "tactical" in kinds:
            reports.append(Report(
                "tactical", p.code, f"Tactical assessment: {p.name}, {period.last.label}",
                "tactical_assessment.html.j2",
                out / "tactical" / period.last.label / f"{p.code}.html",
                lambda conn, p=p: tactical_assessment(conn, p, period, settings.partnership_dir,
                                                      not_held=dict(settings.area.get("not_held", {})))))
    if "county" in kinds:
        for code, name in area.counties:
            districts = [p for p in area.partnerships if p.county_code == code]
            if districts:
                reports.append(Report(
                    "county", code, f"County roll-up: {name}", "county_rollup.html.j2",
                    out / "county" / year / f"{code}.html",
                    lambda conn, c=(code, name), d=districts: county_context(conn, c, d, period)))
    return reports


def county_context(conn: Connection, county: tuple[str, str], districts: list[Partnership], period: Period) -> dict:
    """The roll-up with the headline every product shows (csp.reports.counting), over its districts."""
    from csp.reports import counting
    from csp.reports.county import county_rollup

    return {**county_rollup(conn, county, districts, period),
            "counted": counting.headline(conn, [p.code for p in districts], period)}


def problem_profile_report(settings: Settings, area: ServedArea, period: Period, theme: str, area_code: str) -> Report:
    from csp.reports.problem_profile import problem_profile
    from csp.reports.queries import theme_name

    return Report(
        "problem_profile", f"{area_code}/{theme}", f"Problem profile: {theme_name(theme)} in {area_code}",
        "problem_profile.html.j2",
        settings.out_dir / "problem_profile" / year_label(period) / f"{area_code}_{theme}.html",
        lambda conn: problem_profile(conn, area.partnerships, period, settings.reference_dir,
                                     settings.partnership_dir, theme=theme, area=area_code))


def pdf_workers() -> int:
    return int(os.environ.get("CSP_PDF_WORKERS", os.cpu_count() or 1))


def render_reports(settings: Settings, reports: list[Report], conn: Connection, period: Period,
                   summary: RenderSummary, *, force: bool = False) -> RenderSummary:
    """Render each report whose inputs changed (or all, with ``force``), its PDF (laid out by
    worker processes while the next report renders, csp.reports.pdf.PdfLayout), then the
    manifests (the return versions and code version each was built from). A manifest is
    written only once every PDF exists, so a failure leaves the reports to be rendered again
    by the next run."""
    from csp.reports.pdf import PdfLayout

    rendered = []
    with PdfLayout(pdf_workers()) as layout:
        for report in reports:
            if not force and readiness.unchanged(report.path, readiness.fingerprint(period)):
                summary.unchanged.append(report.path)
                continue
            report.path.with_suffix(".json").unlink(missing_ok=True)  # until its PDF is done
            report.write(report.context(conn))
            layout.submit(report.path)
            rendered.append(report)
    for report in rendered:
        readiness.record(report.path, period, kind=report.kind, subject=report.subject, title=report.title)
        summary.written.append(report.path)
        log.info("reports: wrote %s and its PDF", report.path)
    return summary


def render_all(settings: Settings, *, problem_profiles: tuple[tuple[str, str], ...] = (),
               period: Period | None | Undecided = UNDECIDED) -> RenderSummary:
    """Every routine report of the reportable period (unchanged ones left as they are), any
    requested (theme, area) problem profiles, the index page, and delivery of what was written
    to the analysts. ``period``: the warehouse run's decision (csp.warehouse.period); decided
    here only when called on its own (the CLI, tests)."""
    from csp.reports.delivery import deliver
    from csp.reports.index import write_index
    from csp.reports.publish import publish
    from csp.warehouse.engine import make_engine

    engine = make_engine(settings.warehouse_url)
    summary = RenderSummary()
    with engine.connect() as conn:
        if period is UNDECIDED:
            period = reportable_period(conn)
        if period is None:
            summary.waiting = "no quarter is complete or past its deadline yet"
            log.info("reports: %s", summary.waiting)
            return summary
        area = served_area(settings.reference_dir, settings.area)
        reports = planned_reports(settings, area, period)
        reports += [problem_profile_report(settings, area, period, theme, code) for theme, code in problem_profiles]
        render_reports(settings, reports, conn, period, summary)
    engine.dispose()
    write_index(settings.out_dir, names=area_names(area))
    # Unchanged reports too: a publication or delivery that failed after rendering is retried;
    # copies are idempotent and receipts (csp.reports.delivery) keep a report from being sent twice.
    publish(settings, summary.written + summary.unchanged)
    deliver(settings, summary.written + summary.unchanged)
    return summary


def render_report(settings: Settings, *, kind: str, partnership: str | None = None, theme: str | None = None,
                  area: str | None = None) -> list[Path]:
    """Render one kind of report on demand (`csp report`), always afresh: for one partnership
    or county (``partnership``), or every one; a problem profile needs ``theme`` and ``area``."""
    from csp.reports.index import write_index
    from csp.reports.publish import publish
    from csp.warehouse.engine import make_engine

    if kind not in KINDS:
        raise ValueError(f"unknown report kind {kind!r}; kinds: {', '.join(KINDS)}")
    engine = make_engine(settings.warehouse_url)
    with engine.connect() as conn:
        period = reportable_period(conn)
        if period is None:
            raise LookupError("no quarter is complete or past its deadline yet: nothing to report")
        served = served_area(settings.reference_dir, settings.area)
        if kind == "problem_profile":
            if not (theme and area):
                raise ValueError("a problem profile needs a theme and an area (a CSP or ward code)")
            reports = [problem_profile_report(settings, served, period, theme, area)]
        else:
            reports = [r for r in planned_reports(settings, served, period, kinds=(kind,))
                       if partnership is None or r.subject == partnership]
            if not reports:
                raise LookupError(f"no {kind} report for {partnership!r} in the served area")
        summary = render_reports(settings, reports, conn, period, RenderSummary(), force=True)
    engine.dispose()
    write_index(settings.out_dir, names=area_names(served))
    publish(settings, summary.written)
    return summary.written
