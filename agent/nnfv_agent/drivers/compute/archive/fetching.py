"""Fetch a template archive into a digest-addressed cache: file paths, file:// and http(s).

The archive comes from outside the CPE: its size is bounded while it arrives, and it is only
stored under its sha256 name once the digest of what arrived matches.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .common import CHUNK, ArchiveError, sha256_file

MAX_ARCHIVE_SIZE = 256 * 1024 * 1024
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


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
    transient: tuple[type[Exception], ...] = (TimeoutError, *_http_errors())
    try:
        while chunk := src.read(CHUNK):
            total += len(chunk)
            # Content-Length may be absent or lie, so the limit is enforced on what arrives.
            if total > MAX_ARCHIVE_SIZE:
                raise ArchiveError(f"cannot fetch {uri}: larger than {MAX_ARCHIVE_SIZE} bytes")
            digest.update(chunk)
            out.write(chunk)
    except transient as exc:
        raise ArchiveError(f"cannot fetch {uri}: {exc or type(exc).__name__}") from exc
    except OSError as exc:
        raise ArchiveError(f"cannot fetch {uri}: read failed: {exc}") from exc
    return digest.hexdigest()
