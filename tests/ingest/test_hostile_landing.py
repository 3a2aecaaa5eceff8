"""Hostile landing folders: whoever can write to landing/ plants links, hard links, FIFOs,
sockets and devices, or swaps a file for a link between the sensor's poke and the read. Every
case goes through the real ingest path (csp.ingest: the sensor's poll_return, ingest_return,
record_refused as the DAG task calls it) and is refused with a one-line message naming the
path and the rule, recorded in the ledger, with the other datasets of the quarter unaffected.

Each test runs under a JailGuard (tests/support/jail_guard.py): the bait files outside the
data folder are watched by inotify (an open through any link is seen), file writes and
folder changes by absolute path are audited, and the test's folder outside data/ and out/ is
compared before and after. The table of these cases is in docs/reliability.md.
"""
from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest
from conftest import unavailable_here
from support.hostile import ASB, PROJECT_DIR, Q, asb_return, guard, landing  # noqa: F401 (fixtures)
from support.jail_guard import JailGuard

from csp import ingest, safe_paths
from csp.safe_paths import UnsafePath
from csp.staging import REJECTED, Staging

SECRET = "the content of a file outside the data folder"


def refused_entry(settings, dataset: str, error: Exception):
    """What the DAG's ingest task does with a refusal: record it, then fail."""
    return ingest.record_refused(settings, dataset, Q, str(error))


def assert_refused(settings, dataset: str, error: Exception, rule: str, path: Path) -> None:
    message = str(error)
    assert "\n" not in message and f"[{rule}]" in message and str(path) in message, message
    entry = refused_entry(settings, dataset, error)
    assert entry.status == REJECTED and entry.notes == [message]
    assert not list((settings.staging_dir / dataset / Q.label).glob("v*.parquet"))


# --- links to files and folders --------------------------------------------------------------


def test_a_landing_file_that_links_outside_is_refused_unread(workspace, guard, landing):
    target = guard.bait("secret.csv", asb_return(50, ref="SECRET"))
    (landing / ASB).symlink_to(target)
    guard.start()
    assert ingest.poll_return(workspace, "council_asb", Q, Q.end) == [ASB]  # landed, by name
    with pytest.raises(UnsafePath) as refused:
        ingest.ingest_return(workspace, "council_asb", Q)
    assert_refused(workspace, "council_asb", refused.value, "symlink", landing / ASB)


def test_a_link_to_a_file_inside_landing_is_refused_too(workspace, guard, landing):
    other = workspace.landing_dir / "local_authority" / "2023Q4"
    other.mkdir(parents=True)
    (other / "council_asb_2023Q4.csv").write_bytes(asb_return())
    (landing / ASB).symlink_to(other / "council_asb_2023Q4.csv")
    guard.start()
    with pytest.raises(UnsafePath, match=r"\[symlink\]"):
        ingest.ingest_return(workspace, "council_asb", Q)


def test_a_quarter_folder_that_links_outside_is_refused_by_the_sensor(workspace, guard):
    outside = guard.outside / "quarter"
    outside.mkdir()
    (outside / ASB).write_bytes(asb_return())
    authority = workspace.landing_dir / "local_authority"
    authority.mkdir(parents=True)
    (authority / Q.label).symlink_to(outside, target_is_directory=True)
    guard.start()
    with pytest.raises(UnsafePath) as refused:
        ingest.poll_return(workspace, "council_asb", Q, Q.end)
    assert_refused(workspace, "council_asb", refused.value, "symlink", authority / Q.label)
    with pytest.raises(UnsafePath, match=r"\[symlink\]"):
        ingest.ingest_return(workspace, "council_asb", Q)


def test_an_authority_folder_that_links_outside_is_refused(workspace, guard):
    outside = guard.outside / "authority"
    (outside / Q.label).mkdir(parents=True)
    (outside / Q.label / ASB).write_bytes(asb_return())
    workspace.landing_dir.mkdir(parents=True)
    (workspace.landing_dir / "local_authority").symlink_to(outside, target_is_directory=True)
    guard.start()
    with pytest.raises(UnsafePath, match=r"local_authority: a symbolic link where a folder is due.*\[symlink\]"):
        ingest.poll_return(workspace, "council_asb", Q, Q.end)


def test_a_hard_link_to_a_file_outside_is_refused(workspace, guard, landing):
    target = guard.bait("secret.csv", asb_return(50, ref="SECRET"))
    os.link(target, landing / ASB)
    guard.start()
    with pytest.raises(UnsafePath) as refused:
        ingest.ingest_return(workspace, "council_asb", Q)
    assert_refused(workspace, "council_asb", refused.value, "hard_link", landing / ASB)
    assert "2 names, 1 of them outside" in str(refused.value)


def test_a_hard_link_between_two_landing_folders_is_read(workspace, guard, landing):
    """Both names inside landing/: the content is a partner's own delivery, read as usual."""
    (landing / ASB).write_bytes(asb_return())
    later = workspace.landing_dir / "local_authority" / "kept"
    later.mkdir()
    os.link(landing / ASB, later / ASB)
    guard.start()
    assert ingest.ingest_return(workspace, "council_asb", Q).rows_in == 4


