"""cgroup v1: one hierarchy per controller, each mounted at ``<mount>/<controller>``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .backend import Backend
from .common import CONTROLLERS, Limits, cpu_shares

# Tracked like the controllers (so CPU time is accounted) but never configured.
ACCOUNTING = ("cpuacct",)
_CPU_HIERARCHIES = ("cpu", "cpuacct", "cpu,cpuacct")


def hierarchies(mount: Path) -> dict[str, Path]:
    """controller (or accounting hierarchy) -> the mount point of its hierarchy."""
    found: dict[str, Path] = {}
    for controller in (*CONTROLLERS, *ACCOUNTING):
        base = mount / controller
        if (base / "cgroup.procs").is_file():
            found[controller] = base
    return found


class V1(Backend):
    version = 1
    # A write to cgroup.procs takes the kernel's global cgroup_threadgroup_rwsem for writing,
    # which waits for an RCU grace period unless the hierarchy is mounted with favordynmods:
    # measured 4.5-20 ms per write, 11-12 ms of every NF start. "0" written to `tasks` moves
    # only the writing thread, and for that the kernel takes no global lock (see
    # cgroup_procs_write_start). The joiner is a single-threaded shell: its one thread is the
    # whole process. v2 has no such path (cgroup.threads stays within one domain cgroup).
    join_file = "tasks"

    def __init__(self, mount: Path, root: str) -> None:
        super().__init__(mount, root)
        self._bases = hierarchies(mount)
        self.controllers = {c for c in CONTROLLERS if c in self._bases}

    def bases(self) -> list[Path]:
        # Co-mounted controllers (e.g. "cpu,cpuacct" with two symlinks) share one directory.
        unique: dict[Path, Path] = {}
        for base in self._bases.values():
            unique.setdefault(base.resolve(), base)
        return list(unique.values())

    def tracking_dir(self, name: str) -> Path:
        # Freezer first: it is the hierarchy freeze/kill act on, so it is authoritative.
        for controller in ("freezer", "memory"):
            if controller in self._bases:
                return self.dir(self._bases[controller], name)
        return self.dir(self.bases()[0], name)

    def prepare(self) -> None:
        """Nothing to do: every v1 hierarchy offers its controller's files in every cgroup."""

    def limit_files(self, name: str, limits: Limits) -> Iterable[tuple[Path, str]]:
        if "memory" in self.controllers:
            value = limits.memory_limit
            path = self.dir(self._bases["memory"], name) / "memory.limit_in_bytes"
            yield path, "-1" if value is None else str(value)
        if "cpu" in self.controllers:
            weight = 100 if limits.cpu_weight is None else limits.cpu_weight
            yield self.dir(self._bases["cpu"], name) / "cpu.shares", str(cpu_shares(weight))
        if "pids" in self.controllers:
            pids_max = limits.pids_limit
            path = self.dir(self._bases["pids"], name) / "pids.max"
            yield path, "max" if pids_max is None else str(pids_max)

    def memory_file(self, name: str) -> Path:
        return self.dir(self._bases["memory"], name) / "memory.usage_in_bytes"

    def _freezer_state(self, name: str) -> Path:
        return self.dir(self._bases["freezer"], name) / "freezer.state"

    def freeze_request(self, name: str, frozen: bool) -> tuple[Path, str]:
        return self._freezer_state(name), "FROZEN" if frozen else "THAWED"

    def read_frozen(self, name: str) -> bool:
        # FREEZING counts as not frozen: some tasks may still be running.
        return self._freezer_state(name).read_text().strip() == "FROZEN"

    def join_files(self, files: list[Path], cpu_weight: int | None) -> list[Path]:
        if cpu_weight not in (None, 100):
            return files
        # A v1 cpu group competes as one task against every task of the root group, which
        # slows an NF down on a busy CPE; at the default weight it is better off without.
        return [f for f in files if f.relative_to(self.mount).parts[0] not in _CPU_HIERARCHIES]
