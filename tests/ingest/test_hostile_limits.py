"""Limits and dates that cannot be, through the real ingest path: files too large for their
format, too many rows, .xlsx zip bombs and other archives beyond their caps, sparse files,
and records dated after today or before the platform's first quarter (which never become a
quarter of their own in ``csp history``). Each refusal is one line naming the file, the
limit and the rule, before anything is parsed, and costs the other returns nothing.

Every test runs under a JailGuard (nothing read or written outside the data folder); the
table of these cases is in docs/reliability.md, the limits in docs/operations.md.
"""
from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from support.hostile import ASB, TEMPLATES, asb_return, guard, landing  # noqa: F401 (fixtures)

from csp import history, ingest, limits
from csp.limits import LimitExceeded
from csp.quarters import Quarter
from csp.safe_paths import UnsafePath
from csp.staging import Staging

Q = Quarter(2024, 1)
FIRE_XLSX = "fire_other_incidents_2024Q1.xlsx"


@pytest.fixture
def fire_landing(workspace) -> Path:
    folder = workspace.landing_dir / "fire" / Q.label
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def set_limits(tmp_path, monkeypatch):
    """set_limits(toml text): a limits file of the test's own (CSP_LIMITS_FILE)."""
    def write(text: str) -> Path:
        path = tmp_path / "limits.toml"
        path.write_text("[default]\nmax_file_mib = 64\nmax_return_rows = 250_000\n" + text)
        monkeypatch.setenv("CSP_LIMITS_FILE", str(path))
        return path
    return write


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def real_xlsx(rows: int) -> bytes:
    """A fire_other_incidents workbook from the contract's template, ``rows`` data rows."""
    template = pd.read_csv(TEMPLATES / "fire_other_incidents.csv", dtype=str)
    frame = pd.concat([template.iloc[[0]]] * rows, ignore_index=True)
    frame["incident_ref"] = [f"F-{i}" for i in range(rows)]
    out = io.BytesIO()
    frame.to_excel(out, index=False)
    return out.getvalue()


def zip_bomb(uncompressed_mib: int) -> bytes:
    """A workbook-shaped zip whose sheet is ``uncompressed_mib`` MiB of one repeated row: the
    shape of the issue's 2.6 MB .xlsx holding 435 MB of XML."""
    row = b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = row * (uncompressed_mib * (1 << 20) // len(row))
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>",
                      "xl/worksheets/sheet1.xml": b"<worksheet><sheetData>" + sheet + b"</sheetData></worksheet>"})


def forbid_parsing(monkeypatch):
    """Fail the test if any parser is reached: the refusal must come first."""
    def never(*args, **kwargs):
        raise AssertionError("the file was parsed before it was refused")
    monkeypatch.setattr(pd, "read_excel", never)
    monkeypatch.setattr("csp.sources.reading._read_raw", never)


# --- archives (.xlsx) ----------------------------------------------------------------------


def test_an_xlsx_zip_bomb_is_refused_before_anything_is_decompressed(workspace, guard, fire_landing, monkeypatch):
    bomb = zip_bomb(64)
    assert len(bomb) < 200_000  # 64 MiB of XML in a small file
    (fire_landing / FIRE_XLSX).write_bytes(bomb)
    guard.start()
    forbid_parsing(monkeypatch)
    with pytest.raises(LimitExceeded) as refused:
        ingest.ingest_return(workspace, "fire_incidents", Q)
    message = str(refused.value)
    assert message.startswith(f"{fire_landing / FIRE_XLSX}: member 'xl/worksheets/sheet1.xml' expands ")
    assert message.endswith("more than 100 (limit in limits.toml, CSP_LIMITS_FILE): a zip bomb? [archive_ratio]")
    assert not (workspace.staging_dir / "fire_incidents").exists()