# --- things that are not files ---------------------------------------------------------------


def test_a_fifo_named_as_a_return_is_refused_without_blocking(workspace, guard, landing):
    os.mkfifo(landing / ASB)  # a reader that opened it would wait for a writer forever
    guard.start()
    with pytest.raises(UnsafePath) as refused:
        ingest.ingest_return(workspace, "council_asb", Q)
    assert_refused(workspace, "council_asb", refused.value, "not_a_file", landing / ASB)
    assert "a FIFO (named pipe)" in str(refused.value)


def test_a_socket_named_as_a_return_is_refused(workspace, guard, landing, monkeypatch):
    server = socket.socket(socket.AF_UNIX)
    try:
        monkeypatch.chdir(landing)  # a socket's path is at most 108 bytes: bind its name
        server.bind(ASB)
        monkeypatch.undo()
        guard.start()
        with pytest.raises(UnsafePath, match=r"a socket, not a regular file \[not_a_file\]"):
            ingest.ingest_return(workspace, "council_asb", Q)
    finally:
        server.close()


def test_a_device_named_as_a_return_is_refused(workspace, guard, landing):
    try:  # the null device: creating one needs CAP_MKNOD (root, as in CI)
        os.mknod(landing / ASB, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        unavailable_here("cannot create a device node here (no CAP_MKNOD)")
    guard.start()
    with pytest.raises(UnsafePath, match=r"a character device, not a regular file \[not_a_file\]"):
        ingest.ingest_return(workspace, "council_asb", Q)


def test_a_folder_named_as_a_return_is_left_alone(workspace, guard, landing):
    """A folder is never a return file: it is not listed (as before), and the quarter waits."""
    (landing / ASB).mkdir()
    guard.start()
    assert ingest.poll_return(workspace, "council_asb", Q, Q.end) is None


# --- swapped between the poke and the read ---------------------------------------------------


def test_a_file_swapped_for_a_link_after_the_poke_is_refused(workspace, guard, landing):
    target = guard.bait("secret.csv", asb_return(50, ref="SECRET"))
    (landing / ASB).write_bytes(asb_return())
    guard.start()
    assert ingest.poll_return(workspace, "council_asb", Q, Q.end) == [ASB]
    (landing / ASB).unlink()
    (landing / ASB).symlink_to(target)  # between the sensor's poke and the ingest task
    with pytest.raises(UnsafePath, match=r"\[symlink\]"):
        ingest.ingest_return(workspace, "council_asb", Q)


def test_a_quarter_folder_swapped_for_a_link_after_the_poke_is_refused(workspace, guard, landing):
    outside = guard.outside / "quarter"
    outside.mkdir()
    (outside / ASB).write_bytes(asb_return(50, ref="SECRET"))
    (landing / ASB).write_bytes(asb_return())
    guard.start()
    assert ingest.poll_return(workspace, "council_asb", Q, Q.end) == [ASB]
    landing.rename(landing.with_name("moved"))
    landing.symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafePath, match=r"2024Q1: a symbolic link where a folder is due: .* \[symlink\]"):
        ingest.ingest_return(workspace, "council_asb", Q)


def test_a_link_swapped_in_between_the_check_and_the_open_is_refused(workspace, guard, landing, monkeypatch):
    """The narrowest window: the name is checked (lstat), then swapped, then opened. O_NOFOLLOW
    refuses the link at the open; a plain file swapped in fails the descriptor's check."""
    target = guard.bait("secret.csv", asb_return(50, ref="SECRET"))
    (landing / ASB).write_bytes(asb_return())
    real_open = os.open

    def swap_then_open(path, flags, *args, **kwargs):
        if path == ASB and kwargs.get("dir_fd") is not None:
            os.unlink(ASB, dir_fd=kwargs["dir_fd"])
            os.symlink(target, ASB, dir_fd=kwargs["dir_fd"])
        return real_open(path, flags, *args, **kwargs)

    guard.start()
    monkeypatch.setattr(safe_paths.os, "open", swap_then_open)
    with pytest.raises(UnsafePath, match=r"became a symbolic link after it was checked \[changed_while_read\]"):
        safe_paths.read_bytes(landing / ASB)


def test_a_file_replaced_between_the_check_and_the_open_is_refused(workspace, guard, landing, monkeypatch):
    (landing / ASB).write_bytes(asb_return())
    real_open = os.open

    def replace_then_open(path, flags, *args, **kwargs):
        if path == ASB and kwargs.get("dir_fd") is not None:
            os.rename(ASB, "old.csv", src_dir_fd=kwargs["dir_fd"], dst_dir_fd=kwargs["dir_fd"])
            fd = real_open(ASB, os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=kwargs["dir_fd"])
            os.write(fd, asb_return(9))
            os.close(fd)
        return real_open(path, flags, *args, **kwargs)

    guard.start()
    monkeypatch.setattr(safe_paths.os, "open", replace_then_open)
    with pytest.raises(UnsafePath, match=r"replaced by another file after it was checked \[changed_while_read\]"):
        safe_paths.read_bytes(landing / ASB)


