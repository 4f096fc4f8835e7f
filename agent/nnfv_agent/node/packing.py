"""Reproducible packing of a template directory into a .tgz: the same tree, the same digest.

The catalog packs the shipped templates at start (and tests pack theirs); the agent never
packs what it fetched. Entries are sorted and carry no timestamps or ownership.
"""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath

from ..drivers.compute.archive import ArchiveError, sha256_file


def pack_directory(src: Path, dest: Path, extra: Mapping[str, Path] | None = None) -> str:
    """Write a reproducible .tgz of ``src`` to ``dest`` atomically and return its sha256.

    Entries are sorted and carry no timestamps or ownership, so the same tree always gives the
    same digest, whatever its mtimes or who owns it. ``extra`` maps archive names (in a
    directory of ``src``) to regular files packed as if they were there: how a library shared
    by several templates is shipped inside each archive, so that each still stands alone.
    """
    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        raise ArchiveError(f"cannot pack {src}: not a directory")
    added = _extra_by_directory(src, extra or {})
    if dest.resolve().is_relative_to(src.resolve()):
        raise ArchiveError(f"cannot pack {src} into {dest}: destination is inside the source")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        raise ArchiveError(f"cannot pack {src} into {dest}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            # filename="" and mtime=0 keep the temp name and the clock out of the gzip header.
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                    for arcname, path in _walk_sorted(src, "", added):
                        _add_normalised(tar, path, arcname)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        raise ArchiveError(f"cannot pack {src} into {dest}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return sha256_file(dest)


def _extra_by_directory(src: Path, extra: Mapping[str, Path]) -> dict[str, dict[str, Path]]:
    """{directory relative to src: {name: file}}, after checking each extra entry."""
    by_dir: dict[str, dict[str, Path]] = {}
    for arcname, path in extra.items():
        parts = PurePosixPath(arcname).parts
        if not parts or arcname.startswith("/") or ".." in parts:
            raise ArchiveError(f"cannot pack {src}: bad name {arcname!r} for an added file")
        where = src.joinpath(*parts)
        if not where.parent.is_dir() or where.parent.is_symlink():
            raise ArchiveError(f"cannot pack {src}: no directory to add {arcname} to")
        if where.exists() or where.is_symlink():
            raise ArchiveError(f"cannot pack {src}: {arcname} is in the tree and added as well")
        if not Path(path).is_file():
            raise ArchiveError(f"cannot pack {path} as {arcname}: not a regular file")
        by_dir.setdefault("/".join(parts[:-1]), {})[parts[-1]] = Path(path)
    return by_dir


def _walk_sorted(
    root: Path, rel: str, extra: dict[str, dict[str, Path]]
) -> Iterator[tuple[str, Path]]:
    """(archive name, path) of everything below root and the extra files, sorted by name."""
    entries = {p.name: p for p in root.iterdir()}
    entries.update(extra.get(rel, {}))
    for name in sorted(entries):
        path = entries[name]
        arcname = f"{rel}/{name}" if rel else name
        yield arcname, path
        if path.is_dir() and not path.is_symlink():
            yield from _walk_sorted(path, arcname, extra)


def _add_normalised(tar: tarfile.TarFile, path: Path, arcname: str) -> None:
    info = tar.gettarinfo(str(path), arcname)
    if info is None or not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
        kind = stat.filemode(path.lstat().st_mode)
        raise ArchiveError(f"cannot pack {path}: unsupported file type ({kind})")
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isreg():
        with open(path, "rb") as f:
            tar.addfile(info, f)
    else:
        tar.addfile(info)
