"""`Cgroups`: the lifecycle, processes, freezer and killing of instance cgroups, for either version.

Written once against `Backend`; which backend is decided once, by `detect`, when the agent
starts. The cgroup, not a pid file, is the record of which processes belong to an instance.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from . import v1, v2
from .backend import Backend
from .common import (
    DEFAULT_MOUNT,
    POLL,
    CgroupError,
    Limits,
    cause,
    check_name,
    check_root,
    rmdir,
    send,
    try_stderr,
    write,
)

_STATE_TIMEOUT = 5.0
# kill_all's only freeze attempt waits this long at most; a freezer that takes longer (a task
# in uninterruptible sleep) is given up on, and the signals are sent without it.
FREEZE_TRY = 0.1
_KILL_TIMEOUT = 5.0


def detect(mount: Path, root: str) -> Backend:
    """The backend for the cgroup file system at ``mount``: v2 if it is a unified tree."""
    backend: Backend = v2.V2(mount, root) if v2.is_unified(mount) else v1.V1(mount, root)
    if not backend.bases():
        raise CgroupError(f"no cgroup hierarchy found under {mount}")
    return backend


class Cgroups:
    """The cgroups of one agent's NNF instances, all below ``root`` in every hierarchy."""

    def __init__(self, root: str = "nnfv", mount: Path = DEFAULT_MOUNT) -> None:
        self.root = check_root(root)
        self.mount = Path(mount)
        self.backend = detect(self.mount, self.root)

    @property
    def version(self) -> int:
        return self.backend.version

    @property
    def controllers(self) -> set[str]:
        return self.backend.controllers

    # ----------------------------------------------------------------------------------------
    # lifecycle

    def create(self, name: str, limits: Limits) -> None:
        """Create (or update) cgroup ``name`` with ``limits``; unset limits are reset to none."""
        check_name(name)
        limits.validate()
        self._require_controllers(name, limits)
        self.backend.prepare()
        for directory in self.backend.dirs(name):
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise CgroupError(f"cannot create cgroup {directory}: {cause(exc)}") from exc
        for path, value in self.backend.limit_files(name, limits):
            write(path, value)

    def exists(self, name: str) -> bool:
        check_name(name)
        return any(d.is_dir() for d in self.backend.dirs(name))

    def delete(self, name: str) -> None:
        """Kill every process of ``name`` and remove its directories; a no-op if already gone."""
        check_name(name)
        self.kill_all(name)
        for directory in self.backend.dirs(name):
            rmdir(directory)

    def remove_empty_root(self) -> builtins.list[Path]:
        """Remove this root's own directory (``<hierarchy>/<root>``) where it is empty.

        For the agent's stop: instances still running keep theirs (rmdir of a cgroup with
        children or tasks fails, and is skipped). Parents shared with other agents stay.
        """
        removed = []
        for base in self.backend.bases():
            directory = base / self.root
            try:
                directory.rmdir()
            except FileNotFoundError:
                continue
            except OSError as exc:
                if exc.errno in (errno.EBUSY, errno.ENOTEMPTY):
                    continue
                raise CgroupError(f"cannot remove cgroup {directory}: {cause(exc)}") from exc
            removed.append(directory)
        return removed

    def list(self) -> builtins.list[str]:
        """Instance names under root in any hierarchy, including half-removed leftovers."""
        names: set[str] = set()
        for base in self.backend.bases():
            parent = base / self.root
            try:
                names.update(p.name for p in parent.iterdir() if p.is_dir())
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CgroupError(f"cannot list cgroups in {parent}: {cause(exc)}") from exc
        return sorted(names)

    # ----------------------------------------------------------------------------------------
    # processes

    def add_process(self, name: str, pid: int) -> None:
        """Move ``pid`` into cgroup ``name`` in every hierarchy."""
        for path in self.procs_files(name):
            write(path, str(pid))

    def preexec(self, name: str) -> Callable[[], None]:
        """A ``preexec_fn`` that moves the new child into cgroup ``name`` before it execs.

        The child joins before its first instruction, so nothing it forks escapes accounting.
        Paths are resolved here, in the parent, to keep the forked child's work minimal.
        """
        paths = [os.fsencode(p) for p in self.procs_files(name)]

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
                    try_stderr(f"cannot join cgroup {os.fsdecode(path)}: {cause(exc)}\n")
                    raise

        return join_cgroup

    def pids(self, name: str) -> builtins.list[int]:
        """Sorted pids in cgroup ``name``; [] if it does not exist."""
        check_name(name)
        path = self.backend.tracking_dir(name) / "cgroup.procs"
        try:
            text = path.read_text()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise CgroupError(f"cannot read {path}: {cause(exc)}") from exc
        return sorted(int(line) for line in text.split())

    def memory_usage(self, name: str) -> int | None:
        """Bytes charged to cgroup ``name``, or None without a memory controller or cgroup."""
        check_name(name)
        if "memory" not in self.controllers:
            return None
        path = self.backend.memory_file(name)
        try:
            return int(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise CgroupError(f"cannot read {path}: {cause(exc)}") from exc

    def procs_files(self, name: str) -> builtins.list[Path]:
        """The cgroup.procs files a process writes its pid to, to join the cgroup everywhere."""
        return self._files(name, "cgroup.procs")

    def join_files(self, name: str, cpu_weight: int | None) -> builtins.list[Path]:
        """The files a process of an instance with ``cpu_weight`` writes "0" to, to join it.

        A single-threaded process only (on v1 they move the writing thread alone)."""
        return self.backend.join_files(self._files(name, self.backend.join_file), cpu_weight)

    def _files(self, name: str, file: str) -> builtins.list[Path]:
        check_name(name)
        paths = [d / file for d in self.backend.dirs(name)]
        missing = [str(p.parent) for p in paths if not p.parent.is_dir()]
        if missing:
            raise CgroupError(f"cgroup {name} does not exist: missing {', '.join(missing)}")
        return paths

    # ----------------------------------------------------------------------------------------
    # freezer

    def freeze(self, name: str) -> None:
        """Stop every process of ``name``; returns once the kernel reports them frozen."""
        self._set_frozen(name, True)

    def thaw(self, name: str) -> None:
        self._set_frozen(name, False)

    def is_frozen(self, name: str) -> bool:
        check_name(name)
        if "freezer" not in self.controllers:
            return False
        try:
            return self.backend.read_frozen(name)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise CgroupError(f"cannot read freezer state of cgroup {name}: {cause(exc)}") from exc

    def _set_frozen(self, name: str, frozen: bool, timeout: float = _STATE_TIMEOUT) -> None:
        check_name(name)
        if "freezer" not in self.controllers:
            raise CgroupError(f"cannot freeze or thaw cgroup {name}: no freezer controller")
        write(*self.backend.freeze_request(name, frozen))
        deadline = time.monotonic() + timeout
        # v1 passes through FREEZING and v2 sets "frozen" in cgroup.events asynchronously; a task
        # stuck in uninterruptible sleep can hold that up, hence the bound.
        while not self._reached(name, frozen):
            if time.monotonic() > deadline:
                word = "frozen" if frozen else "thawed"
                raise CgroupError(f"cgroup {name} was not {word} within {timeout:g}s")
            time.sleep(POLL)

    def _reached(self, name: str, frozen: bool) -> bool:
        try:
            return self.backend.read_frozen(name) == frozen
        except OSError as exc:
            raise CgroupError(f"cannot read freezer state of cgroup {name}: {cause(exc)}") from exc

    # ----------------------------------------------------------------------------------------
    # killing

    def kill_all(self, name: str, *, grace: float = 2.0) -> None:
        """SIGTERM every process of ``name``, SIGKILL what is left after ``grace`` seconds.

        Takes at most ``grace`` plus a small margin whatever the freezer does: the freezer is
        tried once, for at most FREEZE_TRY seconds, and not again if it does not freeze in time.
        Leaves the cgroup thawed. Raises CgroupError if processes survive SIGKILL.
        """
        check_name(name)
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
            kill_file = self.backend.kill_file(name) if sig == signal.SIGKILL else None
            if kill_file is not None:
                write(kill_file, "1")
            pids = self._members(name)
            if os.getpid() in pids:
                raise CgroupError(f"refusing to signal cgroup {name}: it contains the agent itself")
            send(pids, sig)
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
            time.sleep(POLL)
        return True

    def _members(self, name: str) -> builtins.list[int]:
        """Pids in any hierarchy: a half-created cgroup must still be emptied before rmdir."""
        found: set[int] = set()
        for directory in self.backend.dirs(name):
            path = directory / "cgroup.procs"
            try:
                found.update(int(line) for line in path.read_text().split())
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise CgroupError(f"cannot read {path}: {cause(exc)}") from exc
        return sorted(found)

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
