"""What a rendered report is, read back from the files render_all writes:
``<out>/<report type>/<period>/<partnership>.html`` with its manifest ``<partnership>.json``
(csp.reports.readiness.record). What the manifest says (``kind``, ``subject``: the CSP or county
code, "<area>/<theme>" for a problem profile, ``title``, ``generated_at``) wins over what the
path suggests; the path and the HTML <title> are the fallback for a report without one."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

YEAR_FOLDER = re.compile(r"(\d{4}-\d{2})_to_(\d{4}-\d{2})")
REPORT_TYPE_NAMES = {
    "strategic": "Strategic assessment",
    "tactical": "Tactical assessment",
    "problem_profile": "Problem profile",
    "problem_profiles": "Problem profile",
    "public_summary": "Public summary",
    "county": "County roll-up",
    "county_rollup": "County roll-up",
}


@dataclass(frozen=True)
class ReportEntry:
    html: Path
    report_type: str  # folder name, e.g. "strategic"
    period: str  # folder name, e.g. "2023-04_to_2024-03"
    subject: str  # CSP code, county code, or "<area code>/<theme>" for a problem profile
    title: str  # the HTML <title>
    quarters: tuple[str, ...]
    provisional: bool | None  # None: no manifest says
    generated_at: datetime  # UTC
    fingerprint: str  # the manifest's, or the HTML's modification time when there is none

    @property
    def pdf(self) -> Path:
        return self.html.with_suffix(".pdf")

    @property
    def manifest(self) -> Path:
        return self.html.with_suffix(".json")

    @property
    def area(self) -> str:
        """The CSP, county or ward code the report is about."""
        return self.subject.split("/")[0]

    @property
    def type_name(self) -> str:
        return REPORT_TYPE_NAMES.get(self.report_type, self.report_type.replace("_", " ").capitalize())

    @property
    def period_label(self) -> str:
        """The report's period as its folder names it: '2023-04_to_2024-03' reads 'April 2023
        to March 2024'; a quarter folder such as '2024Q1' reads as it is. (The manifest's
        quarters are the inputs, which for a tactical assessment span more than its quarter.)"""
        months = YEAR_FOLDER.fullmatch(self.period)
        if months is None:
            return self.period.replace("_", " ")
        first, last = (datetime.strptime(m, "%Y-%m") for m in months.groups())
        return f"{first:%B %Y} to {last:%B %Y}"


def read_entry(html_path: Path) -> ReportEntry:
    html_path = Path(html_path)
    manifest_path = html_path.with_suffix(".json")
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    stamped = manifest_path if manifest_path.exists() else html_path
    generated = manifest.get("generated_at")
    generated_at = (datetime.fromisoformat(generated) if generated
                    else datetime.fromtimestamp(stamped.stat().st_mtime, UTC))
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=UTC)
    return ReportEntry(
        html=html_path,
        report_type=manifest.get("kind") or html_path.parent.parent.name,
        period=html_path.parent.name,
        subject=manifest.get("subject") or html_path.stem,
        title=manifest.get("title") or html_title(html_path) or html_path.stem,
        quarters=tuple(manifest.get("quarters", ())),
        provisional=manifest.get("provisional"),
        generated_at=generated_at.astimezone(UTC),
        fingerprint=manifest.get("fingerprint") or f"mtime:{html_path.stat().st_mtime_ns}",
    )


def find_reports(out_dir: Path) -> list[ReportEntry]:
    """Every report under ``out_dir`` (an HTML file two folders down: type/period/name.html)."""
    return [read_entry(p) for p in sorted(Path(out_dir).glob("*/*/*.html"))]


class _TitleParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.inside = False
        self.done = False

    def handle_starttag(self, tag, attrs):
        self.inside = tag == "title" and not self.done

    def handle_endtag(self, tag):
        if tag == "title":
            self.inside, self.done = False, True

    def handle_data(self, data):
        if self.inside:
            self.parts.append(data)


def html_title(html_path: Path) -> str:
    """The document's <title>, whitespace collapsed ('' when there is none)."""
    parser = _TitleParser()
    with Path(html_path).open(encoding="utf-8") as fh:
        # The title is in the head: stop reading at the body instead of parsing megabytes of SVG.
        for line in fh:
            parser.feed(line)
            if parser.done or "<body" in line:
                break
    return " ".join("".join(parser.parts).split())
