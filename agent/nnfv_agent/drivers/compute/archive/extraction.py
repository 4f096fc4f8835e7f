"""Extract a template archive safely: nothing in it may write or point outside its directory.

Every member is checked against the whole member list before a single byte is written, and the
result only appears at ``dest`` once it is complete.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from .common import ArchiveError

# Same bound as the kernel's ELOOP limit; deeper chains are refused rather than followed.
_MAX_SYMLINK_HOPS = 40
# Extraction filters (PEP 706) came with Python 3.11.4; Debian 12's python3 is 3.11.2. Without
# them `_as_data` drops what the data filter drops; the containment checks are ours anyway.
_HAS_FILTERS = hasattr(tarfile, "data_filter")
_FILTER_ERRORS: tuple[type[Exception], ...] = (
    (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
)


def extract(archive: Path, dest: Path) -> None:
    """Extract a .tgz (or plain .tar) into ``dest``, refusing anything that could escape it.

    An existing ``dest`` directory is taken as a previous extraction of the same archive and left
    untouched. On refusal or failure ``dest`` does not exist afterwards.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.is_dir():
        return
    if dest.exists() or dest.is_symlink():
        raise ArchiveError(f"cannot extract {archive}: {dest} exists and is not a directory")
    if not archive.is_file():
        raise ArchiveError(f"cannot extract {archive}: no such file")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part"))
    except OSError as exc:
        raise ArchiveError(f"cannot extract {archive}: cannot create {dest.parent}: {exc}") from exc
    try:
        with _open_tar(archive) as tar:
            members = _read_members(tar, archive)
            _check_members(members, archive)
            _extract_checked(tar, members, tmp, archive)
        # mkdtemp makes the directory 0700; NNF processes may run as other users.
        tmp.chmod(0o755)
        _publish(tmp, dest, archive)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def _open_tar(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive} is not a valid tar.gz archive: {exc}") from exc
    with tar:
        yield tar


def _read_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    # Reading every header first means a truncated or corrupt archive fails before any write.
    try:
        return tar.getmembers()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive} is not a valid tar.gz archive: {exc}") from exc


def _extract_checked(
    tar: tarfile.TarFile, members: list[tarfile.TarInfo], tmp: Path, archive: Path
) -> None:
    try:
        if _HAS_FILTERS:
            # The data filter repeats the containment checks against the real file system and
            # drops ownership, setuid/setgid and group/other write bits; owner exec bits survive.
            tar.extractall(tmp, members=members, filter="data")
        else:
            tar.extractall(tmp, members=[_as_data(m) for m in members])
    except _FILTER_ERRORS as exc:
        name = getattr(getattr(exc, "tarinfo", None), "name", "?")
        raise ArchiveError(f"{archive}: refusing member '{name}': {exc}") from exc
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive} is not a valid tar.gz archive: {exc}") from exc
    except OSError as exc:
        raise ArchiveError(f"cannot extract {archive} into {tmp}: {exc}") from exc


