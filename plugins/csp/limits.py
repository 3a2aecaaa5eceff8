"""Limits on what one return may be (config/limits.toml): the largest file and the most rows
per return of each source format, the decompression caps of .xlsx (and any zip archive), and
text files with NUL bytes. Each refusal is a ``LimitExceeded`` (a ``RefusedFile``: one line
naming the file, the limit and the rule), raised before the file is parsed or copied, so a
refused file costs little memory or time and changes nothing else.

Checks that read a file stream it in chunks (NUL bytes, copying, zip members); the parsers
themselves hold a file in memory, which the file limit bounds.
"""
from __future__ import annotations

import io
import os
import stat
import tomllib
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from csp import safe_paths
from csp.config import PROJECT_DIR
from csp.registry import SOURCE_FORMATS
from csp.safe_paths import RefusedFile

LIMITS_FILE = PROJECT_DIR / "config" / "limits.toml"
MIB = 1 << 20
TEXT_SUFFIXES = (".csv",)  # text formats: a NUL byte means UTF-16 or binary, never text
ARCHIVE_SUFFIXES = (".xlsx", ".zip")
NUL = b"\x00"


class LimitExceeded(RefusedFile):
    """A file or return beyond a configured limit."""


@dataclass(frozen=True)
class FormatLimits:
    max_file_bytes: int
    max_return_rows: int


@dataclass(frozen=True)
class ArchiveLimits:
    max_uncompressed_bytes: int
    max_ratio: float
    max_members: int


@dataclass(frozen=True)
class Limits:
    source: Path
    default: FormatLimits
    formats: dict[str, FormatLimits]
    archive: ArchiveLimits

    def of(self, format_id: str) -> FormatLimits:
        return self.formats.get(format_id, self.default)


def limits_file() -> Path:
    return Path(os.environ.get("CSP_LIMITS_FILE", LIMITS_FILE))


def current() -> Limits:
    path = limits_file()
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    return _load(str(path), mtime)


@lru_cache(maxsize=4)
def _load(path: str, mtime: int) -> Limits:
    with open(path, "rb") as fh:
        config = tomllib.load(fh)

    def format_limits(section: dict, fallback: FormatLimits | None) -> FormatLimits:
        mib = section.get("max_file_mib", fallback and fallback.max_file_bytes / MIB)
        rows = section.get("max_return_rows", fallback and fallback.max_return_rows)
        if not (isinstance(mib, int | float) and mib > 0 and isinstance(rows, int) and rows > 0):
            raise ValueError(f"{path}: max_file_mib and max_return_rows must be positive numbers: {section}")
        return FormatLimits(int(mib * MIB), rows)

    default = format_limits(config.get("default", {}), None)
    xlsx = config.get("xlsx", {})
    archive = ArchiveLimits(int(xlsx.get("max_uncompressed_mib", 512) * MIB),
                            float(xlsx.get("max_ratio", 100)), int(xlsx.get("max_members", 1000)))
    formats = {fid: format_limits(section, default) for fid, section in config.get("formats", {}).items()}
    if unknown := sorted(set(formats) - set(SOURCE_FORMATS)):
        raise ValueError(f"{path}: no source format {', '.join(unknown)} (csp.registry.SOURCE_FORMATS)")
    return Limits(Path(path), default, formats, archive)


def _where() -> str:
    return f"(limit in {limits_file().name}, CSP_LIMITS_FILE)"


# --- files -------------------------------------------------------------------------------


def check_size(path: Path, size: int, format_id: str) -> None:
    limit = current().of(format_id).max_file_bytes
    if size > limit:
        raise LimitExceeded(path, "file_too_large",
                            f"{size:,} bytes, more than the {limit // MIB:,} MiB a {format_id} file may be {_where()}")


def check_file(path: Path, format_id: str) -> None:
    """Refuse the file before it is parsed: too large for its format, or (an archive)
    beyond the decompression caps or, by its rows, beyond the format's rows per return."""
    with safe_paths.open_file(path) as fh:
        check_size(path, os.fstat(fh.fileno()).st_size, format_id)
        if _is_archive_of(path, format_id):
            check_archive(path, fh)
            if path.suffix.lower() == ".xlsx":
                check_rows(path, xlsx_rows_at_most(fh), format_id)


def _is_archive_of(path: Path, format_id: str) -> bool:
    """An archive the format is delivered as (anything else is the adapter's to refuse)."""
    suffix = path.suffix.lower()
    return suffix in ARCHIVE_SUFFIXES and any(
        glob.lower().endswith(suffix) for glob in SOURCE_FORMATS[format_id].file_globs)


