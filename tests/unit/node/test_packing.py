"""Reproducible packing: the same tree gives the same archive and digest, whoever packs it."""

from __future__ import annotations

import gzip
import os
import tarfile
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.archive import ArchiveError, extract, fetch, sha256_file
from nnfv_agent.node.packing import pack_directory
from support.tarballs import (
    tree_of,
)

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


def test_pack_directory_ignores_mtimes(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    before = pack_directory(src, tmp_path / "a.tgz")

    for path in [src, *src.rglob("*")]:
        os.utime(path, (1_000_000, 1_000_000), follow_symlinks=False)
    after = pack_directory(src, tmp_path / "b.tgz")

    assert after == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another owner needs root")
def test_pack_directory_ignores_ownership(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    before = pack_directory(src, tmp_path / "a.tgz")

    for path in [src, *src.rglob("*")]:
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

    assert tree_of(tmp_path / "back") == tree_of(src)
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


def test_pack_directory_adds_extra_files_as_if_they_were_in_the_tree(tmp_path: Path) -> None:
    src = _sample_tree(tmp_path / "src")
    lib = tmp_path / "lib.sh"
    lib.write_text("die() { exit 1; }\n")
    as_extra = pack_directory(src, tmp_path / "a.tgz", {"bin/lib.sh": lib})

    copy = _sample_tree(tmp_path / "copy")
    (copy / "bin" / "lib.sh").write_text(lib.read_text())
    in_tree = pack_directory(copy, tmp_path / "b.tgz")

    assert as_extra == in_tree
    with tarfile.open(tmp_path / "a.tgz") as tar:
        names = tar.getnames()
    assert names.index("bin/lib.sh") == names.index("bin/start.sh") - 1  # sorted in place


@pytest.mark.parametrize(
    ("arcname", "why"),
    [
        ("bin/start.sh", "is in the tree and added as well"),
        ("nowhere/lib.sh", "no directory to add"),
        ("../lib.sh", "bad name"),
        ("/lib.sh", "bad name"),
    ],
)
def test_pack_directory_refuses_an_extra_file_that_does_not_fit(
    tmp_path: Path, arcname: str, why: str
) -> None:
    src = _sample_tree(tmp_path / "src")
    lib = tmp_path / "lib.sh"
    lib.write_text("x\n")
    with pytest.raises(ArchiveError, match=why):
        pack_directory(src, tmp_path / "a.tgz", {arcname: lib})
    assert not (tmp_path / "a.tgz").exists()