def test_an_xlsx_beyond_the_uncompressed_cap_is_refused(workspace, guard, fire_landing, set_limits):
    set_limits("[xlsx]\nmax_uncompressed_mib = 1\nmax_ratio = 100\nmax_members = 1000\n")
    (fire_landing / FIRE_XLSX).write_bytes(zip_bytes({"xl/worksheets/sheet1.xml": random.Random(0).randbytes(2 << 20)}))
    guard.start()
    with pytest.raises(LimitExceeded, match=r"2,097,152 bytes uncompressed, more than 1 MiB .* \[archive_too_large\]"):
        ingest.ingest_return(workspace, "fire_incidents", Q)


def test_an_xlsx_with_too_many_members_is_refused(workspace, guard, fire_landing, set_limits):
    set_limits("[xlsx]\nmax_uncompressed_mib = 512\nmax_ratio = 100\nmax_members = 5\n")
    (fire_landing / FIRE_XLSX).write_bytes(zip_bytes({f"xl/part{i}.xml": b"<x/>" for i in range(10)}))
    guard.start()
    with pytest.raises(LimitExceeded, match=r"10 members, more than 5 .* \[archive_too_many_members\]"):
        ingest.ingest_return(workspace, "fire_incidents", Q)


def test_a_file_named_xlsx_that_is_not_a_zip_is_refused_by_name(workspace, guard, fire_landing):
    (fire_landing / FIRE_XLSX).write_bytes(b"incident_ref,incident_date\nF1,2024-01-02\n")
    guard.start()
    with pytest.raises(LimitExceeded, match=rf"{FIRE_XLSX}: not a readable zip archive .*\[unreadable_archive\]"):
        ingest.ingest_return(workspace, "fire_incidents", Q)


def test_an_xlsx_with_too_many_rows_is_refused_before_pandas_reads_it(workspace, guard, fire_landing,
                                                                      set_limits, monkeypatch):
    set_limits("[formats.fire_other_incidents]\nmax_return_rows = 3\n")
    (fire_landing / FIRE_XLSX).write_bytes(real_xlsx(5))
    guard.start()
    forbid_parsing(monkeypatch)
    with pytest.raises(LimitExceeded, match=r"6 rows, more than the 3 .*\[too_many_rows\]"):
        ingest.ingest_return(workspace, "fire_incidents", Q)  # 6: the header row counts as an upper bound


def test_a_real_xlsx_within_its_caps_is_read(workspace, guard, fire_landing):
    (fire_landing / FIRE_XLSX).write_bytes(real_xlsx(5))
    guard.start()
    entry = ingest.ingest_return(workspace, "fire_incidents", Q)
    assert entry.rows_in == 5


def test_an_archive_member_that_leaves_its_folder_or_is_a_link_is_refused(tmp_path):
    for name, attr, rule in (("../../etc/cron.d/x", 0, "archive_path"), ("/abs/x.csv", 0, "archive_path"),
                             ("link.csv", (0o120777 << 16), "archive_link")):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            info = zipfile.ZipInfo(name)
            info.external_attr = attr
            archive.writestr(info, b"/etc/passwd")
        with pytest.raises(LimitExceeded, match=rf"\[{rule}\]"):
            limits.check_archive_bytes(tmp_path / "police.zip", out.getvalue())


# --- sizes and rows -----------------------------------------------------------------------------


def test_a_file_over_its_formats_size_limit_is_refused_before_it_is_read(workspace, guard, landing,
                                                                       set_limits, monkeypatch):
    set_limits("[formats.council_asb]\nmax_file_mib = 0.001\n")  # 1,048 bytes
    (landing / ASB).write_bytes(asb_return(40))
    guard.start()
    forbid_parsing(monkeypatch)
    with pytest.raises(LimitExceeded) as refused:
        ingest.ingest_return(workspace, "council_asb", Q)
    assert str(refused.value) == (
        f"{landing / ASB}: {(landing / ASB).stat().st_size:,} bytes, more than the 0 MiB a council_asb file "
        "may be (limit in limits.toml, CSP_LIMITS_FILE) [file_too_large]")


