"""Extracting template archives: hostile members are refused before anything is written."""

from __future__ import annotations

import os
import stat
import tarfile
import uuid
from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.archive import ArchiveError, extract
from nnfv_agent.drivers.compute.archive import extraction as extraction_module
from support.tarballs import (
    dir_member,
    entry_member,
    file_member,
    hardlink_member,
    make_tar,
    symlink_member,
)


@pytest.fixture(autouse=True, params=["tar-filters", "no-tar-filters"])
def tar_filters(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: with Python's extraction filters (3.11.4 and later) and without
    them, as on Debian 12's python3 3.11.2, where the agent's own member copy does their job."""
    if request.param == "no-tar-filters":
        monkeypatch.setattr(extraction_module, "_HAS_FILTERS", False)
        monkeypatch.setattr(extraction_module, "_FILTER_ERRORS", ())
    return str(request.param)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory whose parent (tmp_path) is 'outside' for every extraction test."""
    path = tmp_path / "work"
    path.mkdir()
    return path


# --------------------------------------------------------------------------------------------
# extract: hostile archives


def _outside(tmp_path: Path) -> Path:
    """A directory next to the extraction area that hostile archives try to reach."""
    path = tmp_path / "outside"
    path.mkdir(exist_ok=True)
    return path


ABSOLUTE_TARGET = f"/tmp/nnfv-evil-{uuid.uuid4().hex}"

HOSTILE = {
    "path_traversal": ([file_member("../evil")], "'..' component"),
    "nested_traversal": ([dir_member("a"), file_member("a/../../evil")], "'..' component"),
    "absolute_path": ([file_member(ABSOLUTE_TARGET)], "absolute path"),
    "symlink_to_etc_then_write_through": (
        [symlink_member("link", "/etc"), file_member("link/passwd", b"pwned")],
        "symlink to absolute path '/etc'",
    ),
    "symlink_dotdot_escape": ([symlink_member("link", "../../x")], "resolves outside"),
    "symlink_in_subdir_escape": (
        [dir_member("sub"), symlink_member("sub/link", "../../outside")],
        "resolves outside",
    ),
    # Lexically "d/s/../x" is "d/x", but s -> .. makes it climb out of the root.
    "symlink_escape_through_other_symlink": (
        [dir_member("d"), symlink_member("d/s", ".."), symlink_member("d/t", "s/../x")],
        "resolves outside",
    ),
    "symlink_loop": ([symlink_member("a", "b"), symlink_member("b", "a")], "symlink loop"),
    "write_through_inner_symlink": (
        [dir_member("sub"), symlink_member("ln", "sub"), file_member("ln/file")],
        "goes through symlink 'ln'",
    ),
    "hardlink_dotdot": ([hardlink_member("hl", "../outside/secret")], "'..' component"),
    "hardlink_absolute": ([hardlink_member("hl", "/etc/passwd")], "absolute hardlink target"),
    "hardlink_to_unknown_member": (
        [hardlink_member("hl", "nowhere")],
        "not an earlier regular file",
    ),
    "character_device": (
        [entry_member("null", tarfile.CHRTYPE, devmajor=1, devminor=3)],
        "character device",
    ),
    "block_device": (
        [entry_member("sda", tarfile.BLKTYPE, devmajor=8, devminor=0)],
        "block device",
    ),
    "fifo": ([entry_member("pipe", tarfile.FIFOTYPE)], "FIFO"),
    "duplicate_file_over_symlink": (
        [file_member("target"), symlink_member("f", "target"), file_member("f", b"overwrite")],
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
    tgz = make_tar(tmp_path / "evil.tgz", entries)
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
    tgz = make_tar(tmp_path / "evil.tgz", [file_member("ok"), file_member("../evil")])
    with pytest.raises(ArchiveError, match=r"evil\.tgz: refusing member '\.\./evil'"):
        extract(tgz, tmp_path / "dest")


def test_extract_refuses_symlink_pointing_outside_via_absolute_tmp_dir(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    tgz = make_tar(
        tmp_path / "evil.tgz",
        [symlink_member("link", str(outside)), file_member("link/planted", b"x")],
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
    good = make_tar(
        tmp_path / "good.tgz", [file_member(f"f{i}", os.urandom(20000)) for i in range(5)]
    )
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
    dir_member("bin"),
    file_member("bin/start.sh", b"#!/bin/sh\necho up\n", mode=0o755),
    symlink_member("bin/run", "start.sh"),
    dir_member("etc"),
    file_member("etc/conf", b"key=value\n", mode=0o644),
    symlink_member("etc/start", "../bin/start.sh"),
    symlink_member("current", "bin"),
    hardlink_member("etc/conf.hard", "etc/conf"),
]


def test_extract_keeps_executable_bits_and_internal_symlinks(work: Path) -> None:
    tgz = make_tar(work / "nnf.tgz", GOOD)
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
    tgz = make_tar(
        work / "nnf.tgz",
        [
            file_member(
                "suid", b"x", mode=0o4777, uid=4242, gid=4242, uname="nobody", gname="nogroup"
            )
        ],
    )
    dest = work / "dest"

    extract(tgz, dest)

    st = (dest / "suid").stat()
    assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
    assert stat.S_IMODE(st.st_mode) == 0o755


def test_extract_accepts_plain_tar(work: Path) -> None:
    tar = make_tar(work / "nnf.tar", [file_member("a", b"plain")], mode="w")
    extract(tar, work / "dest")
    assert (work / "dest" / "a").read_bytes() == b"plain"


def test_extract_accepts_dot_root_entries(work: Path) -> None:
    tgz = make_tar(
        work / "nnf.tgz", [dir_member("."), dir_member("./bin"), file_member("./bin/x", b"1")]
    )
    extract(tgz, work / "dest")
    assert (work / "dest" / "bin" / "x").read_bytes() == b"1"


def test_extract_leaves_existing_dest_untouched(work: Path) -> None:
    dest = work / "dest"
    dest.mkdir()
    (dest / "marker").write_text("earlier extraction")
    tgz = make_tar(work / "nnf.tgz", [file_member("new")])

    extract(tgz, dest)

    assert sorted(p.name for p in dest.iterdir()) == ["marker"]


def test_extract_refuses_dest_that_is_a_file(work: Path) -> None:
    dest = work / "dest"
    dest.write_text("")
    tgz = make_tar(work / "nnf.tgz", [file_member("a")])
    with pytest.raises(ArchiveError, match="exists and is not a directory"):
        extract(tgz, dest)


def test_extracted_root_is_readable_by_other_users(work: Path) -> None:
    tgz = make_tar(work / "nnf.tgz", [file_member("a")])
    extract(tgz, work / "dest")
    assert stat.S_IMODE((work / "dest").stat().st_mode) == 0o755
