"""Template archives: digest-checked fetch, refusal of hostile archives, reproducible packing."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import os
import socket
import stat
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute import archive
from nnfv_agent.drivers.compute.archive import (
    ArchiveError,
    extract,
    fetch,
    pack_directory,
    sha256_file,
)

PAYLOAD = b"not really a tgz, fetch does not care\n" * 100
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


# --------------------------------------------------------------------------------------------
# helpers


def _file(
    name: str, data: bytes = b"x", mode: int = 0o644, **attrs
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def _entry(name: str, kind: bytes, linkname: str = "", mode: int = 0o755, **attrs):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = mode
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, None


def _dir(name: str):
    return _entry(name, tarfile.DIRTYPE)


def _symlink(name: str, target: str):
    return _entry(name, tarfile.SYMTYPE, target, mode=0o777)


def _hardlink(name: str, target: str):
    return _entry(name, tarfile.LNKTYPE, target, mode=0o644)


def _make_tar(path: Path, entries, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _tree(root: Path) -> dict[str, tuple]:
    """A comparable picture of a directory: type, mode, content or link target per entry."""
    result: dict[str, tuple] = {}
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


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory whose parent (tmp_path) is 'outside' for every extraction test."""
    path = tmp_path / "work"
    path.mkdir()
    return path


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
    monkeypatch.setattr(archive, "MAX_ARCHIVE_SIZE", 100)
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


# --------------------------------------------------------------------------------------------
# extract: hostile archives


def _outside(tmp_path: Path) -> Path:
    """A directory next to the extraction area that hostile archives try to reach."""
    path = tmp_path / "outside"
    path.mkdir(exist_ok=True)
    return path


ABSOLUTE_TARGET = f"/tmp/nnfv-evil-{uuid.uuid4().hex}"

