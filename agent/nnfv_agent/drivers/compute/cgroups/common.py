"""What both cgroup backends share: the error, the limits, name checks and file primitives."""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from ....errors import AgentError

DEFAULT_MOUNT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu", "freezer", "pids")
_RMDIR_TIMEOUT = 2.0
POLL = 0.02


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


def kernel_at_least(major: int, minor: int, release: str | None = None) -> bool:
    """Whether the running kernel (or ``release``, a uname -r string) is at least major.minor."""
    release = os.uname().release if release is None else release
    try:
        numbers = tuple(int(x) for x in release.split("-")[0].split(".")[:2])
    except ValueError:
        return False
    return numbers >= (major, minor)


def check_name(name: str) -> None:
    if not name or name in (".", "..") or any(c in name for c in "/\0\n"):
        raise CgroupError(f"invalid cgroup name {name!r}: must be a single path component")


def check_root(root: str) -> str:
    """``root`` normalised to ``a/b``; every component must be a plain name."""
    parts = [p for p in root.strip("/").split("/") if p]
    if not parts:
        raise CgroupError(f"invalid cgroup root {root!r}: must name a directory below the mount")
    for part in parts:
        try:
            check_name(part)
        except CgroupError:
            raise CgroupError(f"invalid cgroup root {root!r}: bad component {part!r}") from None
    return "/".join(parts)


def write(path: Path, value: str) -> None:
    # One write(2) per value: cgroup files parse each write as a whole.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as exc:
        raise CgroupError(f"cannot write '{value}' to {path}: {cause(exc)}") from exc


def rmdir(directory: Path) -> None:
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
                raise CgroupError(f"cannot remove cgroup {directory}: {cause(exc)}") from exc
            time.sleep(POLL)


def send(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def cause(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def try_stderr(message: str) -> None:
    try:
        os.write(2, message.encode())
    except OSError:
        pass
