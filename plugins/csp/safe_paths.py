"""The data folders as jails: every path the platform reads or writes under landing, staging
and out stays inside its folder, whatever a partner plants there.

Partners deliver into ``landing/`` over SFTP or a shared drive, so anything can appear there:
a symbolic link to a file or a folder elsewhere, a hard link to a file outside, a FIFO that
blocks its reader forever, a device, a 2 GB sparse file. Checking a name and then opening it by
its full path leaves a window in which the name can be swapped (a link created between the
sensor's poke and the read), so nothing here opens by full path: each folder below the jail's
root is opened relative to its parent's descriptor with ``O_NOFOLLOW | O_DIRECTORY`` (openat),
the file itself with ``O_NOFOLLOW | O_NONBLOCK``, and the opened descriptor's ``fstat`` must be
the file that ``lstat`` checked. The root (a configured data folder) is trusted: the operator
chose it. Files named by the operator outside every jail (the input of ``csp resubmit`` or
``csp history``) get the same file rules except the hard-link one, since the operator names
the file on purpose; a link there is refused, never copied by its target's content.

A refusal is one line, ``<path>: <what it is> [<rule>]``, with one of these rules:

- ``outside_folder``: the path leaves its folder (``..``, or not under it at all);
- ``symlink``: the path, or a folder on it, is a symbolic link;
- ``not_a_file``: a device, FIFO, socket or folder where a file is due;
- ``not_a_folder``: a file (or anything else) where a folder is due;
- ``hard_link``: a file that also has a name outside its folder;
- ``sparse_file``: a file with holes, whose size is not its content;
- ``changed_while_read``: the name was swapped between the check and the open.
"""
from __future__ import annotations

import contextlib
import errno
import fnmatch
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# As open() and mkdir() would: the process's umask decides who else may read (the deployment's
# choice: the data folders are restricted by their own permissions).
FOLDER_MODE = 0o777
FILE_MODE = 0o666
CHUNK = 1 << 20

_KINDS = {
    stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder",
    stat.S_IFREG: "a file",
}


class RefusedFile(ValueError):
    """A file the platform will not read, write or copy; the message is one line naming the
    path (or file), what is wrong and the rule, ``<path>: <detail> [<rule>]``."""

    def __init__(self, path: Path | str, rule: str, detail: str):
        super().__init__(f"{path}: {detail} [{rule}]")
        self.path, self.rule, self.detail = Path(path), rule, detail


class UnsafePath(RefusedFile):
    """A path that would lead outside its folder, or to something other than a plain file."""


def kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def has_holes(fd: int, size: int) -> bool:
    """Whether the open file has a hole (a sparse file): its first hole starts before its end.
    File systems without hole support report none."""
    if size == 0:
        return False
    try:
        return os.lseek(fd, 0, os.SEEK_HOLE) < size
    except OSError:
        return False
    finally:
        os.lseek(fd, 0, os.SEEK_SET)