# --- one refusal loses nothing else ----------------------------------------------------------


def test_a_refused_file_leaves_the_other_datasets_of_the_quarter_staged(workspace, guard, landing):
    (landing / ASB).symlink_to(guard.bait("secret.csv", asb_return(50, ref="SECRET")))
    racial = PROJECT_DIR / "docs" / "data-contracts" / "templates" / "racial_incidents.csv"
    (landing / "racial_incidents_2024Q1.csv").write_bytes(racial.read_bytes())
    guard.start()
    with pytest.raises(UnsafePath):
        ingest.ingest_return(workspace, "council_asb", Q)
    accepted = ingest.ingest_return(workspace, "racial_incidents", Q)
    assert accepted.status == "accepted" and accepted.rows_in == accepted.rows_loaded > 0


# --- staging and out: links there are replaced, never written through -----------------------


def test_a_link_planted_in_staging_is_replaced_not_written_through(workspace, guard, landing):
    target = guard.bait("victim.json", "do not overwrite")
    (landing / ASB).write_bytes(asb_return())
    folder = workspace.staging_dir / "council_asb" / Q.label
    folder.mkdir(parents=True)
    (folder / ".v1.json.tmp").symlink_to(target)  # the temporary name a writer uses
    (folder / "status.json").symlink_to(target)
    guard.start()
    entry = ingest.ingest_return(workspace, "council_asb", Q)
    guard.check()  # before the test reads the bait itself
    assert entry.version == 1 and target.read_text() == "do not overwrite"
    assert not (folder / "status.json").exists() and not (folder / "status.json").is_symlink()
    assert Staging(workspace.staging_dir).versions("council_asb", Q)[0].rows_in == 4


def test_a_staging_folder_that_is_a_link_is_refused(workspace, guard, landing):
    (landing / ASB).write_bytes(asb_return())
    outside = guard.outside / "staging"
    outside.mkdir()
    workspace.staging_dir.mkdir(parents=True)
    (workspace.staging_dir / "council_asb").symlink_to(outside, target_is_directory=True)
    guard.start()
    with pytest.raises(UnsafePath, match=r"staging/council_asb: a symbolic link where a folder is due: .* \[symlink\]"):
        ingest.ingest_return(workspace, "council_asb", Q)


def test_a_report_path_that_is_a_link_is_replaced_not_written_through(workspace, guard):
    from csp.reports.index import write_index

    target = guard.bait("victim.html", "do not overwrite")
    workspace.out_dir.mkdir(parents=True)
    (workspace.out_dir / "index.html").symlink_to(target)
    guard.start()
    index = write_index(workspace.out_dir)
    guard.check()
    assert target.read_text() == "do not overwrite" and not index.is_symlink()
    assert "<html" in index.read_text()


def test_an_out_folder_that_is_a_link_is_refused(workspace, guard):
    outside = guard.outside / "reports"
    outside.mkdir()
    workspace.out_dir.mkdir(parents=True)
    (workspace.out_dir / "strategic").symlink_to(outside, target_is_directory=True)
    guard.start()
    with pytest.raises(UnsafePath, match=r"out/strategic: a symbolic link where a folder is due: .* \[symlink\]"):
        safe_paths.write_text(workspace.out_dir / "strategic" / "2024" / "x.html", "<html></html>")


def test_dot_dot_never_leaves_a_data_folder(workspace, guard, landing):
    guard.start()
    jail = safe_paths.Jail(workspace.landing_dir)
    with pytest.raises(UnsafePath, match=r"'\.\.' in a path under .* \[outside_folder\]"):
        jail.read_bytes(landing / ".." / ".." / ".." / "outside" / "secret.csv")
    with pytest.raises(UnsafePath, match=r"not inside .* \[outside_folder\]"):
        jail.write_text(guard.outside / "x.csv", "x")


# --- the guard itself sees what it is there to see --------------------------------------------


def test_the_guard_sees_a_read_through_a_link_and_a_write_outside(workspace, tmp_path, landing):
    guard = JailGuard(tmp_path, workspace.data_dir, workspace.out_dir)
    target = guard.bait("secret.csv", SECRET)
    (landing / ASB).symlink_to(target)
    guard.start()
    assert (landing / ASB).read_text() == SECRET  # what the platform did before: followed the link
    (tmp_path / "stray.txt").write_text("written outside the data folder")
    with pytest.raises(AssertionError) as caught:
        guard.check()
    report = str(caught.value)
    assert f"{target}: inotify mask 0x20" in report  # opened through the link
    assert f"open outside the data folder: {tmp_path / 'stray.txt'}" in report
    assert f"changed outside the data folder: {tmp_path / 'stray.txt'}" in report
