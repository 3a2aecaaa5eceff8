"""Hostile input to the operator's commands: ``csp resubmit`` and ``csp history`` given links,
FIFOs, sparse files, NUL bytes, oversized files, quarters that cannot be, or landing folders
replaced by links. Each is refused with a one-line message naming the path and the rule and
the documented exit code, and changes nothing: the landing folder keeps its current files,
nothing is copied or moved outside the data folder (checked by the JailGuard)."""
from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest
from support.hostile import ASB, Q, asb_return, guard, landing  # noqa: F401 (fixtures)

from csp.cli import main


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def current(workspace, landing, monkeypatch):
    """The council's 2024Q1 ASB return as it stands (to be corrected), as of 20 May 2024."""
    monkeypatch.setenv("CSP_TODAY", "2024-05-20")
    (landing / ASB).write_bytes(asb_return(4, ref="CURRENT"))
    return landing / ASB


@pytest.fixture
def corrections(tmp_path) -> Path:
    folder = tmp_path / "corrections"
    folder.mkdir()
    return folder


def resubmit(capsys, path: Path, quarter: str = "2024Q1") -> tuple[int, str]:
    code, _, err = run_cli(capsys, "resubmit", "--no-trigger", "local_authority", "council_asb", quarter, str(path))
    return code, err.strip()


def assert_unchanged(current: Path) -> None:
    """The current file is where it was, with its content, and nothing was set aside."""
    assert current.read_bytes() == asb_return(4, ref="CURRENT") and not current.is_symlink()
    assert sorted(p.name for p in current.parent.iterdir()) == [ASB]


# --- csp resubmit ----------------------------------------------------------------------------


def test_resubmit_refuses_a_symlinked_input_rather_than_copying_its_target(current, corrections, guard, capsys):
    target = guard.bait("secret.csv", asb_return(50, ref="SECRET"))
    (corrections / ASB).symlink_to(target)
    guard.start()
    code, err = resubmit(capsys, corrections / ASB)
    assert code == 2 and err == (f"csp resubmit: {corrections / ASB}: a symbolic link: links in the data "
                                 "folders are not followed [symlink]")
    assert_unchanged(current)


def test_resubmit_refuses_a_fifo_input_without_blocking(current, corrections, guard, capsys):
    os.mkfifo(corrections / ASB)
    guard.start()
    code, err = resubmit(capsys, corrections / ASB)
    assert code == 2 and err.endswith("a FIFO (named pipe), not a regular file [not_a_file]")
    assert_unchanged(current)


def test_resubmit_refuses_a_2_gb_sparse_file_before_copying(current, corrections, guard, capsys):
    with (corrections / ASB).open("wb") as fh:
        fh.write(asb_return(4))
        fh.truncate(2 << 30)
    guard.start()
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, err = resubmit(capsys, corrections / ASB)
    seconds = time.monotonic() - started
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert code == 2 and "a sparse file (2,147,483,648 bytes" in err and err.endswith("[sparse_file]")
    assert grown_mib < 50, grown_mib  # nothing of the 2 GiB was read
    print(f"\nrefused a 2 GiB sparse file in {seconds:.3f} s, peak memory +{grown_mib:.0f} MiB")
    assert_unchanged(current)


def test_resubmit_refuses_nul_bytes_while_copying_and_keeps_the_current_file(current, corrections, guard, capsys):
    (corrections / ASB).write_bytes(asb_return(4).replace(b"ASB-1", b"ASB\x00-1"))
    guard.start()
    code, err = resubmit(capsys, corrections / ASB)
    assert code == 2 and err.startswith(f"csp resubmit: {corrections / ASB}: a NUL byte at offset ")
    assert err.endswith("UTF-16 or binary, not UTF-8 or Windows-1252 text [nul_bytes]")
    assert_unchanged(current)  # refused before the current file was set aside


def test_resubmit_refuses_a_file_over_its_formats_limit(current, corrections, guard, capsys, tmp_path, monkeypatch):
    limits = tmp_path / "limits.toml"
    limits.write_text("[default]\nmax_file_mib = 64\nmax_return_rows = 250_000\n"
                      "[formats.council_asb]\nmax_file_mib = 0.0005\n")
    monkeypatch.setenv("CSP_LIMITS_FILE", str(limits))
    (corrections / ASB).write_bytes(asb_return(40))
    guard.start()
    code, err = resubmit(capsys, corrections / ASB)
    assert code == 2 and err.endswith("a council_asb file may be (limit in limits.toml, CSP_LIMITS_FILE) "
                                      "[file_too_large]")
    assert_unchanged(current)