def _check_file(path: Path, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafePath(path, "symlink", "a symbolic link: links in the data folders are not followed")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(path, "not_a_file", f"{kind(st.st_mode)}, not a regular file")


class Jail:
    """One data folder (landing, staging or out) and the operations that stay inside it.
    Paths given are absolute paths under ``root`` or relative to it."""

    def __init__(self, root: Path | str):
        self.root = Path(os.path.abspath(root))

    def __repr__(self) -> str:
        return f"Jail({str(self.root)!r})"

    def contains(self, path: Path | str) -> bool:
        parts = Path(os.path.abspath(self.root / path)).parts
        return parts[:len(self.root.parts)] == self.root.parts

    def _parts(self, path: Path | str) -> tuple[Path, tuple[str, ...]]:
        """The path (absolute) and its components below the root; ``..`` anywhere is refused
        before anything is normalised (``a/link/..`` is not ``a``)."""
        path = Path(path)
        if ".." in path.parts:
            raise UnsafePath(path, "outside_folder", f"'..' in a path under {self.root}")
        absolute = path if path.is_absolute() else self.root / path
        if absolute.parts[:len(self.root.parts)] != self.root.parts:
            raise UnsafePath(path, "outside_folder", f"not inside {self.root}")
        return absolute, absolute.parts[len(self.root.parts):]

    @contextlib.contextmanager
    def _folder_fd(self, parts: tuple[str, ...], *, create: bool = False) -> Iterator[int]:
        """A descriptor of the folder ``root/parts``, each component opened without following
        links. ``create`` makes missing folders; otherwise a missing one is FileNotFoundError."""
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for depth, name in enumerate(parts):
                child = self._open_folder(fd, name, self.root.joinpath(*parts[:depth + 1]), create)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    @staticmethod
    def _open_folder(parent: int, name: str, shown: Path, create: bool) -> int:
        for _ in range(2):
            try:
                return os.open(name, _FOLDER, dir_fd=parent)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):  # made meanwhile by another writer
                    os.mkdir(name, FOLDER_MODE, dir_fd=parent)
            except OSError as error:
                if error.errno not in (errno.ENOTDIR, errno.ELOOP):
                    raise
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    raise UnsafePath(shown, "symlink",
                                     "a symbolic link where a folder is due: links are not followed") from None
                raise UnsafePath(shown, "not_a_folder", f"{kind(st.st_mode)} where a folder is due") from None
        raise FileNotFoundError(errno.ENOENT, "folder vanished while it was made", str(shown))

    # --- reading ---------------------------------------------------------------------------

    def entries(self, folder: Path | str) -> list[tuple[Path, int]]:
        """(path, lstat mode) of everything in the folder, sorted by name; [] when it does not
        exist. Nothing is followed: a link is listed as a link."""
        absolute, parts = self._parts(folder)
        try:
            with self._folder_fd(parts) as fd:
                names = sorted(os.listdir(fd))
                return [(absolute / name, os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
                        for name in names]
        except FileNotFoundError:
            return []

    def files(self, folder: Path | str, patterns: tuple[str, ...] | list[str] = ("*",)) -> list[Path]:
        """The names in the folder matching any pattern that are not folders, sorted: links,
        FIFOs, devices and sockets included, so that reading them refuses them by name rather
        than leaving them unseen."""
        return [path for path, mode in self.entries(folder)
                if not stat.S_ISDIR(mode) and any(fnmatch.fnmatchcase(path.name, p) for p in patterns)]

    def open_fd(self, path: Path | str) -> int:
        """A read-only descriptor of the plain file at ``path``, checked: no link on the way,
        a regular file, no second name outside the folder, no holes, and the file opened is
        the file checked."""
        absolute, parts = self._parts(path)
        if not parts:
            raise UnsafePath(absolute, "not_a_file", "the data folder itself, not a file")
        with self._folder_fd(parts[:-1]) as folder:
            checked = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
            _check_file(absolute, checked)
            if checked.st_nlink > 1:  # before the open: its other name may be anywhere
                self._check_hard_link(absolute, checked)
            try:
                fd = os.open(parts[-1], _READ, dir_fd=folder)
            except OSError as error:
                if error.errno == errno.ELOOP:
                    raise UnsafePath(absolute, "changed_while_read",
                                     "became a symbolic link after it was checked") from None
                raise
        try:
            _check_opened(absolute, fd, checked)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open(self, path: Path | str) -> BinaryIO:
        """``open_fd`` as a binary file object."""
        return os.fdopen(self.open_fd(path), "rb")

    def read_bytes(self, path: Path | str) -> bytes:
        with self.open(path) as fh:
            return fh.read()

    def _check_hard_link(self, path: Path, checked: os.stat_result) -> None:
        """A file with several names is allowed only when every name is inside the folder (a
        link to a file outside would read that file's content as a return)."""
        inside = 0
        for top, _, names in os.walk(self.root):  # os.walk follows no links by default
            for name in names:
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(top, name), follow_symlinks=False)
                    inside += (st.st_ino, st.st_dev) == (checked.st_ino, checked.st_dev)
        if inside < checked.st_nlink:
            raise UnsafePath(path, "hard_link",
                             f"a hard link: the file has {checked.st_nlink} names, "
                             f"{checked.st_nlink - inside} of them outside {self.root}")

    # --- writing ---------------------------------------------------------------------------

    def make_folders(self, folder: Path | str) -> Path:
        """Create the folder and its parents inside the root (a link on the way is refused)."""
        absolute, parts = self._parts(folder)
        with self._folder_fd(parts, create=True):
            return absolute

    def write_atomically(self, path: Path | str, write: Callable[[BinaryIO], None]) -> Path:
        """``write(fh)`` into a new temporary sibling (``.<name>.tmp``, created exclusively and
        without following links), then renamed over ``path``: readers never see half a file,
        and a link planted at either name is replaced, never written through."""
        absolute, parts = self._parts(path)
        name, tmp = parts[-1], f".{parts[-1]}.tmp"
        with self._folder_fd(parts[:-1], create=True) as folder:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=folder)  # left by a writer that was killed
            fh = os.fdopen(os.open(tmp, _CREATE, FILE_MODE, dir_fd=folder), "wb")
            try:
                with fh:
                    write(fh)
                os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=folder)
                raise
        return absolute

    def write_bytes(self, path: Path | str, data: bytes) -> Path:
        return self.write_atomically(path, lambda fh: fh.write(data))

    def write_text(self, path: Path | str, text: str, encoding: str = "utf-8") -> Path:
        return self.write_bytes(path, text.encode(encoding))

    def rename(self, source: Path | str, target: Path | str) -> Path:
        """Move a name within the folder (a link moves as the link, never its target)."""
        _, source_parts = self._parts(source)
        absolute, target_parts = self._parts(target)
        with self._folder_fd(source_parts[:-1]) as src, \
                self._folder_fd(target_parts[:-1], create=True) as dst:
            os.rename(source_parts[-1], target_parts[-1], src_dir_fd=src, dst_dir_fd=dst)
        return absolute

    def remove_folder(self, folder: Path | str) -> None:
        """Remove a folder and the files in it; links inside are removed as links. Not
        recursive: a folder inside makes it fail (OSError), as ``os.rmdir`` does."""
        _, parts = self._parts(folder)
        if not parts:
            raise UnsafePath(self.root, "outside_folder", "the data folder itself is never removed")
        with contextlib.suppress(FileNotFoundError):
            for path, mode in self.entries(folder):
                if not stat.S_ISDIR(mode):
                    self.unlink(path, missing_ok=True)
            with self._folder_fd(parts[:-1]) as parent:
                os.rmdir(parts[-1], dir_fd=parent)

    def unlink(self, path: Path | str, missing_ok: bool = False) -> None:
        """Remove a name (a link is removed, not its target)."""
        _, parts = self._parts(path)
        try:
            with self._folder_fd(parts[:-1]) as folder:
                os.unlink(parts[-1], dir_fd=folder)
        except FileNotFoundError:
            if not missing_ok:
                raise