def test_a_return_with_too_many_rows_is_refused_and_the_others_are_staged(workspace, guard, landing, set_limits):
    set_limits("[formats.council_asb]\nmax_return_rows = 3\n")
    (landing / ASB).write_bytes(asb_return(4))
    (landing / "racial_incidents_2024Q1.csv").write_bytes((TEMPLATES / "racial_incidents.csv").read_bytes())
    guard.start()
    with pytest.raises(LimitExceeded, match=rf"{ASB}: 4 rows, more than the 3 .*\[too_many_rows\]"):
        ingest.ingest_return(workspace, "council_asb", Q)
    assert ingest.ingest_return(workspace, "racial_incidents", Q).status == "accepted"
    assert Staging(workspace.staging_dir).versions("council_asb", Q) == []


def test_a_2_gb_sparse_file_is_refused_at_once(workspace, guard, landing):
    with (landing / ASB).open("wb") as fh:
        fh.write(asb_return(4))
        fh.truncate(2 << 30)  # 2 GiB, a few kB on disk
    guard.start()
    with pytest.raises(UnsafePath, match=r"a sparse file \(2,147,483,648 bytes, .* on disk\): .* \[sparse_file\]"):
        ingest.ingest_return(workspace, "council_asb", Q)


def test_the_limits_file_is_checked(set_limits):
    set_limits("[formats.no_such_format]\nmax_file_mib = 1\n")
    with pytest.raises(ValueError, match="no source format no_such_format"):
        limits.current()
    set_limits("[formats.council_asb]\nmax_return_rows = -1\n")
    with pytest.raises(ValueError, match="must be positive"):
        limits.current()


def test_the_default_limits_hold_the_benchs_largest_return_with_room():
    """docs/operations.md derives them from `make bench` at scale 1m (one quarter of a million
    police.uk rows): every format keeps at least four times that return's size and rows."""
    bench_1m = {  # format: (largest file in MiB, rows per return) at scale 1m
        "police_uk_street": (74, 998_829), "lfb_incidents": (27, 83_350), "hes_apc": (64, 180_520),
        "hes_op": (110, 452_010), "school_exclusions": (8.2, 67_750), "council_asb": (3.4, 45_010),
        "stats19": (2.1, 14_800), "racial_incidents": (0.2, 3_430), "fire_other_incidents": (0.1, 1_260),
    }
    current = limits.current()
    for format_id, (mib, rows) in bench_1m.items():
        limit = current.of(format_id)
        assert limit.max_file_bytes >= 4 * mib * (1 << 20) and limit.max_return_rows >= 4 * rows, format_id


# --- dates that cannot be ------------------------------------------------------------------


def test_records_dated_after_today_or_before_the_first_quarter_are_quarantined(workspace, guard, landing,
                                                                             monkeypatch):
    monkeypatch.setenv("CSP_TODAY", "2024-07-01")
    rows = asb_return(6).decode().splitlines()
    rows[1] = rows[1].replace("2024-01-10", "2099-01-10")
    rows[2] = rows[2].replace("2024-01-10", "1900-01-10")
    (landing / ASB).write_text("\n".join(rows) + "\n")
    guard.start()
    entry = ingest.ingest_return(workspace, "council_asb", Q)
    assert (entry.status, entry.rows_in, entry.rows_loaded, entry.rows_quarantined) == ("accepted", 6, 4, 2)
    report = pd.read_csv(workspace.staging_dir / "council_asb" / Q.label / "v1.quarantine.csv", dtype=str)
    assert report[["source_line", "rule", "reason"]].values.tolist() == [
        ["2", "impossible_date", "incident_date is after today (2024-07-01): a date that cannot be"],
        ["3", "impossible_date", "incident_date is before the platform's first quarter 1998Q3 "
                                 "(CSP_FIRST_QUARTER): a date that cannot be"],
    ]


