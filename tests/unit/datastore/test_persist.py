"""State files: integrity header, last intact generation, damage never read as empty."""

from __future__ import annotations

import os

import pytest

from nnfv_agent.datastore.persist import (
    DamagedStateError,
    decode_state,
    encode_state,
    read_state,
    remove_stale_temporaries,
    write_state,
)
from nnfv_agent.fsutil import previous_path, temp_path

CONFIG = '<graphs xmlns="urn:nnfv:yang:nnfv-service-graph"><graph><name>g</name></graph></graphs>'


def zero_filled(raw: bytes) -> bytes:
    return b"\0" * len(raw)


def nul_prefixed(raw: bytes) -> bytes:
    return b"\0" * 64 + raw[64:]


def empty(raw: bytes) -> bytes:
    return b""


def whitespace_only(raw: bytes) -> bytes:
    return b"\n" * 10


def truncated(raw: bytes) -> bytes:
    return raw[: len(raw) // 2]


def truncated_to_header(raw: bytes) -> bytes:
    return raw[: raw.index(b"\n") + 1]


def flipped_byte(raw: bytes) -> bytes:
    i = len(raw) - 10
    return raw[:i] + bytes([raw[i] ^ 0x20]) + raw[i + 1 :]


DAMAGE = [zero_filled, nul_prefixed, empty, whitespace_only, truncated, truncated_to_header]
DAMAGE += [flipped_byte]


def test_write_state_then_read_state_returns_the_content(tmp_path):
    path = tmp_path / "running.xml"
    write_state(path, CONFIG)
    found = read_state(path)
    assert found is not None
    assert found.text == CONFIG
    assert found.recovered_from is None


def test_empty_configuration_is_written_explicitly_and_read_back_as_empty(tmp_path):
    path = tmp_path / "running.xml"
    write_state(path, "")
    assert path.stat().st_size > 0
    found = read_state(path)
    assert found is not None and found.text == ""


def test_read_state_of_a_missing_file_is_none(tmp_path):
    assert read_state(tmp_path / "running.xml") is None


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_damaged_file_without_previous_generation_is_refused_with_its_cause(tmp_path, damage):
    path = tmp_path / "running.xml"
    write_state(path, CONFIG)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DamagedStateError) as info:
        read_state(path)
    message = str(info.value)
    assert str(path) in message and "damaged" in message
    assert "running.xml.prev" in message


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_damaged_file_falls_back_to_its_last_intact_generation(tmp_path, damage):
    path = tmp_path / "running.xml"
    write_state(path, CONFIG)
    write_state(path, CONFIG.replace(">g<", ">h<"))
    path.write_bytes(damage(path.read_bytes()))
    found = read_state(path)
    assert found is not None
    assert found.text == CONFIG
    assert found.recovered_from == previous_path(path)
    assert found.damage


def test_previous_generation_is_not_used_when_told_not_to(tmp_path):
    path = tmp_path / "confirmed-commit-rollback.xml"
    write_state(path, CONFIG)
    write_state(path, CONFIG)
    path.write_bytes(b"\0" * 100)
    with pytest.raises(DamagedStateError):
        read_state(path, use_previous=False)


def test_damaged_current_file_never_replaces_an_intact_previous_generation(tmp_path):
    path = tmp_path / "running.xml"
    write_state(path, CONFIG)
    write_state(path, "<second/>")
    path.write_bytes(b"\0" * 100)
    write_state(path, "<third/>")
    assert decode_state(previous_path(path).read_bytes()) == (CONFIG, None)
    found = read_state(path)
    assert found is not None and found.text == "<third/>"


def test_write_state_without_keeping_previous_leaves_no_prev_file(tmp_path):
    path = tmp_path / "rollback.xml"
    write_state(path, CONFIG, keep_previous=False)
    write_state(path, CONFIG, keep_previous=False)
    assert not previous_path(path).exists()


def test_file_without_header_from_an_older_agent_is_accepted(tmp_path):
    path = tmp_path / "running.xml"
    path.write_text(CONFIG)
    found = read_state(path)
    assert found is not None and found.text == CONFIG


def test_damaged_header_is_reported_as_damage(tmp_path):
    raw = encode_state(CONFIG)
    assert decode_state(raw.replace(b"sha256=", b"sha255="))[1] == (
        "its integrity header is damaged"
    )


def test_write_state_leaves_no_temporary_file_when_the_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "x.json"

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        write_state(path, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_remove_stale_temporaries_removes_only_temporaries(tmp_path):
    keep = tmp_path / "running.xml"
    write_state(keep, CONFIG)
    (tmp_path / "nf").mkdir()
    stale = [temp_path(keep), temp_path(tmp_path / "nf" / "k.json")]
    for p in stale:
        p.write_text("half")
    (tmp_path / "nf" / ".abc.x1.part").mkdir()
    (tmp_path / "nf" / ".abc.x1.part" / "f").write_text("half")
    stale.append(tmp_path / "nf" / ".abc.x1.part")
    removed = remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted(stale)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["nf", "running.xml"]


def test_a_file_replaced_behind_the_agents_back_is_checked_before_it_becomes_prev(tmp_path):
    path = tmp_path / "running.xml"
    write_state(path, CONFIG)
    torn = path.read_bytes()[:-5]  # same header, shorter content: a torn copy from elsewhere
    path.unlink()
    path.write_bytes(torn)
    write_state(path, "<next/>")
    assert not previous_path(path).exists(), "a damaged file became the previous generation"
