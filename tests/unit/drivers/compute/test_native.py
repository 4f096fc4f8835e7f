"""NativeCompute's state records: the part of the compute driver that is pure file work."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnfv_agent.drivers.compute.native import NativeCompute, NFState


@pytest.fixture
def compute(tmp_path: Path) -> NativeCompute:
    return NativeCompute(tmp_path, cgroups=None)  # type: ignore[arg-type]  # not used here


def state(key: str = "k1", **kw: object) -> NFState:
    return NFState(key, "g", "fw", "firewall", "0" * 64, key, key, "/tmp/w", **kw)  # type: ignore[arg-type]


def test_saved_state_loads_back_equal(compute: NativeCompute) -> None:
    s = state(state="running", start_time="2026-12-04T10:00:00.000000Z", graphs=["g"])
    compute.save_state(s)
    assert compute.load_state("k1") == s


def test_state_version_is_none_without_a_record_and_changes_with_every_write(
    compute: NativeCompute,
) -> None:
    assert compute.state_version("k1") is None
    compute.save_state(state())
    first = compute.state_version("k1")
    assert first is not None and compute.state_version("k1") == first
    compute.save_state(state(state="running"), durable=False)
    assert compute.state_version("k1") != first


def test_damaged_state_is_moved_aside_and_reads_as_none(compute: NativeCompute) -> None:
    compute.save_state(state())
    path = compute.instances / "k1.json"
    path.write_text("{not json")
    assert compute.load_state("k1") is None
    assert not path.exists() and (compute.instances / "k1.json.damaged").exists()
    assert compute.state_version("k1") is None
