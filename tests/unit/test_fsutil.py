"""Crash-safe writes, in tmp_path: old or new content and never a torn file, 0600 files and
0700 directories whatever the umask, and a full disk reported with the file's name.

The faults (a full disk) are injected by replacing `os.fsync`, the one OS call where they show
up; fsync calls are recorded through a wrapper that still makes the real call.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nnfv_agent import fsutil
from nnfv_agent.fsutil import (
    DIR_MODE,
    FILE_MODE,
    atomic_write,
    file_version,
    previous_path,
    read_or_empty,
    remove,
    replace_durably,
    temp_path,
    text_digest,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask() -> Iterator[Callable[[int], None]]:
    """Set the process umask for one test; the old one is restored after it."""
    old = os.umask(0o022)
    os.umask(old)

    def set_umask(value: int) -> None:
        os.umask(value)

    try:
        yield set_umask
    finally:
        os.umask(old)


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The file descriptors fsync'ed during the test (the real fsync still runs)."""
    calls: list[int] = []
    real = os.fsync

    def recording(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return calls


def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)


def test_atomic_write_creates_the_file_with_the_text_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "running.xml"
    atomic_write(path, "<a>é</a>")
    assert path.read_bytes() == "<a>é</a>".encode()


def test_atomic_write_replaces_the_whole_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "running.xml"
    atomic_write(path, "a much longer first version")
    atomic_write(path, "short")
    assert path.read_text() == "short"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["running.xml"]


def test_temp_path_is_a_hidden_sibling_and_previous_path_a_suffixed_one(tmp_path: Path) -> None:
    path = tmp_path / "state" / "running.xml"
    assert temp_path(path) == tmp_path / "state" / ".running.xml.tmp"
    assert previous_path(path) == tmp_path / "state" / "running.xml.prev"


def test_durable_write_syncs_the_file_and_its_directory(tmp_path: Path, fsyncs: list[int]) -> None:
    atomic_write(tmp_path / "f", "x")
    assert len(fsyncs) == 2


def test_write_that_need_not_be_durable_syncs_nothing(tmp_path: Path, fsyncs: list[int]) -> None:
    atomic_write(tmp_path / "f", "x", durable=False)
    assert fsyncs == []
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize("value", [0o000, 0o022, 0o077])
def test_written_file_is_0600_whatever_the_umask(
    tmp_path: Path, umask: Callable[[int], None], value: int
) -> None:
    umask(value)
    atomic_write(tmp_path / "f", "secret")
    assert mode(tmp_path / "f") == FILE_MODE == 0o600


def test_leftover_temporary_of_a_crashed_write_is_overwritten_and_made_0600(
    tmp_path: Path,
) -> None:
    path = tmp_path / "f"
    leftover = temp_path(path)
    leftover.write_text("half of an earlier, much longer write")
    leftover.chmod(0o644)
    atomic_write(path, "new")
    assert path.read_text() == "new"
    assert mode(path) == 0o600
    assert not leftover.exists()


def test_missing_directory_is_created_0700_whatever_the_umask(
    tmp_path: Path, umask: Callable[[int], None]
) -> None:
    umask(0)
    atomic_write(tmp_path / "nf" / "k.json", "{}")
    assert mode(tmp_path / "nf") == DIR_MODE == 0o700


def test_every_missing_directory_of_a_nested_path_is_created_0700(
    tmp_path: Path, umask: Callable[[int], None]
) -> None:
    umask(0)
    atomic_write(tmp_path / "a" / "b" / "f", "{}")
    assert (mode(tmp_path / "a"), mode(tmp_path / "a" / "b")) == (0o700, 0o700)


def test_failed_write_keeps_the_old_content_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.json"
    atomic_write(path, "old")
    disk_full(monkeypatch)
    with pytest.raises(OSError):
        atomic_write(path, "new")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_failed_first_write_leaves_no_file_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full(monkeypatch)
    with pytest.raises(OSError):
        atomic_write(tmp_path / "x.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_full_disk_error_names_the_file_that_was_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "running.xml"
    disk_full(monkeypatch)
    with pytest.raises(OSError) as err:
        replace_durably(path, b"<x/>")
    assert (err.value.errno, err.value.filename) == (errno.ENOSPC, str(path))


def test_error_that_already_names_its_files_is_raised_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "taken"
    path.mkdir()
    (path / "inside").write_text("")  # a non-empty directory cannot be renamed over
    with pytest.raises(OSError) as err:
        atomic_write(path, "x")
    assert (err.value.filename, err.value.filename2) == (str(temp_path(path)), str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_read_or_empty_reads_the_file_or_gives_empty_when_it_is_missing(tmp_path: Path) -> None:
    assert read_or_empty(tmp_path / "missing") == ""
    atomic_write(tmp_path / "f", "content")
    assert read_or_empty(tmp_path / "f") == "content"


def test_remove_deletes_the_file_and_syncs_its_directory(tmp_path: Path, fsyncs: list[int]) -> None:
    path = tmp_path / "f"
    atomic_write(path, "x", durable=False)
    remove(path)
    assert not path.exists()
    assert len(fsyncs) == 1


def test_remove_of_a_missing_file_does_nothing(tmp_path: Path, fsyncs: list[int]) -> None:
    remove(tmp_path / "missing")
    assert fsyncs == []
    assert list(tmp_path.iterdir()) == []


def test_file_version_is_none_for_a_missing_file_and_changes_with_every_atomic_write(tmp_path):
    path = tmp_path / "state.json"
    assert file_version(path) is None
    atomic_write(path, "one")
    first = file_version(path)
    assert first is not None and file_version(path) == first
    atomic_write(path, "one")  # the same content, written again: a new file all the same
    assert file_version(path) != first


def test_text_digest_is_the_sha256_of_the_utf8_text() -> None:
    text = "<graphs>é</graphs>"
    assert text_digest(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_text_digest_keeps_the_running_while_the_next_commit_digests_its_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commit digests its target, then the running it replaces (the target of the commit
    before): that one must still be remembered, whatever was digested in between."""
    hashed: list[str] = []
    real = hashlib.sha256

    def sha256(data: bytes) -> hashlib._Hash:
        hashed.append(data.decode())
        return real(data)

    monkeypatch.setattr(fsutil.hashlib, "sha256", sha256)
    running = "<r>0</r>"  # not digested before the first commit
    for k in range(1, 4):
        target = f"<r>{k}</r>"
        text_digest(target)  # the journal: target first,
        text_digest(running)  # then the running it replaces,
        text_digest(target)  # and the running file's header
        running = target
    assert hashed == ["<r>1</r>", "<r>0</r>", "<r>2</r>", "<r>3</r>"]