def check_files(files: dict[str, list[Path]]) -> None:
    for format_id, paths in files.items():
        for path in paths:
            check_file(path, format_id)


def check_rows(what: Path | str, rows: int, format_id: str) -> None:
    limit = current().of(format_id).max_return_rows
    if rows > limit:
        raise LimitExceeded(what, "too_many_rows",
                            f"{rows:,} rows, more than the {limit:,} a {format_id} return may have {_where()}")


# --- archives ----------------------------------------------------------------------------


def check_archive(path: Path, fh: BinaryIO) -> None:
    """A zip archive (.xlsx is one) whose members stay within the caps, judged from its
    central directory before anything is decompressed. Python's zipfile stops a member at its
    declared size (a member that decompresses to more fails its check), so the declared sizes
    bound what reading it can cost. Members that are links, or whose names leave the archive's
    folder, are refused too (for archives that are unpacked)."""
    caps = current().archive
    try:
        members = zipfile.ZipFile(fh).infolist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise LimitExceeded(path, "unreadable_archive", f"not a readable zip archive ({error})") from None
    finally:
        fh.seek(0)
    if len(members) > caps.max_members:
        raise LimitExceeded(path, "archive_too_many_members",
                            f"{len(members):,} members, more than {caps.max_members:,} {_where()}")
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if ratio > caps.max_ratio and member.file_size > MIB:
            raise LimitExceeded(path, "archive_ratio",
                                f"member {member.filename!r} expands {ratio:,.0f} times ({member.compress_size:,} "
                                f"to {member.file_size:,} bytes), more than {caps.max_ratio:,.0f} {_where()}: "
                                "a zip bomb?")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise LimitExceeded(path, "archive_link", f"member {member.filename!r} is a symbolic link")
        name = member.filename.replace("\\", "/")
        if name.startswith("/") or ".." in name.split("/"):
            raise LimitExceeded(path, "archive_path", f"member {member.filename!r} leaves the archive's folder")
    if total > caps.max_uncompressed_bytes:
        raise LimitExceeded(path, "archive_too_large",
                            f"{total:,} bytes uncompressed, more than "
                            f"{caps.max_uncompressed_bytes // MIB:,} MiB {_where()}")


def check_archive_bytes(path: Path, data: bytes) -> None:
    check_archive(path, io.BytesIO(data))


def xlsx_rows_at_most(fh: BinaryIO) -> int:
    """An upper bound on the rows of an .xlsx file's sheets, counted by streaming their XML
    (``<row`` elements; bounded memory): a return that is refused for its rows is refused
    before pandas builds it."""
    marker, rows = b"<row", 0
    try:
        with zipfile.ZipFile(fh) as archive:
            for name in archive.namelist():
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                tail = b""  # a marker split between chunks: too short to hold a whole one
                with archive.open(name) as sheet:
                    for chunk in safe_paths.stream(sheet):
                        data = tail + chunk
                        rows += data.count(marker)
                        tail = data[-(len(marker) - 1):]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return 0  # unreadable: pandas refuses it with its own message
    finally:
        fh.seek(0)
    return rows


# --- copying -------------------------------------------------------------------------------


def copy_checked(source: Path, target: BinaryIO, format_id: str | None = None) -> int:
    """Copy an input file into ``target`` in chunks, refusing it (before the copy is put in
    place by the caller) when it is not a plain file, sparse, beyond the format's file limit,
    or a text file with a NUL byte. Returns the bytes copied."""
    copied, text = 0, source.suffix.lower() in TEXT_SUFFIXES
    limit = current().of(format_id).max_file_bytes if format_id else None
    with safe_paths.open_file(source) as fh:
        if limit is not None:
            check_size(source, os.fstat(fh.fileno()).st_size, format_id)
        for chunk in safe_paths.stream(fh):
            if text and NUL in chunk:
                raise _nul_bytes(source, copied + chunk.index(NUL))
            copied += len(chunk)
            if limit is not None and copied > limit:
                check_size(source, copied, format_id)  # it grew while being copied
            target.write(chunk)
    return copied


def _nul_bytes(path: Path, offset: int) -> LimitExceeded:
    return LimitExceeded(path, "nul_bytes", f"a NUL byte at offset {offset:,}: UTF-16 or binary, "
                         "not UTF-8 or Windows-1252 text")
