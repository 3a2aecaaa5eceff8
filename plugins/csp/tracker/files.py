"""The only files the tracker's pages serve, and how a request names them.

A return's files are named by identifiers (dataset id, quarter label, version number), each
checked against the registry and the label format, and the path is built by csp.staging, never
taken from the request. A report is named by its path below the output folder; it must be a
report file (``.html``, ``.pdf``), every part of it a plain name (no ``..``, no absolute path,
no hidden file) and every component a real directory or file, not a symbolic link, so the
resolved file is inside the output folder. Anything else is ``Refused``: the page answers 404
without saying why (a probe learns nothing about the disk).
"""
from __future__ import annotations

import re
import stat
from pathlib import Path

from csp.config import Settings
from csp.quarters import Quarter
from csp.registry import DATASETS

# A return's files beside its ledger entry (csp.staging's layout), by what the page calls them.
RETURN_FILES = {
    "validation": "v{version}.validation.html",  # the Data Docs page of its validation
    "quarantine": "v{version}.quarantine.csv",  # file, line, rule, reason per refused row
}
REPORT_SUFFIXES = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf"}
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class Refused(LookupError):
    """The request names no file the tracker serves."""


def quarter_of(label: str) -> Quarter:
    try:
        quarter = Quarter.parse(label)
    except ValueError as error:
        raise Refused(label) from error
    if quarter.label != label:  # the pattern admits a trailing newline
        raise Refused(label)
    return quarter


def dataset_of(dataset_id: str) -> str:
    if dataset_id not in DATASETS:
        raise Refused(dataset_id)
    return dataset_id


def return_file(settings: Settings, dataset_id: str, quarter_label: str, version: int, kind: str) -> Path:
    """A staged return's validation page or quarantine report, if it exists."""
    from csp.staging import Staging

    if kind not in RETURN_FILES or not isinstance(version, int) or version < 1:
        raise Refused(kind)
    folder = Staging(settings.staging_dir).folder(dataset_of(dataset_id), quarter_of(quarter_label))
    return _regular_file_inside(folder / RETURN_FILES[kind].format(version=version), settings.staging_dir)


def report_file(settings: Settings, relative: str) -> Path:
    """A rendered report (HTML or PDF) below the output folder, named by its relative path."""
    parts = relative.split("/")
    if not relative or "\\" in relative or "\x00" in relative or not all(_PLAIN_NAME.match(p) for p in parts):
        raise Refused(relative)
    path = settings.out_dir.joinpath(*parts)
    if path.suffix not in REPORT_SUFFIXES:
        raise Refused(relative)
    return _regular_file_inside(path, settings.out_dir)


def _regular_file_inside(path: Path, root: Path) -> Path:
    """``path`` itself, when it and every folder between it and ``root`` are what they seem
    (directories, then a regular file, none of them a link) and it resolves inside ``root``."""
    try:
        relative = path.relative_to(root)
    except ValueError as error:
        raise Refused(str(path)) from error
    current = root
    for index, part in enumerate(relative.parts):
        current = current / part
        try:
            mode = current.lstat().st_mode
        except OSError as error:
            raise Refused(str(path)) from error
        last = index == len(relative.parts) - 1
        if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) if last else stat.S_ISDIR(mode)):
            raise Refused(str(path))
    if not current.resolve().is_relative_to(root.resolve()):
        raise Refused(str(path))
    return current
