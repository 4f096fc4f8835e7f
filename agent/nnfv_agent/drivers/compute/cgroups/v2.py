"""cgroup v2: one unified tree at ``<mount>``; controllers must be delegated down to a leaf."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .backend import Backend
from .common import CONTROLLERS, CgroupError, Limits, cause, kernel_at_least, write


def is_unified(mount: Path) -> bool:
    return (mount / "cgroup.controllers").is_file()


def controllers(mount: Path, release: str | None = None) -> set[str]:
    """The controllers of CONTROLLERS this tree offers; the freezer where the kernel has one."""
    try:
        available = set((mount / "cgroup.controllers").read_text().split())
    except OSError as exc:
        raise CgroupError(f"cannot read {mount / 'cgroup.controllers'}: {cause(exc)}") from exc
    found = available & set(CONTROLLERS)
    # The v2 freezer is a core file (cgroup.freeze, Linux 5.2+), not a listed controller.
    if kernel_at_least(5, 2, release):
        found.add("freezer")
    return found


class V2(Backend):
    version = 2

    def __init__(self, mount: Path, root: str) -> None:
        super().__init__(mount, root)
        self.controllers = controllers(mount)

    def bases(self) -> list[Path]:
        return [self.mount]

    def tracking_dir(self, name: str) -> Path:
        return self.dir(self.mount, name)

    def prepare(self) -> None:
        # A v2 cgroup only gets memory.max etc. if every ancestor delegates the controller.
        wanted = sorted(self.controllers - {"freezer"})
        if not wanted:
            return
        value = " ".join(f"+{c}" for c in wanted)
        parts = self.root.split("/")
        for depth in range(len(parts) + 1):
            directory = self.mount.joinpath(*parts[:depth])
            try:
                directory.mkdir(exist_ok=True)
            except OSError as exc:
                raise CgroupError(f"cannot create cgroup {directory}: {cause(exc)}") from exc
            write(directory / "cgroup.subtree_control", value)

    def limit_files(self, name: str, limits: Limits) -> Iterable[tuple[Path, str]]:
        path = self.dir(self.mount, name)
        if "memory" in self.controllers:
            value = limits.memory_limit
            yield path / "memory.max", "max" if value is None else str(value)
        if "cpu" in self.controllers:
            weight = 100 if limits.cpu_weight is None else limits.cpu_weight
            yield path / "cpu.weight", str(weight)
        if "pids" in self.controllers:
            pids_max = limits.pids_limit
            yield path / "pids.max", "max" if pids_max is None else str(pids_max)

    def memory_file(self, name: str) -> Path:
        return self.dir(self.mount, name) / "memory.current"

    def freeze_request(self, name: str, frozen: bool) -> tuple[Path, str]:
        return self.dir(self.mount, name) / "cgroup.freeze", "1" if frozen else "0"

    def read_frozen(self, name: str) -> bool:
        # The kernel sets "frozen 1" asynchronously, once every task has stopped.
        events = (self.dir(self.mount, name) / "cgroup.events").read_text()
        return "frozen 1" in events.splitlines()

    def kill_file(self, name: str) -> Path | None:
        path = self.dir(self.mount, name) / "cgroup.kill"  # Linux 5.14+
        return path if path.exists() else None
