"""Tar archives for the archive tests: members built by hand, hostile ones included."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

Member = tuple[tarfile.TarInfo, "bytes | None"]


def file_member(name: str, data: bytes = b"x", mode: int = 0o644, **attrs: Any) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def entry_member(
    name: str, kind: bytes, linkname: str = "", mode: int = 0o755, **attrs: Any
) -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, None


def dir_member(name: str) -> Member:
    return entry_member(name, tarfile.DIRTYPE)


def symlink_member(name: str, target: str) -> Member:
    return entry_member(name, tarfile.SYMTYPE, target, mode=0o777)


def hardlink_member(name: str, target: str) -> Member:
    return entry_member(name, tarfile.LNKTYPE, target, mode=0o644)


def make_tar(path: Path, entries: list[Member], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def tree_of(root: Path) -> dict[str, tuple[Any, ...]]:
    """A comparable picture of a directory: type, mode, content or link target per entry."""
    result: dict[str, tuple[Any, ...]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            result[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            result[rel] = ("dir",)
        else:
            result[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return result
