"""Crash-safe file writes: a reader sees the old file or the new one, never a torn one.

The bottom of the package: the datastore (running, startup, the journal) and the drivers (an
NF's state file) both write through here, and this module imports nothing of either. Every file
written here is 0600 and every directory it creates 0700, whatever the umask: state files can
hold secrets (an ipsec NF's pre-shared key is configuration).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PREVIOUS_SUFFIX = ".prev"
FILE_MODE = 0o600
DIR_MODE = 0o700


def atomic_write(path: Path, data: str, *, durable: bool = True) -> None:
    """Replace `path` with `data`. `durable=False` skips the fsyncs: for files that can be
    rebuilt from durable ones (an NF's state, from running and its template)."""
    replace_durably(path, data.encode("utf-8"), durable=durable)


def temp_path(path: Path) -> Path:
    """Where `atomic_write` stages the new content of `path`."""
    return path.with_name(f".{path.name}.tmp")


def previous_path(path: Path) -> Path:
    """Where the generation a state file replaced is kept."""
    return path.with_name(path.name + PREVIOUS_SUFFIX)


FileVersion = tuple[int, int, int]


def file_version(path: Path) -> FileVersion | None:
    """(inode, mtime, size): changes whenever the file is written (an atomic write replaces
    it), so a reader can tell that it need not read it again. None if there is none."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def remove(path: Path) -> None:
    """Remove `path` (if it exists) durably: the directory entry is synced."""
    try:
        path.unlink()
    except FileNotFoundError:
        return
    sync_dir(path.parent)


def make_private_dirs(directory: Path) -> None:
    """Create `directory` and each missing parent with DIR_MODE, whatever the umask
    (Path.mkdir(parents=True) would give the parents 0777 & ~umask)."""
    missing = [d for d in (directory, *directory.parents) if not d.exists()]
    for each in reversed(missing):
        try:
            each.mkdir()
        except FileExistsError:
            continue
        os.chmod(each, DIR_MODE)


def replace_durably(path: Path, payload: bytes, *, durable: bool = True) -> None:
    """Write `payload` to a temporary (0600), fsync it, rename it over `path`, fsync the
    directory; without the fsyncs when not `durable`."""
    make_private_dirs(path.parent)
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with open(fd, "wb") as fh:
            os.fchmod(fh.fileno(), FILE_MODE)  # a leftover tmp file keeps its old mode otherwise
            fh.write(payload)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        # A full disk names no file; say which one was not written.
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    finally:
        # Whatever happened, the half-written temporary is not left behind.
        tmp.unlink(missing_ok=True)
    if durable:
        sync_dir(path.parent)


def sync_dir(directory: Path) -> None:
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# The last digests: a commit's target is digested for its journal and again for the header of
# the running file it becomes, and it is the next commit's previous running (0.34 ms each at
# 480 kB, 800 graphs).
_recent_digests: dict[str, str] = {}


def text_digest(text: str) -> str:
    """The sha256 of `text` in UTF-8, hex; the two used last are remembered."""
    value = _recent_digests.pop(text, None)
    if value is None:
        value = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if len(_recent_digests) >= 2:
            _recent_digests.pop(next(iter(_recent_digests)))
    _recent_digests[text] = value  # the newest: a new target must not push out the running
    return value
