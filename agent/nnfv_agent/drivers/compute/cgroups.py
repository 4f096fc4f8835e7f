"""Control groups for NNF instances: resource limits, freezing, process tracking and teardown.

Each instance gets ``<mount>/<hierarchy>/<root>/<name>`` (cgroup v1: one directory per mounted
hierarchy) or ``<mount>/<root>/<name>`` (cgroup v2). The cgroup, not a pid file, is the record of
which processes belong to an instance: everything a lifecycle script forks lands in it, so the
whole instance can be frozen, counted and killed even if its main process daemonised.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ...errors import AgentError

DEFAULT_MOUNT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "freezer", "pids")
# Tracked like the controllers (so CPU time is accounted) but never configured.
_V1_ACCOUNTING = ("cpuacct",)
_STATE_TIMEOUT = 5.0
# kill_all's only freeze attempt waits this long at most; a freezer that takes longer (a task
# in uninterruptible sleep) is given up on, and the signals are sent without it.
FREEZE_TRY = 0.1
_KILL_TIMEOUT = 5.0
_RMDIR_TIMEOUT = 2.0
_POLL = 0.02


class CgroupError(AgentError):
    """A cgroup operation failed; the message names the cgroup or file and the cause."""

    app_tag = "cgroup-failed"


@dataclass
class Limits:
    memory_limit: int | None = None  # bytes (v1 memory.limit_in_bytes; v2 memory.max)
    cpu_weight: int | None = None  # 1..10000, 100 = normal (v1 cpu.shares; v2 cpu.weight)
    pids_limit: int | None = None  # v1/v2 pids.max

    def validate(self) -> None:
        if self.memory_limit is not None and self.memory_limit <= 0:
            raise CgroupError(
                f"memory_limit must be a positive byte count, not {self.memory_limit}"
            )
        if self.cpu_weight is not None and not 1 <= self.cpu_weight <= 10000:
            raise CgroupError(f"cpu_weight must be within 1..10000, not {self.cpu_weight}")
        if self.pids_limit is not None and self.pids_limit <= 0:
            raise CgroupError(f"pids_limit must be positive, not {self.pids_limit}")


def cpu_shares(weight: int) -> int:
    """v1 cpu.shares for a v2-style weight: 100 maps to the kernel default of 1024."""
    return max(2, weight * 1024 // 100)


class Cgroups:
    """The cgroups of one agent's NNF instances, all below ``root`` in every hierarchy."""

    def __init__(self, root: str = "nnfv", mount: Path = DEFAULT_MOUNT) -> None:
        self.root = _check_root(root)
        self.mount = Path(mount)
        self.controllers: set[str]
        # controller (or accounting hierarchy) -> mount point of its hierarchy
        self._bases: dict[str, Path]
        if (self.mount / "cgroup.controllers").is_file():
            self.version = 2
            self._bases = {"unified": self.mount}
            self.controllers = _v2_controllers(self.mount)
        else:
            self.version = 1
            self._bases = _v1_hierarchies(self.mount)
            self.controllers = {c for c in CONTROLLERS if c in self._bases}
        if not self._bases:
            raise CgroupError(f"no cgroup hierarchy found under {self.mount}")

    # ----------------------------------------------------------------------------------------
    # lifecycle

    def create(self, name: str, limits: Limits) -> None:
        """Create (or update) cgroup ``name`` with ``limits``; unset limits are reset to none."""
        _check_name(name)
        limits.validate()
        self._require_controllers(name, limits)
        if self.version == 2:
            self._enable_v2_controllers()
        for directory in self._dirs(name):
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CgroupError(f"cannot create cgroup {directory}: {_cause(exc)}") from exc
        for path, value in self._limit_files(name, limits):
            _write(path, value)

    def exists(self, name: str) -> bool:
        _check_name(name)
        return any(d.is_dir() for d in self._dirs(name))

    def delete(self, name: str) -> None:
        """Kill every process of ``name`` and remove its directories; a no-op if already gone."""
        _check_name(name)
        self.kill_all(name)
        for directory in self._dirs(name):
            _rmdir(directory)

    def remove_empty_root(self) -> list[Path]:
        """Remove this root's own directory (``<hierarchy>/<root>``) where it is empty.

        For the agent's stop: instances still running keep theirs (rmdir of a cgroup with
        children or tasks fails, and is skipped). Parents shared with other agents stay.
        """
        removed = []
        for base in self._unique_bases():
            directory = base / self.root
            try:
                directory.rmdir()
            except FileNotFoundError:
                continue
            except OSError as exc:
                if exc.errno in (errno.EBUSY, errno.ENOTEMPTY):
                    continue
                raise CgroupError(f"cannot remove cgroup {directory}: {_cause(exc)}") from exc
            removed.append(directory)
        return removed

    def list(self) -> list[str]:
        """Instance names under root in any hierarchy, including half-removed leftovers."""
        names: set[str] = set()
        for base in self._unique_bases():
            parent = base / self.root
            try:
                names.update(p.name for p in parent.iterdir() if p.is_dir())
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CgroupError(f"cannot list cgroups in {parent}: {_cause(exc)}") from exc
        return sorted(names)

    # ----------------------------------------------------------------------------------------
    # processes

    def add_process(self, name: str, pid: int) -> None:
        """Move ``pid`` into cgroup ``name`` in every hierarchy."""
        for path in self._procs_files(name):
            _write(path, str(pid))

    def preexec(self, name: str) -> Callable[[], None]:
        """A ``preexec_fn`` that moves the new child into cgroup ``name`` before it execs.

        The child joins before its first instruction, so nothing it forks escapes accounting.
        Paths are resolved here, in the parent, to keep the forked child's work minimal.
        """
        paths = [os.fsencode(p) for p in self._procs_files(name)]

        def join_cgroup() -> None:
            pid = str(os.getpid()).encode()
            for path in paths:
                try:
                    fd = os.open(path, os.O_WRONLY)
                    try:
                        os.write(fd, pid)
                    finally:
                        os.close(fd)
                except OSError as exc:
                    # Popen only reports "Exception occurred in preexec_fn"; leave the cause on
                    # the child's stderr, which the caller logs.
                    _try_stderr(f"cannot join cgroup {os.fsdecode(path)}: {_cause(exc)}\n")
                    raise

        return join_cgroup

    def pids(self, name: str) -> list[int]:
        """Sorted pids in cgroup ``name``; [] if it does not exist."""
        _check_name(name)
        path = self._dir(self._tracking_base(), name) / "cgroup.procs"
        try:
            text = path.read_text()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CgroupError(f"cannot read {path}: {_cause(exc)}") from exc
        return sorted(int(line) for line in text.split())

    def memory_usage(self, name: str) -> int | None:
        """Bytes charged to cgroup ``name``, or None without a memory controller or cgroup."""
        _check_name(name)
        if "memory" not in self.controllers:
            return None
        filename = "memory.usage_in_bytes" if self.version == 1 else "memory.current"
        path = self._dir(self._base("memory"), name) / filename
        try:
            return int(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise CgroupError(f"cannot read {path}: {_cause(exc)}") from exc

    # ----------------------------------------------------------------------------------------
    # freezer

    def freeze(self, name: str) -> None:
        """Stop every process of ``name``; returns once the kernel reports them frozen."""
        self._set_frozen(name, True)

    def thaw(self, name: str) -> None:
        self._set_frozen(name, False)

    def is_frozen(self, name: str) -> bool:
        _check_name(name)
        if "freezer" not in self.controllers:
            return False
        try:
            return self._frozen_state(name)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise CgroupError(f"cannot read freezer state of cgroup {name}: {_cause(exc)}") from exc

    def _set_frozen(self, name: str, frozen: bool, timeout: float = _STATE_TIMEOUT) -> None:
        _check_name(name)
        if "freezer" not in self.controllers:
            raise CgroupError(f"cannot freeze or thaw cgroup {name}: no freezer controller")
        if self.version == 1:
            _write(self._freezer_file(name), "FROZEN" if frozen else "THAWED")
        else:
            _write(self._freezer_file(name), "1" if frozen else "0")
        deadline = time.monotonic() + timeout
        # v1 passes through FREEZING and v2 sets "frozen" in cgroup.events asynchronously; a task
        # stuck in uninterruptible sleep can hold that up, hence the bound.
        while not self._reached(name, frozen):
            if time.monotonic() > deadline:
                word = "frozen" if frozen else "thawed"
                raise CgroupError(f"cgroup {name} was not {word} within {timeout:g}s")
            time.sleep(_POLL)

    def _reached(self, name: str, frozen: bool) -> bool:
        try:
            return self._frozen_state(name) == frozen
        except OSError as exc:
            raise CgroupError(f"cannot read freezer state of cgroup {name}: {_cause(exc)}") from exc

    def _frozen_state(self, name: str) -> bool:
        if self.version == 1:
            state = self._freezer_file(name).read_text().strip()
            # FREEZING counts as not frozen: some tasks may still be running.
            return state == "FROZEN"
        events = (self._dir(self.mount, name) / "cgroup.events").read_text()
        return "frozen 1" in events.splitlines()

    def _freezer_file(self, name: str) -> Path:
        if self.version == 1:
            return self._dir(self._base("freezer"), name) / "freezer.state"
        return self._dir(self.mount, name) / "cgroup.freeze"

    # ----------------------------------------------------------------------------------------
    # killing

    def kill_all(self, name: str, *, grace: float = 2.0) -> None:
        """SIGTERM every process of ``name``, SIGKILL what is left after ``grace`` seconds.

        Takes at most ``grace`` plus a small margin whatever the freezer does: the freezer is
        tried once, for at most FREEZE_TRY seconds, and not again if it does not freeze in time.
        Leaves the cgroup thawed. Raises CgroupError if processes survive SIGKILL.
        """
        _check_name(name)
        if not self.exists(name):
            return
        use_freezer = "freezer" in self.controllers
        if self._members(name):
            use_freezer = self._signal_all(name, signal.SIGTERM, use_freezer)
            if not self._wait_empty(name, grace):
                self._kill_hard(name, use_freezer)
        if self.is_frozen(name):
            self._set_frozen(name, False, FREEZE_TRY)

    def _kill_hard(self, name: str, use_freezer: bool) -> None:
        deadline = time.monotonic() + _KILL_TIMEOUT
        while True:
            # Repeated, because without a freezer a forking process can add members between
            # reading cgroup.procs and signalling.
            use_freezer = self._signal_all(name, signal.SIGKILL, use_freezer)
            if self._wait_empty(name, 0.2):
                return
            if time.monotonic() > deadline:
                left = self._members(name)
                raise CgroupError(
                    f"processes {left} of cgroup {name} survived SIGKILL for {_KILL_TIMEOUT:g}s"
                )

    def _signal_all(self, name: str, sig: signal.Signals, use_freezer: bool) -> bool:
        """Signal every member; returns whether the freezer may still be used."""
        # Freezing first means nothing can fork between listing the members and signalling
        # them; on thaw every member sees the signal.
        frozen = use_freezer and self._try_freeze(name)
        try:
            v2_kill = self._dir(self.mount, name) / "cgroup.kill"
            if sig == signal.SIGKILL and self.version == 2 and v2_kill.exists():
                _write(v2_kill, "1")
            pids = self._members(name)
            if os.getpid() in pids:
                raise CgroupError(f"refusing to signal cgroup {name}: it contains the agent itself")
            _send(pids, sig)
        finally:
            if frozen:
                with contextlib.suppress(CgroupError):
                    self._set_frozen(name, False, FREEZE_TRY)
        return frozen

    def _try_freeze(self, name: str) -> bool:
        try:
            self._set_frozen(name, True, FREEZE_TRY)
        except CgroupError:
            # A task in uninterruptible sleep can block freezing; signal without it.
            with contextlib.suppress(CgroupError):
                self._set_frozen(name, False, FREEZE_TRY)
            return False
        return True

    def _wait_empty(self, name: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._members(name):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
        return True

    # ----------------------------------------------------------------------------------------
    # paths

    def _dir(self, base: Path, name: str) -> Path:
        return base / self.root / name

    def _dirs(self, name: str) -> list[Path]:
        return [self._dir(base, name) for base in self._unique_bases()]

    def _unique_bases(self) -> list[Path]:
        # Co-mounted controllers (e.g. "cpu,cpuacct" with two symlinks) share one directory.
        unique: dict[Path, Path] = {}
        for base in self._bases.values():
            unique.setdefault(base.resolve(), base)
        return list(unique.values())

    def _base(self, controller: str) -> Path:
        return self.mount if self.version == 2 else self._bases[controller]

    def _tracking_base(self) -> Path:
        # Freezer first: it is the hierarchy freeze/kill act on, so it is authoritative.
        for controller in ("freezer", "memory"):
            if controller in self._bases:
                return self._bases[controller]
        return self._unique_bases()[0]

    def _members(self, name: str) -> list[int]:
        """Pids in any hierarchy: a half-created cgroup must still be emptied before rmdir."""
        found: set[int] = set()
        for directory in self._dirs(name):
            path = directory / "cgroup.procs"
            try:
                found.update(int(line) for line in path.read_text().split())
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CgroupError(f"cannot read {path}: {_cause(exc)}") from exc
        return sorted(found)

    def procs_files(self, name: str) -> list[Path]:
        """The cgroup.procs files a process writes its pid to, to join the cgroup everywhere."""
        return self._procs_files(name)

    def _procs_files(self, name: str) -> list[Path]:
        _check_name(name)
        paths = [d / "cgroup.procs" for d in self._dirs(name)]
        missing = [str(p.parent) for p in paths if not p.parent.is_dir()]
        if missing:
            raise CgroupError(f"cgroup {name} does not exist: missing {', '.join(missing)}")
        return paths

    def _require_controllers(self, name: str, limits: Limits) -> None:
        wanted = {
            "memory": limits.memory_limit,
            "cpu": limits.cpu_weight,
            "pids": limits.pids_limit,
        }
        for controller, value in wanted.items():
            if value is not None and controller not in self.controllers:
                raise CgroupError(
                    f"cannot limit cgroup {name}: {controller} limit requested but the "
                    f"{controller} controller is not available (cgroup v{self.version})"
                )

    def _limit_files(self, name: str, limits: Limits) -> Iterable[tuple[Path, str]]:
        """(file, value) pairs; a limit left unset is written as 'no limit' so updates stick."""
        v1 = self.version == 1
        if "memory" in self.controllers:
            path = self._dir(self._base("memory"), name)
            value = limits.memory_limit
            if v1:
                yield path / "memory.limit_in_bytes", "-1" if value is None else str(value)
            else:
                yield path / "memory.max", "max" if value is None else str(value)
        if "cpu" in self.controllers:
            path = self._dir(self._base("cpu"), name)
            weight = 100 if limits.cpu_weight is None else limits.cpu_weight
            if v1:
                yield path / "cpu.shares", str(cpu_shares(weight))
            else:
                yield path / "cpu.weight", str(weight)
        if "pids" in self.controllers:
            path = self._dir(self._base("pids"), name)
            pids_max = limits.pids_limit
            yield path / "pids.max", "max" if pids_max is None else str(pids_max)

    def _enable_v2_controllers(self) -> None:
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
                raise CgroupError(f"cannot create cgroup {directory}: {_cause(exc)}") from exc
            _write(directory / "cgroup.subtree_control", value)


# --------------------------------------------------------------------------------------------
# helpers


def _v1_hierarchies(mount: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for controller in (*CONTROLLERS, *_V1_ACCOUNTING):
        base = mount / controller
        if (base / "cgroup.procs").is_file():
            found[controller] = base
    return found


def _v2_controllers(mount: Path) -> set[str]:
    try:
        available = set((mount / "cgroup.controllers").read_text().split())
    except OSError as exc:
        raise CgroupError(f"cannot read {mount / 'cgroup.controllers'}: {_cause(exc)}") from exc
    controllers = available & set(CONTROLLERS)
    # The v2 freezer is a core file (cgroup.freeze, Linux 5.2+), not a listed controller.
    if _kernel_at_least(5, 2):
        controllers.add("freezer")
    return controllers


def _kernel_at_least(major: int, minor: int) -> bool:
    release = os.uname().release
    try:
        numbers = tuple(int(x) for x in release.split("-")[0].split(".")[:2])
    except ValueError:
        return False
    return numbers >= (major, minor)


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or any(c in name for c in "/\0\n"):
        raise CgroupError(f"invalid cgroup name {name!r}: must be a single path component")


def _check_root(root: str) -> str:
    parts = [p for p in root.strip("/").split("/") if p]
    if not parts:
        raise CgroupError(f"invalid cgroup root {root!r}: must name a directory below the mount")
    for part in parts:
        try:
            _check_name(part)
        except CgroupError:
            raise CgroupError(f"invalid cgroup root {root!r}: bad component {part!r}") from None
    return "/".join(parts)


def _write(path: Path, value: str) -> None:
    # One write(2) per value: cgroup files parse each write as a whole.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise CgroupError(f"cannot write '{value}' to {path}: {_cause(exc)}") from exc


def _rmdir(directory: Path) -> None:
    deadline = time.monotonic() + _RMDIR_TIMEOUT
    while True:
        try:
            directory.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            # Just-killed tasks can keep the cgroup busy for a moment after leaving cgroup.procs.
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise CgroupError(f"cannot remove cgroup {directory}: {_cause(exc)}") from exc
            time.sleep(_POLL)


def _send(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _cause(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _try_stderr(message: str) -> None:
    try:
        os.write(2, message.encode())
    except OSError:
        pass