def _check_opened(path: Path, fd: int, checked: os.stat_result) -> None:
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino, opened.st_nlink) != (checked.st_dev, checked.st_ino, checked.st_nlink):
        raise UnsafePath(path, "changed_while_read", "replaced by another file after it was checked")
    _check_file(path, opened)
    if has_holes(fd, opened.st_size):
        raise UnsafePath(path, "sparse_file",
                         f"a sparse file ({opened.st_size:,} bytes, {opened.st_blocks * 512:,} on disk): "
                         "its size is not its content")


def open_input_fd(path: Path | str) -> int:
    """A descriptor of a file the operator names outside the data folders (the input of
    ``csp resubmit`` or ``csp history``): refused when it is a link, not a regular file, or
    sparse, or when it changes between the check and the open. Folders on the way may be
    links (the operator's own layout)."""
    path = Path(os.path.abspath(path))
    checked = os.stat(path, follow_symlinks=False)
    _check_file(path, checked)
    try:
        fd = os.open(path, _READ)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafePath(path, "changed_while_read", "became a symbolic link after it was checked") from None
        raise
    try:
        _check_opened(path, fd, checked)
    except BaseException:
        os.close(fd)
        raise
    return fd


def data_jails() -> list[Jail]:
    """The configured landing, staging and out folders."""
    from csp.config import settings

    current = settings()
    return [Jail(current.landing_dir), Jail(current.staging_dir), Jail(current.out_dir)]


def jail_of(path: Path | str) -> Jail | None:
    """The data folder (landing, staging or out) the path lies in, or None outside them all."""
    inside = [jail for jail in data_jails() if jail.contains(path)]
    return max(inside, key=lambda jail: len(jail.root.parts), default=None)


def open_fd(path: Path | str) -> int:
    """A checked read-only descriptor of ``path``: inside its data folder's jail when it lies
    in one, else as an operator's input file."""
    jail = jail_of(path)
    return jail.open_fd(path) if jail else open_input_fd(path)


def open_file(path: Path | str) -> BinaryIO:
    return os.fdopen(open_fd(path), "rb")


def read_bytes(path: Path | str) -> bytes:
    with open_file(path) as fh:
        return fh.read()


def read_text(path: Path | str, encoding: str = "utf-8") -> str:
    return read_bytes(path).decode(encoding)


def exists(path: Path | str) -> bool:
    """Whether a plain file is at ``path`` (checked as ``open_fd`` checks it: a link, FIFO or
    device there is refused, not reported missing)."""
    try:
        os.close(open_fd(path))
    except FileNotFoundError:
        return False
    return True


def _writer_jail(path: Path | str) -> Jail:
    """The data folder the path lies in; outside them all, the file's own folder (trusted,
    as the operator chose it): the file's name is still never written through a link."""
    return jail_of(path) or Jail(Path(os.path.abspath(path)).parent)


def write_atomically(path: Path | str, write: Callable[[BinaryIO], None]) -> Path:
    return _writer_jail(path).write_atomically(path, write)


def write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    return _writer_jail(path).write_text(path, text, encoding)


def stream(fh: BinaryIO, chunk: int = CHUNK) -> Iterator[bytes]:
    """The rest of an open file in chunks (bounded memory)."""
    yield from iter(lambda: fh.read(chunk), b"")


def unlink(path: Path | str, missing_ok: bool = False) -> None:
    _writer_jail(path).unlink(path, missing_ok=missing_ok)