HOSTILE = {
    "path_traversal": ([_file("../evil")], "'..' component"),
    "nested_traversal": ([_dir("a"), _file("a/../../evil")], "'..' component"),
    "absolute_path": ([_file(ABSOLUTE_TARGET)], "absolute path"),
    "symlink_to_etc_then_write_through": (
        [_symlink("link", "/etc"), _file("link/passwd", b"pwned")],
        "symlink to absolute path '/etc'",
    ),
    "symlink_dotdot_escape": ([_symlink("link", "../../x")], "resolves outside"),
    "symlink_in_subdir_escape": (
        [_dir("sub"), _symlink("sub/link", "../../outside")],
        "resolves outside",
    ),
    # Lexically "d/s/../x" is "d/x", but s -> .. makes it climb out of the root.
    "symlink_escape_through_other_symlink": (
        [_dir("d"), _symlink("d/s", ".."), _symlink("d/t", "s/../x")],
        "resolves outside",
    ),
    "symlink_loop": ([_symlink("a", "b"), _symlink("b", "a")], "symlink loop"),
    "write_through_inner_symlink": (
        [_dir("sub"), _symlink("ln", "sub"), _file("ln/file")],
        "goes through symlink 'ln'",
    ),
    "hardlink_dotdot": ([_hardlink("hl", "../outside/secret")], "'..' component"),
    "hardlink_absolute": ([_hardlink("hl", "/etc/passwd")], "absolute hardlink target"),
    "hardlink_to_unknown_member": ([_hardlink("hl", "nowhere")], "not an earlier regular file"),
    "character_device": (
        [_entry("null", tarfile.CHRTYPE, devmajor=1, devminor=3)],
        "character device",
    ),
    "block_device": ([_entry("sda", tarfile.BLKTYPE, devmajor=8, devminor=0)], "block device"),
    "fifo": ([_entry("pipe", tarfile.FIFOTYPE)], "FIFO"),
    "duplicate_file_over_symlink": (
        [_file("target"), _symlink("f", "target"), _file("f", b"overwrite")],
        "duplicate entry",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_extract_refuses_hostile_archive_and_writes_nothing(case: str, tmp_path: Path) -> None:
    entries, reason = HOSTILE[case]
    outside = _outside(tmp_path)
    (outside / "secret").write_text("keep")
    work = tmp_path / "work"
    work.mkdir()
    tgz = _make_tar(tmp_path / "evil.tgz", entries)
    dest = work / "dest"

    with pytest.raises(ArchiveError) as err:
        extract(tgz, dest)

    message = str(err.value)
    assert reason in message
    assert "refusing member" in message
    assert not dest.exists()
    assert list(work.iterdir()) == [], "temporary extraction directory left behind"
    assert not (tmp_path / "evil").exists()
    assert not (tmp_path / "x").exists()
    assert not Path(ABSOLUTE_TARGET).exists()
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "keep"


def test_extract_refusal_names_the_member(tmp_path: Path) -> None:
    tgz = _make_tar(tmp_path / "evil.tgz", [_file("ok"), _file("../evil")])
    with pytest.raises(ArchiveError, match=r"evil\.tgz: refusing member '\.\./evil'"):
        extract(tgz, tmp_path / "dest")


def test_extract_refuses_symlink_pointing_outside_via_absolute_tmp_dir(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    tgz = _make_tar(
        tmp_path / "evil.tgz", [_symlink("link", str(outside)), _file("link/planted", b"x")]
    )
    with pytest.raises(ArchiveError, match="refusing member 'link'"):
        extract(tgz, tmp_path / "dest")
    assert not (outside / "planted").exists()
    assert not (tmp_path / "dest").exists()


def test_extract_refuses_corrupt_input_as_invalid_archive(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tgz"
    junk.write_bytes(b"\x1f\x8b\x08\x00 this is no gzip stream at all" * 20)
    with pytest.raises(ArchiveError, match=r"junk\.tgz is not a valid tar\.gz archive: "):
        extract(junk, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()


def test_extract_refuses_truncated_archive_without_partial_dest(tmp_path: Path) -> None:
    good = _make_tar(tmp_path / "good.tgz", [_file(f"f{i}", os.urandom(20000)) for i in range(5)])
    truncated = tmp_path / "truncated.tgz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    work = tmp_path / "work"
    work.mkdir()

    with pytest.raises(ArchiveError, match=r"is not a valid tar\.gz archive"):
        extract(truncated, work / "dest")

    assert list(work.iterdir()) == []


def test_extract_reports_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=r"cannot extract .*absent\.tgz: no such file"):
        extract(tmp_path / "absent.tgz", tmp_path / "dest")


# --------------------------------------------------------------------------------------------
# extract: good archives


GOOD = [
    _dir("bin"),
    _file("bin/start.sh", b"#!/bin/sh\necho up\n", mode=0o755),
    _symlink("bin/run", "start.sh"),
    _dir("etc"),
    _file("etc/conf", b"key=value\n", mode=0o644),
    _symlink("etc/start", "../bin/start.sh"),
    _symlink("current", "bin"),
    _hardlink("etc/conf.hard", "etc/conf"),
]


def test_extract_keeps_executable_bits_and_internal_symlinks(work: Path) -> None:
    tgz = _make_tar(work / "nnf.tgz", GOOD)
    dest = work / "templates" / "nnf"

    extract(tgz, dest)

    script = dest / "bin" / "start.sh"
    assert script.read_bytes() == b"#!/bin/sh\necho up\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    assert os.access(script, os.X_OK)
    assert stat.S_IMODE((dest / "etc" / "conf").stat().st_mode) == 0o644
    assert os.readlink(dest / "bin" / "run") == "start.sh"
    assert os.readlink(dest / "etc" / "start") == "../bin/start.sh"
    assert os.readlink(dest / "current") == "bin"
    assert (dest / "current" / "start.sh").read_bytes().startswith(b"#!/bin/sh")
    assert (dest / "etc" / "conf.hard").stat().st_ino == (dest / "etc" / "conf").stat().st_ino
    assert sorted(p.name for p in dest.parent.iterdir()) == ["nnf"]


def test_extract_drops_ownership_and_setuid_bits(work: Path) -> None:
    tgz = _make_tar(
        work / "nnf.tgz",
        [_file("suid", b"x", mode=0o4777, uid=4242, gid=4242, uname="nobody", gname="nogroup")],
    )
    dest = work / "dest"

    extract(tgz, dest)

    st = (dest / "suid").stat()
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
    assert stat.S_IMODE(st.st_mode) == 0o755


def test_extract_accepts_plain_tar(work: Path) -> None:
    tar = _make_tar(work / "nnf.tar", [_file("a", b"plain")], mode="w")
    extract(tar, work / "dest")
    assert (work / "dest" / "a").read_bytes() == b"plain"


def test_extract_accepts_dot_root_entries(work: Path) -> None:
    tgz = _make_tar(work / "nnf.tgz", [_dir("."), _dir("./bin"), _file("./bin/x", b"1")])
    extract(tgz, work / "dest")
    assert (work / "dest" / "bin" / "x").read_bytes() == b"1"


def test_extract_leaves_existing_dest_untouched(work: Path) -> None:
    dest = work / "dest"
    dest.mkdir()
    (dest / "marker").write_text("earlier extraction")
    tgz = _make_tar(work / "nnf.tgz", [_file("new")])

    extract(tgz, dest)

    assert sorted(p.name for p in dest.iterdir()) == ["marker"]


def test_extract_refuses_dest_that_is_a_file(work: Path) -> None:
    dest = work / "dest"
    dest.write_text("")
    tgz = _make_tar(work / "nnf.tgz", [_file("a")])
    with pytest.raises(ArchiveError, match="exists and is not a directory"):
        extract(tgz, dest)


def test_extracted_root_is_readable_by_other_users(work: Path) -> None:
    tgz = _make_tar(work / "nnf.tgz", [_file("a")])
    extract(tgz, work / "dest")
    assert stat.S_IMODE((work / "dest").stat().st_mode) == 0o755


# --------------------------------------------------------------------------------------------
# pack_directory


def _sample_tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "start.sh").write_text("#!/bin/sh\necho up\n")
    (root / "bin" / "start.sh").chmod(0o755)
    (root / "etc").mkdir()
    (root / "etc" / "conf").write_text("key=value\n")
    (root / "etc" / "conf").chmod(0o640)
    (root / "etc" / "start").symlink_to("../bin/start.sh")
    (root / "empty").mkdir()
    return root


def test_pack_directory_is_reproducible(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")

    first = pack_directory(src, tmp_path / "a.tgz")
    second = pack_directory(src, tmp_path / "b.tgz")

    assert first == second
    assert (tmp_path / "a.tgz").read_bytes() == (tmp_path / "b.tgz").read_bytes()
    assert first == sha256_file(tmp_path / "a.tgz")


def test_pack_directory_ignores_mtimes_and_ownership(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    before = pack_directory(src, tmp_path / "a.tgz")

    for path in [src, *src.rglob("*")]:
        os.utime(path, (1_000_000, 1_000_000), follow_symlinks=False)
        os.lchown(path, 4242, 4242)
    after = pack_directory(src, tmp_path / "b.tgz")

    assert after == before


def test_pack_directory_digest_changes_with_content_and_mode(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    base = pack_directory(src, tmp_path / "a.tgz")

    (src / "etc" / "conf").write_text("key=other\n")
    changed_content = pack_directory(src, tmp_path / "b.tgz")
    (src / "etc" / "conf").chmod(0o600)
    changed_mode = pack_directory(src, tmp_path / "c.tgz")

    assert len({base, changed_content, changed_mode}) == 3


def test_pack_directory_writes_zero_gzip_mtime(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    pack_directory(src, tmp_path / "a.tgz")
    header = (tmp_path / "a.tgz").read_bytes()[:10]
    assert header[4:8] == b"\0\0\0\0"
    with tarfile.open(tmp_path / "a.tgz") as tar:
        assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in tar} == {(0, 0, 0, "", "")}


def test_pack_directory_round_trips_through_extract(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    tgz = tmp_path / "out" / "nnf.tgz"
    digest = pack_directory(src, tgz)

    extract(tgz, tmp_path / "back")

    assert _tree(tmp_path / "back") == _tree(src)
    assert sorted(p.name for p in tgz.parent.iterdir()) == ["nnf.tgz"]
    assert digest == sha256_file(tgz)


def test_pack_directory_output_is_fetchable_by_its_digest(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    digest = pack_directory(src, tmp_path / "nnf.tgz")
    cached = fetch(str(tmp_path / "nnf.tgz"), tmp_path / "cache", digest)
    assert gzip.decompress(cached.read_bytes())


def test_pack_directory_refuses_fifo(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    os.mkfifo(src / "pipe")
    with pytest.raises(ArchiveError, match=r"cannot pack .*pipe: unsupported file type"):
        pack_directory(src, tmp_path / "a.tgz")
    assert not (tmp_path / "a.tgz").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_pack_directory_refuses_destination_inside_source(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    with pytest.raises(ArchiveError, match="destination is inside the source"):
        pack_directory(src, src / "self.tgz")
