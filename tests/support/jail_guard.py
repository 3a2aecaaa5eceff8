"""Proof, from inside a test, that nothing outside the data folder was read or written.

``JailGuard`` gives a test an ``outside`` folder beside its data folder, holding bait files
(a valid-looking return, a secret) for hostile links to point at. While the guard is active:

- Linux inotify watches every bait file (by inode, so a hard link or a symbolic link from
  anywhere is seen) and the outside folder: any open, read, write, creation, rename or
  deletion there is an event, whichever code path caused it;
- a Python audit hook (``sys.addaudithook``) records every file opened for writing, every
  folder made, every rename and removal by an absolute path: each must lie inside the data
  folder, the out folder or the test's scratch folder (``tempfile``'s folder while the guard
  is active: Great Expectations makes and removes an empty temporary folder per validation),
  and no absolute path under ``outside`` may be opened at all;
- the test's folder tree outside ``data`` and ``out`` is listed before and after (names,
  sizes, modification times): nothing new or changed may appear there.

``check()`` fails the test naming every violation. The audit hook is installed once per
process (hooks cannot be removed) and is inert unless a guard is active.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import sys
import tempfile
from pathlib import Path

IN_ACCESS, IN_MODIFY, IN_OPEN = 0x1, 0x2, 0x20
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF, IN_CLOSE_WRITE, IN_ATTRIB = 0x400, 0x800, 0x8, 0x4
IN_NONBLOCK = os.O_NONBLOCK
WATCHED = (IN_ACCESS | IN_MODIFY | IN_OPEN | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
           | IN_DELETE_SELF | IN_MOVE_SELF | IN_CLOSE_WRITE | IN_ATTRIB)
_EVENT = struct.Struct("iIII")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_WRITE_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.link",
                 "os.truncate", "os.chmod", "os.chown", "shutil.copyfile", "shutil.move", "shutil.rmtree"}

_active: list[JailGuard] = []
_hook_installed = False


def _audit(event: str, args: tuple) -> None:
    if not _active or (event != "open" and event not in _WRITE_EVENTS):
        return
    guard = _active[-1]
    if guard.paused:
        return
    guard.paused = True  # the hook's own work must not be audited
    try:
        guard.audit(event, args)
    finally:
        guard.paused = False


def _install_hook() -> None:
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True


class Inotify:
    def __init__(self):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.fd = libc.inotify_init1(IN_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.watches: dict[int, Path] = {}

    def watch(self, path: Path) -> None:
        wd = self._add(self.fd, os.fsencode(path), WATCHED)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        self.watches[wd] = path

    def events(self) -> list[str]:
        found = []
        while True:
            try:
                data = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return found
            offset = 0
            while offset < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size: offset + _EVENT.size + length].rstrip(b"\0").decode()
                offset += _EVENT.size + length
                where = self.watches.get(wd, Path("?")) / name if name else self.watches.get(wd, Path("?"))
                found.append(f"{where}: inotify mask {mask:#x}")

    def close(self) -> None:
        os.close(self.fd)


def _snapshot(root: Path, skip: tuple[Path, ...]) -> dict[str, tuple[int, int]]:
    seen = {}
    for top, folders, names in os.walk(root):
        folders[:] = [f for f in folders if Path(top, f) not in skip]
        for name in names + folders:
            path = Path(top, name)
            if path in skip:
                continue
            st = os.lstat(path)
            seen[str(path)] = (st.st_size, st.st_mtime_ns)
    return seen


class JailGuard:
    def __init__(self, test_dir: Path, data_dir: Path, out_dir: Path, also: tuple[Path, ...] = ()):
        """``also``: folders a test lets something else write (the test Airflow home, where
        Airflow keeps its metadata and task logs)."""
        self.test_dir, self.data_dir, self.out_dir, self.also = test_dir, data_dir, out_dir, tuple(also)
        self.outside = test_dir / "outside"
        self.outside.mkdir(exist_ok=True)
        self.violations: list[str] = []
        self.opened_outside: list[str] = []
        self.paused = False
        self.inotify: Inotify | None = None
        self.before: dict[str, tuple[int, int]] = {}
        self.scratch = test_dir / "scratch"
        self._tempdir = None
        self.checked = False

    def bait(self, name: str, content: bytes | str) -> Path:
        """A file outside the data folder that hostile links point at (watched once started)."""
        path = self.outside / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    def start(self) -> JailGuard:
        self.scratch.mkdir(exist_ok=True)
        self._tempdir, tempfile.tempdir = tempfile.tempdir, str(self.scratch)
        self.before = _snapshot(self.test_dir, (self.data_dir, self.out_dir, self.scratch))  # before watching
        baits = [path for path in self.outside.rglob("*") if path.is_file() and not path.is_symlink()]
        folders = [self.outside, *(path for path in self.outside.rglob("*") if path.is_dir())]
        self.inotify = Inotify()
        for path in folders + baits:
            self.inotify.watch(path)
        _install_hook()
        _active.append(self)
        return self

    def stop(self) -> None:
        if self in _active:
            _active.remove(self)
            tempfile.tempdir = self._tempdir
        if self.inotify is not None:
            self.violations.extend(f"outside touched: {event}" for event in self.inotify.events())
            self.inotify.close()
            self.inotify = None
        after = _snapshot(self.test_dir, (self.data_dir, self.out_dir, self.scratch))
        for path in sorted(set(after) | set(self.before)):
            if after.get(path) != self.before.get(path):
                self.violations.append(f"changed outside the data folder: {path}")

    def _inside(self, path: Path) -> bool:
        roots = (self.data_dir, self.out_dir, self.scratch, *self.also)
        return any(path == root or root in path.parents for root in roots)

    def audit(self, event: str, args: tuple) -> None:
        target = args[0] if args else None
        if isinstance(target, int) or target is None:
            return  # a descriptor: its folder was opened (and audited) by path
        if event in ("os.symlink", "os.link"):  # (source, link name): the name is written
            target = args[1]
        path = Path(os.fsdecode(target))
        if not path.is_absolute():
            return  # relative to a folder descriptor (csp.safe_paths): that folder was audited
        path = Path(os.path.normpath(path))
        if path == self.outside or self.outside in path.parents:
            self.violations.append(f"{event} under the outside folder: {path} {args[1:]}")
            return
        if event == "open":
            mode, flags = (args[1], args[2]) if len(args) >= 3 else (None, 0)
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if not writing:
                return
        elif event in ("os.rename",):
            for extra in args[1:2]:
                if isinstance(extra, str | bytes) and Path(os.fsdecode(extra)).is_absolute():
                    self._check_write(event, Path(os.path.normpath(os.fsdecode(extra))))
        self._check_write(event, path)

    def _check_write(self, event: str, path: Path) -> None:
        if not self._inside(path) and not _scratch(path):
            self.violations.append(f"{event} outside the data folder: {path}")

    def check(self) -> None:
        """Stop watching and fail on any violation (a test may call it before it inspects
        the bait itself; the fixture's own call then does nothing)."""
        if self.checked:
            return
        self.checked = True
        self.stop()
        assert not self.violations, "outside the data folder:\n" + "\n".join(self.violations)


def _scratch(path: Path) -> bool:
    """Writes that are never data: Python's bytecode cache and /dev (e.g. /dev/null)."""
    text = str(path)
    return "__pycache__" in path.parts or text.endswith((".pyc", ".pyc.tmp")) or text.startswith("/dev/")
