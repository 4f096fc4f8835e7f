"""Fixtures of the compute kernel tests: a cgroup root of their own, removed afterwards."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from nnfv_agent.drivers.compute.cgroups import Cgroups

MOUNT = Path("/sys/fs/cgroup")
UNIFIED = MOUNT / "unified"


def _purge(top: str) -> None:
    """Thaw, kill and remove ``top`` and everything below it in every hierarchy."""
    dirs: list[Path] = []
    for base in [MOUNT, *(p for p in MOUNT.iterdir() if p.is_dir())]:
        root = base / top
        if root.is_dir():
            below = [d for d in root.rglob("*") if d.is_dir()]
            dirs += [*sorted(below, key=lambda d: len(d.parts), reverse=True), root]
    for d in dirs:
        for control, value in (("freezer.state", "THAWED"), ("cgroup.freeze", "0")):
            if (d / control).exists():
                (d / control).write_text(value)
    deadline = time.monotonic() + 5
    while any(_procs(d) for d in dirs) and time.monotonic() < deadline:
        for d in dirs:
            for pid in _procs(d):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(0.05)
    for d in dirs:
        d.rmdir()


def _procs(directory: Path) -> list[int]:
    try:
        return [int(x) for x in (directory / "cgroup.procs").read_text().split()]
    except FileNotFoundError:
        return []


@pytest.fixture
def root() -> Iterator[str]:
    top = f"nnfv-test-{uuid4().hex[:8]}"
    try:
        yield top
    finally:
        _purge(top)
        leftovers = [p for p in MOUNT.glob(f"*/{top}")] + [p for p in MOUNT.glob(top)]
        assert leftovers == [], f"cgroup directories left behind: {leftovers}"


@pytest.fixture
def cg(root: str) -> Cgroups:
    return Cgroups(root=root)


@pytest.fixture
def cg2(root: str) -> Cgroups:
    if not (UNIFIED / "cgroup.controllers").exists():
        pytest.skip("no cgroup v2 hierarchy at /sys/fs/cgroup/unified")
    return Cgroups(root=root, mount=UNIFIED)
