"""The one interface both cgroup versions implement, and the detection that picks one.

Everything that differs between v1 (one hierarchy per controller) and v2 (one unified tree)
lives behind `Backend`: where an instance's directories are, which files hold its limits,
its memory use and its freezer state. `Cgroups` (manager.py) is written once against it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

from .common import Limits


class Backend(ABC):
    """One cgroup version, mounted at ``mount``, for the instances below ``root``."""

    version: int
    # The file in each of an instance's directories that a process writes "0" to, to move
    # itself into the instance.
    join_file = "cgroup.procs"

    def __init__(self, mount: Path, root: str) -> None:
        self.mount = mount
        self.root = root
        # Controllers this node can use for limits (and "freezer" when freezing works).
        self.controllers: set[str] = set()

    # ---- paths (version independent, given the hierarchies) -------------------------------

    @abstractmethod
    def bases(self) -> list[Path]:
        """The hierarchy mount points an instance has a directory in, each once."""

    def dir(self, base: Path, name: str) -> Path:
        return base / self.root / name

    def dirs(self, name: str) -> list[Path]:
        return [self.dir(base, name) for base in self.bases()]

    @abstractmethod
    def tracking_dir(self, name: str) -> Path:
        """The directory whose cgroup.procs is authoritative for the instance's pids."""

    # ---- what differs by version -----------------------------------------------------------

    @abstractmethod
    def prepare(self) -> None:
        """Make limits settable below the root before an instance is created (v2 delegation)."""

    @abstractmethod
    def limit_files(self, name: str, limits: Limits) -> Iterable[tuple[Path, str]]:
        """(file, value) pairs; a limit left unset is written as 'no limit' so updates stick."""

    @abstractmethod
    def memory_file(self, name: str) -> Path:
        """The file holding the bytes charged to the instance (needs the memory controller)."""

    @abstractmethod
    def freeze_request(self, name: str, frozen: bool) -> tuple[Path, str]:
        """The (file, value) that asks the kernel to freeze or thaw the instance."""

    @abstractmethod
    def read_frozen(self, name: str) -> bool:
        """Whether the kernel reports the instance frozen; OSError if it cannot be read."""

    def kill_file(self, name: str) -> Path | None:
        """A file that SIGKILLs every member at once, where the kernel has one."""
        return None

    def join_files(self, files: list[Path], cpu_weight: int | None) -> list[Path]:
        """Of an instance's join files (one per hierarchy), those its processes should join."""
        return files
