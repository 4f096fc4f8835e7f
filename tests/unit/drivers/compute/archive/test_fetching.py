"""Fetching template archives: digest-checked, size-bounded, cached under the digest."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.archive import ArchiveError, fetch, sha256_file
from nnfv_agent.drivers.compute.archive import fetching as fetching_module

PAYLOAD = b"not really a tgz, fetch does not care\n" * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "nnf.tgz"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


# --------------------------------------------------------------------------------------------
# sha256_file


def test_sha256_file_returns_lower_case_hex_of_content(source: Path) -> None:
    assert sha256_file(source) == PAYLOAD_SHA


# --------------------------------------------------------------------------------------------
# fetch: local sources


def test_fetch_file_uri_stores_archive_under_its_digest(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"

    got = fetch(source.as_uri(), cache, PAYLOAD_SHA)

    assert got == cache / f"{PAYLOAD_SHA}.tgz"
    assert got.read_bytes() == PAYLOAD
    assert sorted(p.name for p in cache.iterdir()) == [got.name]


def test_fetch_accepts_plain_absolute_path(source: Path, tmp_path: Path) -> None:
    got = fetch(str(source), tmp_path / "cache", PAYLOAD_SHA)
    assert got.read_bytes() == PAYLOAD


def test_fetch_accepts_plain_relative_path(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(source.parent)
    got = fetch(source.name, tmp_path / "cache", PAYLOAD_SHA)
    assert got.read_bytes() == PAYLOAD


def test_fetch_treats_colon_in_relative_name_as_path_not_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nnf:1.0.tgz").write_bytes(PAYLOAD)
    monkeypatch.chdir(tmp_path)
    assert fetch("nnf:1.0.tgz", tmp_path / "cache", PAYLOAD_SHA).read_bytes() == PAYLOAD


def test_fetch_refuses_digest_mismatch_and_leaves_nothing_in_cache(
    source: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    wrong = "0" * 64

    with pytest.raises(ArchiveError) as err:
        fetch(source.as_uri(), cache, wrong)

    assert str(err.value) == (
        f"sha256 mismatch for {source.as_uri()}: expected {wrong}, got {PAYLOAD_SHA}"
    )
    assert list(cache.iterdir()) == []


def test_fetch_reuses_cached_copy_without_reading_source(source: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = fetch(source.as_uri(), cache, PAYLOAD_SHA)
    source.unlink()

    second = fetch(source.as_uri(), cache, PAYLOAD_SHA)

    assert second == first
    assert second.read_bytes() == PAYLOAD


def test_fetch_stores_under_lower_case_digest_when_given_upper_case(
    source: Path, tmp_path: Path
) -> None:
    got = fetch(source.as_uri(), tmp_path / "cache", PAYLOAD_SHA.upper())
    assert got.name == f"{PAYLOAD_SHA}.tgz"


def test_fetch_replaces_cache_entry_whose_content_no_longer_matches(
    source: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"{PAYLOAD_SHA}.tgz").write_bytes(b"bit rot")

    got = fetch(source.as_uri(), cache, PAYLOAD_SHA)

    assert got.read_bytes() == PAYLOAD


def test_fetch_reports_missing_file_with_uri_and_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tgz"
    with pytest.raises(ArchiveError, match=r"cannot fetch .*nope\.tgz: No such file"):
        fetch(missing.as_uri(), tmp_path / "cache", PAYLOAD_SHA)
    assert list((tmp_path / "cache").iterdir()) == []


def test_fetch_refuses_unsupported_scheme(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="unsupported URI scheme 'ftp'"):
        fetch("ftp://example.invalid/nnf.tgz", tmp_path / "cache", PAYLOAD_SHA)


def test_fetch_refuses_file_uri_naming_a_remote_host(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="remote host 'elsewhere'"):
        fetch("file://elsewhere/nnf.tgz", tmp_path / "cache", PAYLOAD_SHA)


def test_fetch_refuses_malformed_digest(source: Path, tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="invalid sha256 'abc'"):
        fetch(source.as_uri(), tmp_path / "cache", "abc")


def test_fetch_refuses_source_larger_than_limit(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetching_module, "MAX_ARCHIVE_SIZE", 100)
    with pytest.raises(ArchiveError, match="exceeds 100"):
        fetch(source.as_uri(), tmp_path / "cache", PAYLOAD_SHA)
    assert list((tmp_path / "cache").iterdir()) == []


# --------------------------------------------------------------------------------------------
# fetch: http


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, str]]:
    """Serve a temp directory on 127.0.0.1; yields (directory, base URL)."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_fetch_downloads_over_http(http_root: tuple[Path, str], tmp_path: Path) -> None:
    root, base = http_root
    (root / "nnf.tgz").write_bytes(PAYLOAD)

    got = fetch(f"{base}/nnf.tgz", tmp_path / "cache", PAYLOAD_SHA, timeout=5)

    assert got.read_bytes() == PAYLOAD


def test_fetch_reports_http_404_and_leaves_nothing_in_cache(
    http_root: tuple[Path, str], tmp_path: Path
) -> None:
    _, base = http_root
    with pytest.raises(ArchiveError, match=r"cannot fetch http://.*/missing\.tgz: HTTP 404"):
        fetch(f"{base}/missing.tgz", tmp_path / "cache", PAYLOAD_SHA, timeout=5)
    assert list((tmp_path / "cache").iterdir()) == []


def test_fetch_refuses_http_download_with_wrong_digest(
    http_root: tuple[Path, str], tmp_path: Path
) -> None:
    root, base = http_root
    (root / "nnf.tgz").write_bytes(PAYLOAD + b"tampered")
    with pytest.raises(ArchiveError, match="sha256 mismatch"):
        fetch(f"{base}/nnf.tgz", tmp_path / "cache", PAYLOAD_SHA, timeout=5)
    assert list((tmp_path / "cache").iterdir()) == []


def test_fetch_reports_unreachable_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    # Bind and close to get a port that nothing listens on.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ArchiveError, match=r"cannot fetch http://127\.0\.0\.1:\d+/x: .*refused"):
        fetch(f"http://127.0.0.1:{port}/x", tmp_path / "cache", PAYLOAD_SHA, timeout=5)