def _as_data(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """A copy of a checked member as the data filter would extract it: owned by whoever
    extracts (no chown to the archive's ids or names), no setuid/setgid/sticky bits, no
    group/other write, owner read/write on files, exec bits only if the owner had one."""
    safe = copy.copy(member)
    safe.uid, safe.gid = os.geteuid(), os.getegid()
    safe.uname = safe.gname = ""  # a name would be looked up and win over the ids
    mode = member.mode & 0o755
    if member.isreg() or member.islnk():
        if not mode & 0o100:
            mode &= ~0o111
        safe.mode = mode | 0o600
    else:
        safe.mode = 0o755  # directories (symlinks keep no mode of their own)
    return safe


def _publish(tmp: Path, dest: Path, archive: Path) -> None:
    try:
        os.rename(tmp, dest)
    except OSError as exc:
        # Another extraction of the same digest won the race; its result is equivalent.
        if dest.is_dir():
            return
        raise ArchiveError(f"cannot extract {archive}: cannot rename into {dest}: {exc}") from exc


def _refuse(archive: Path, member: tarfile.TarInfo, reason: str) -> ArchiveError:
    return ArchiveError(f"{archive}: refusing member '{member.name}': {reason}")


def _check_members(members: list[tarfile.TarInfo], archive: Path) -> None:
    """Validate the archive as a whole; raise ArchiveError naming the first bad member."""
    symlinks: dict[tuple[str, ...], str] = {}
    for member in members:
        if member.issym():
            symlinks[_member_parts(member.name, archive, member)] = member.linkname

    seen: dict[tuple[str, ...], tarfile.TarInfo] = {}
    for member in members:
        parts = _member_parts(member.name, archive, member)
        _check_type(member, parts, archive)
        _check_parents(member, parts, symlinks, archive)
        previous = seen.get(parts)
        # A second entry with the same name would be written through (or over) the first one;
        # repeated directory entries are harmless and common.
        if previous is not None and not (previous.isdir() and member.isdir()):
            raise _refuse(archive, member, "duplicate entry")
        if member.issym():
            _check_symlink(member, parts, symlinks, archive)
        elif member.islnk():
            _check_hardlink(member, seen, symlinks, archive)
        seen[parts] = member


def _member_parts(
    name: str, archive: Path, member: tarfile.TarInfo, what: str = "path"
) -> tuple[str, ...]:
    if name.startswith("/"):
        raise _refuse(archive, member, f"absolute {what} '{name}'")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _refuse(archive, member, f"'..' component in {what} '{name}'")
    return parts


def _check_type(member: tarfile.TarInfo, parts: tuple[str, ...], archive: Path) -> None:
    if member.ischr():
        raise _refuse(archive, member, "character device")
    if member.isblk():
        raise _refuse(archive, member, "block device")
    if member.isfifo():
        raise _refuse(archive, member, "FIFO")
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        raise _refuse(archive, member, f"unsupported member type {member.type!r}")
    if not parts and not member.isdir():
        raise _refuse(archive, member, "only a directory may stand for the archive root")


def _check_parents(
    member: tarfile.TarInfo,
    parts: tuple[str, ...],
    symlinks: dict[tuple[str, ...], str],
    archive: Path,
) -> None:
    # Writing "link/file" would follow "link"; nothing is ever written through a symlink.
    for i in range(1, len(parts)):
        if parts[:i] in symlinks:
            raise _refuse(archive, member, f"path goes through symlink '{'/'.join(parts[:i])}'")


def _check_symlink(
    member: tarfile.TarInfo,
    parts: tuple[str, ...],
    symlinks: dict[tuple[str, ...], str],
    archive: Path,
) -> None:
    target = member.linkname
    if target.startswith("/"):
        raise _refuse(archive, member, f"symlink to absolute path '{target}'")
    try:
        inside = _resolve(parts[:-1], target, symlinks, [0]) is not None
    except _SymlinkLoop:
        raise _refuse(archive, member, f"symlink loop through '{target}'") from None
    if not inside:
        raise _refuse(archive, member, f"symlink target '{target}' resolves outside the archive")


class _SymlinkLoop(Exception):
    pass


def _resolve(
    start: tuple[str, ...], rel: str, symlinks: dict[tuple[str, ...], str], hops: list[int]
) -> tuple[str, ...] | None:
    """Resolve ``rel`` from directory ``start`` the way the kernel would once extracted.

    Symlinks from the archive are followed physically (".." after a link applies to the link's
    target), which catches escapes that lexical normalisation misses, e.g. ``d/s -> ..`` with
    ``d/t -> s/../x``. Returns None when the path leaves the archive root.
    """
    if rel.startswith("/"):
        return None
    stack = list(start)
    for comp in rel.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if not stack:
                return None
            stack.pop()
            continue
        stack.append(comp)
        target = symlinks.get(tuple(stack))
        if target is None:
            continue
        hops[0] += 1
        if hops[0] > _MAX_SYMLINK_HOPS:
            raise _SymlinkLoop
        stack.pop()
        resolved = _resolve(tuple(stack), target, symlinks, hops)
        if resolved is None:
            return None
        stack = list(resolved)
    return tuple(stack)


def _check_hardlink(
    member: tarfile.TarInfo,
    seen: dict[tuple[str, ...], tarfile.TarInfo],
    symlinks: dict[tuple[str, ...], str],
    archive: Path,
) -> None:
    target = _member_parts(member.linkname, archive, member, what="hardlink target")
    _check_parents(member, target, symlinks, archive)
    # Only a regular file extracted earlier from this archive may be linked to; anything else
    # would make os.link reach for whatever happens to exist at that name.
    original = seen.get(target)
    if original is None or not original.isreg():
        raise _refuse(
            archive,
            member,
            f"hardlink target '{member.linkname}' is not an earlier regular file in the archive",
        )
