"""NNF template archives: fetch into a digest-addressed cache, extract safely, pack reproducibly.

A template arrives as a .tgz named by its sha256. The archive comes from outside the CPE, so
extraction trusts nothing in it: every member is checked against the whole member list before a
single byte is written, and the result only appears at ``dest`` once it is complete.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import urllib.parse
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ...errors import AgentError

MAX_ARCHIVE_SIZE = 256 * 1024 * 1024
_CHUNK = 1024 * 1024
# Same bound as the kernel's ELOOP limit; deeper chains are refused rather than followed.
_MAX_SYMLINK_HOPS = 40
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


class ArchiveError(AgentError):
    """A template archive could not be fetched, verified, extracted or packed."""

    app_tag = "template-archive"


def sha256_file(path: Path) -> str:
    """Lower-case hex sha256 of a file's content."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# fetch


def fetch(uri: str, cache_dir: Path, sha256: str, *, timeout: float = 30.0) -> Path:
    """Return ``cache_dir/<sha256>.tgz`` holding the verified content of ``uri``.

    ``uri`` is ``file:///abs/path``, a plain local path, or an http(s) URL. A cached copy whose
    digest still matches is reused without touching ``uri``.
    """
    want = _normalise_digest(sha256, uri)
    cache_dir = Path(cache_dir)
    target = cache_dir / f"{want}.tgz"
    if _cached(target, want):
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=cache_dir, prefix=f".{want}.", suffix=".part")
    except OSError as exc:
        raise ArchiveError(f"cannot write to archive cache {cache_dir}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            with _open_source(uri, timeout) as src:
                got = _copy_hashing(src, out, uri)
            out.flush()
            # The cache must survive a power cut on the CPE: a renamed but unsynced file could
            # come back empty with a name that claims a digest.
            os.fsync(out.fileno())
        if got != want:
            raise ArchiveError(f"sha256 mismatch for {uri}: expected {want}, got {got}")
        os.replace(tmp, target)
    except OSError as exc:
        raise ArchiveError(f"cannot store {uri} in {cache_dir}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _cached(target: Path, want: str) -> bool:
    try:
        if not target.is_file():
            return False
        if sha256_file(target) == want:
            return True
        # A damaged cache entry must not linger under a name that claims its digest.
        target.unlink()
    except OSError as exc:
        raise ArchiveError(f"cannot check cached archive {target}: {exc}") from exc
    return False


def _normalise_digest(sha256: str, uri: str) -> str:
    if not _SHA256_RE.match(sha256 or ""):
        raise ArchiveError(f"invalid sha256 {sha256!r} for {uri}: expected 64 hex digits")
    return sha256.lower()


@contextlib.contextmanager
def _open_source(uri: str, timeout: float) -> Iterator[BinaryIO]:
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme in ("http", "https"):
        with _open_url(uri, timeout) as response:
            yield response
    elif scheme == "file" or "://" not in uri:
        # "://" rather than urlsplit decides, so a relative name like "nnf:1.0.tgz" stays a path.
        with _open_local(uri) as f:
            yield f
    else:
        raise ArchiveError(f"cannot fetch {uri}: unsupported URI scheme '{scheme}'")


@contextlib.contextmanager
def _open_local(uri: str) -> Iterator[BinaryIO]:
    path = _local_path(uri)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise ArchiveError(f"cannot fetch {uri}: {exc.strerror or exc}") from exc
    with f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_ARCHIVE_SIZE:
            raise ArchiveError(f"cannot fetch {uri}: {size} bytes exceeds {MAX_ARCHIVE_SIZE}")
        yield f


def _local_path(uri: str) -> Path:
    if "://" not in uri:
        return Path(uri)
    parts = urllib.parse.urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise ArchiveError(f"cannot fetch {uri}: file URI names remote host '{parts.netloc}'")
    return Path(urllib.parse.unquote(parts.path))


@contextlib.contextmanager
def _open_url(uri: str, timeout: float) -> Iterator[BinaryIO]:
    # Imported here: urllib.request pulls in ssl, megabytes a CPE need not spend until a
    # template actually comes over HTTP(S).
    import http.client
    import urllib.error
    import urllib.request

    try:
        response = urllib.request.urlopen(uri, timeout=timeout)
    except urllib.error.HTTPError as exc:
        raise ArchiveError(f"cannot fetch {uri}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise ArchiveError(f"cannot fetch {uri}: {exc.reason}") from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise ArchiveError(f"cannot fetch {uri}: {exc or type(exc).__name__}") from exc
    with response:
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > MAX_ARCHIVE_SIZE:
            raise ArchiveError(f"cannot fetch {uri}: {length} bytes exceeds {MAX_ARCHIVE_SIZE}")
        yield response


def _http_errors() -> tuple[type[Exception], ...]:
    client = sys.modules.get("http.client")
    return (client.HTTPException,) if client else ()


def _copy_hashing(src: BinaryIO, out: BinaryIO, uri: str) -> str:
    digest = hashlib.sha256()
    total = 0
    try:
        while chunk := src.read(_CHUNK):
            total += len(chunk)
            # Content-Length may be absent or lie, so the limit is enforced on what arrives.
            if total > MAX_ARCHIVE_SIZE:
                raise ArchiveError(f"cannot fetch {uri}: larger than {MAX_ARCHIVE_SIZE} bytes")
            digest.update(chunk)
            out.write(chunk)
    except (TimeoutError, *_http_errors()) as exc:
        raise ArchiveError(f"cannot fetch {uri}: {exc or type(exc).__name__}") from exc
    except OSError as exc:
        raise ArchiveError(f"cannot fetch {uri}: read failed: {exc}") from exc
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# extract


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
        # The data filter repeats the containment checks against the real file system and drops
        # ownership, setuid/setgid and group/other write bits; owner exec bits survive.
        tar.extractall(tmp, members=members, filter="data")
    except tarfile.FilterError as exc:
        raise ArchiveError(f"{archive}: refusing member '{exc.tarinfo.name}': {exc}") from exc
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{archive} is not a valid tar.gz archive: {exc}") from exc
    except OSError as exc:
        raise ArchiveError(f"cannot extract {archive} into {tmp}: {exc}") from exc


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


# --------------------------------------------------------------------------------------------
# pack


def pack_directory(src: Path, dest: Path) -> str:
    """Write a reproducible .tgz of ``src`` to ``dest`` atomically and return its sha256.

    Entries are sorted and carry no timestamps or ownership, so the same tree always gives the
    same digest, whatever its mtimes or who owns it.
    """
    src, dest = Path(src), Path(dest)
    if not src.is_dir():
        raise ArchiveError(f"cannot pack {src}: not a directory")
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
                    for path in _walk_sorted(src):
                        _add_normalised(tar, path, path.relative_to(src).as_posix())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, dest)
    except OSError as exc:
        raise ArchiveError(f"cannot pack {src} into {dest}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return sha256_file(dest)


def _walk_sorted(root: Path) -> Iterator[Path]:
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        yield entry
        if entry.is_dir() and not entry.is_symlink():
            yield from _walk_sorted(entry)


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
