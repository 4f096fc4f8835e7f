"""Crash-safe file writes: a reader sees the old file or the new one, never a torn one.

State files can hold secrets (an ipsec NF's pre-shared key is configuration), so every file
written here is 0600 and the state directory 0700, whoever created them and whatever the umask.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700


def secure_state_dir(path: Path) -> None:
    """Create `path` (0700) or make it 0700, and take group and other access off its files."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        log.warning("state directory %s was mode %o; made it 0700", path, path.stat().st_mode)
        path.chmod(DIR_MODE)
    for entry in path.iterdir():
        try:
            st = entry.lstat()
        except FileNotFoundError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
            entry.chmod(stat.S_IMODE(st.st_mode) & ~0o077)


def atomic_write(path: Path, data: str, *, durable: bool = True) -> None:
    """Replace `path` with `data`. `durable=False` skips the fsyncs: for files that can be
    rebuilt from durable ones (an NF's state, from running and its template)."""
    path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with open(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), FILE_MODE)  # a leftover tmp file keeps its old mode otherwise
        fh.write(data)
        fh.flush()
        if durable:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if not durable:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
