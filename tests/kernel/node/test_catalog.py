"""The shipped-template catalog survives a failed packing (a full disk at first use)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from nnfv_agent.node.catalog import SHIPPED_DIR, Catalog

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 64 KiB file system of its own, so that filling it harms nothing else."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def fill(directory: Path) -> Path:
    ballast = directory / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while os.write(fd, b"\0" * 512):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    return ballast


def test_shipped_templates_come_back_once_the_disk_has_room_again(small_disk):
    shipped = {p.parent.name for p in SHIPPED_DIR.glob("*/template.xml")}
    catalog = Catalog(small_disk / "cache")
    ballast = fill(small_disk)

    partial = catalog.shipped()
    assert set(partial) < shipped
    assert catalog.problems
    assert all("No space left on device" in why for why in catalog.problems.values())
    assert not list(small_disk.rglob("*.part")), "a failed packing left a temporary behind"

    ballast.unlink()
    assert set(catalog.shipped()) == shipped
    assert catalog.problems == {}