def test_resubmit_refuses_when_the_quarter_folder_is_a_link(workspace, corrections, guard, capsys, monkeypatch):
    """The issue's case: the new file was written, and the old one moved, outside the data folder."""
    monkeypatch.setenv("CSP_TODAY", "2024-05-20")
    outside = guard.outside / "quarter"
    outside.mkdir()
    (outside / ASB).write_bytes(asb_return(4, ref="OUTSIDE"))
    authority = workspace.landing_dir / "local_authority"
    authority.mkdir(parents=True)
    (authority / Q.label).symlink_to(outside, target_is_directory=True)
    (corrections / ASB).write_bytes(asb_return(5))
    guard.start()
    code, err = resubmit(capsys, corrections / ASB)
    assert code == 2 and err == (f"csp resubmit: {authority / Q.label}: a symbolic link where a folder is "
                                 "due: links are not followed [symlink]")
    guard.check()
    assert sorted(p.name for p in outside.iterdir()) == [ASB]


def test_resubmit_refuses_a_superseded_folder_that_is_a_link(current, corrections, guard, capsys):
    outside = guard.outside / "kept"
    outside.mkdir()
    (current.parent / "superseded").symlink_to(outside, target_is_directory=True)
    (corrections / ASB).write_bytes(asb_return(5))
    guard.start()
    code, err = resubmit(capsys, corrections / ASB)
    assert code == 2 and err.endswith("superseded: a symbolic link where a folder is due: links are not "
                                      "followed [symlink]")
    guard.check()
    assert current.read_bytes() == asb_return(4, ref="CURRENT") and list(outside.iterdir()) == []
    assert sorted(p.name for p in current.parent.iterdir()) == [ASB, "superseded"]  # no copy left behind


@pytest.mark.parametrize("quarter, message", [
    ("1900Q1", "1900Q1 is before the platform's first quarter 1998Q3 (CSP_FIRST_QUARTER): "
               "there is no return to correct"),
    ("2099Q1", "2099Q1 has not begun (today is 2024-05-20): there is no return to correct"),
])
def test_resubmit_refuses_a_quarter_that_cannot_be(current, corrections, guard, capsys, quarter, message):
    (corrections / ASB).write_bytes(asb_return(5))
    guard.start()
    code, err = resubmit(capsys, corrections / ASB, quarter)
    assert code == 2 and err == f"csp resubmit: {message}"


def test_resubmit_of_a_plain_file_still_places_it(current, corrections, guard, capsys):
    (corrections / ASB).write_bytes(asb_return(5))
    guard.start()
    code, err = resubmit(capsys, corrections / ASB)
    assert code == 0, err
    assert current.read_bytes() == asb_return(5)
    assert sorted(p.name for p in current.parent.iterdir()) == [ASB, "superseded"]
    (kept,) = (current.parent / "superseded").glob(f"*/{ASB}")
    assert kept.read_bytes() == asb_return(4, ref="CURRENT")


# --- csp history -----------------------------------------------------------------------------


def test_history_refuses_a_symlinked_input(workspace, corrections, guard, capsys):
    (corrections / "council_asb_2024.csv").symlink_to(guard.bait("secret.csv", asb_return(50, ref="SECRET")))
    guard.start()
    code, _, err = run_cli(capsys, "history", str(corrections / "council_asb_2024.csv"))
    assert code == 1 and err.strip().endswith("a symbolic link: links in the data folders are not followed [symlink]")
    assert not workspace.landing_dir.exists()


def test_history_refuses_a_2_gb_sparse_file_before_reading_it(workspace, corrections, guard, capsys):
    path = corrections / "council_asb_2024.csv"
    with path.open("wb") as fh:
        fh.write(asb_return(4))
        fh.truncate(2 << 30)
    guard.start()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, _, err = run_cli(capsys, "history", str(path))
    assert code == 1 and err.strip().endswith("its size is not its content [sparse_file]")
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50  # MiB


def test_history_refuses_a_landing_quarter_folder_that_is_a_link(workspace, corrections, guard, capsys, monkeypatch):
    monkeypatch.setenv("CSP_TODAY", "2024-10-01")
    outside = guard.outside / "quarter"
    outside.mkdir()
    authority = workspace.landing_dir / "local_authority"
    authority.mkdir(parents=True)
    (authority / Q.label).symlink_to(outside, target_is_directory=True)
    source = corrections / "council_asb_2024.csv"
    source.write_bytes(asb_return(4))
    guard.start()
    code, _, err = run_cli(capsys, "history", str(source))
    assert code == 1 and err.strip().endswith("a symbolic link where a folder is due: links are not followed [symlink]")
    guard.check()
    assert list(outside.iterdir()) == []