def history_file(tmp_path: Path, dates: list[str]) -> Path:
    lines = asb_return(len(dates)).decode().splitlines()
    body = [line.replace("2024-01-10", day) for line, day in zip(lines[1:], dates, strict=True)]
    path = tmp_path / "council_asb_history.csv"
    path.write_text("\n".join([lines[0], *body]) + "\n")
    return path


def test_history_makes_no_quarter_of_a_date_that_cannot_be(workspace, guard, tmp_path, monkeypatch):
    """The issue's case: one row dated 2099 and one 1900 staged accepted returns for 2099Q1 and
    1900Q1. They now go to the file's earliest quarter and are quarantined there."""
    monkeypatch.setenv("CSP_TODAY", "2024-10-01")
    source = history_file(tmp_path, ["2024-01-10", "2024-02-11", "2024-04-12", "2099-01-01", "1900-03-01"])
    guard.start()
    entries = history.load_history(workspace, [source])
    assert [(e.quarter, e.dataset, e.status, e.rows_in, e.rows_quarantined) for e in entries] == [
        ("2024Q1", "council_asb", "accepted", 4, 2), ("2024Q2", "council_asb", "accepted", 1, 0)]
    report = pd.read_csv(workspace.staging_dir / "council_asb" / "2024Q1" / "v1.quarantine.csv", dtype=str)
    assert report["rule"].tolist() == ["impossible_date", "impossible_date"]
    assert not any(p.name.startswith(("2099", "1900")) for p in (workspace.landing_dir / "local_authority").iterdir())


def test_the_first_quarter_is_configurable(workspace, guard, tmp_path, monkeypatch):
    monkeypatch.setenv("CSP_TODAY", "2024-10-01")
    monkeypatch.setenv("CSP_FIRST_QUARTER", "2024Q2")
    source = history_file(tmp_path, ["2024-01-10", "2024-04-12", "2024-05-12"])
    guard.start()
    entries = history.load_history(workspace, [source])
    assert [(e.quarter, e.rows_in, e.rows_quarantined) for e in entries] == [("2024Q2", 3, 1)]


def test_history_refuses_a_file_with_no_date_that_can_be(workspace, guard, tmp_path, monkeypatch):
    monkeypatch.setenv("CSP_TODAY", "2024-10-01")
    source = history_file(tmp_path, ["2099-01-01", "1900-03-01"])
    guard.start()
    with pytest.raises(ValueError, match="no row has a readable date that can be"):
        history.load_history(workspace, [source])
    assert not workspace.landing_dir.exists() and not workspace.staging_dir.exists()


@pytest.mark.parametrize("quarter, reason", [
    (Quarter(1900, 1), "1900Q1 is before the platform's first quarter 1998Q3 (CSP_FIRST_QUARTER)"),
    (Quarter(2099, 1), "2099Q1 has not begun (today is 2024-07-01)"),
])
def test_a_landing_folder_of_a_quarter_that_cannot_be_is_refused(workspace, guard, monkeypatch, quarter, reason):
    monkeypatch.setenv("CSP_TODAY", "2024-07-01")
    folder = workspace.landing_dir / "local_authority" / quarter.label
    folder.mkdir(parents=True)
    (folder / f"council_asb_{quarter.label}.csv").write_bytes(asb_return())
    guard.start()
    with pytest.raises(ingest.ImpossibleQuarter) as refused:
        ingest.ingest_return(workspace, "council_asb", quarter)
    assert str(refused.value) == f"{folder}: {reason}: no return can be for it [impossible_quarter]"


def test_a_malformed_first_quarter_is_named(monkeypatch):
    from csp.quarters import first_quarter

    monkeypatch.setenv("CSP_FIRST_QUARTER", "2015")
    with pytest.raises(ValueError, match=r"CSP_FIRST_QUARTER='2015' is not a quarter label"):
        first_quarter()
