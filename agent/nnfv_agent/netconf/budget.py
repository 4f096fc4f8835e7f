"""What one filter may cost, and running work that libxml2 cannot interrupt within that cost.

Filters come from the network, so their cost is bounded. A subtree filter runs in the agent
under a `Budget` (time, and the session still being alive). An XPath expression runs in
libxml2, which cannot be interrupted, so `run_bounded` evaluates it in a forked child with a
deadline and a memory limit; the child is killed when either runs out or the session ends, and
the rest of the agent never waits on it.
"""

from __future__ import annotations

import logging
import os
import pickle
import select as select_mod
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from .errors import ErrorType, RpcError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Budget:
    """What one filter may cost: wall time, memory (XPath), and the requester still being there."""

    timeout: float = 10.0
    max_memory: int = 64 * 1024 * 1024
    cancelled: Callable[[], bool] = field(default=lambda: False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        self._ticks = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def tick(self) -> None:
        self._ticks += 1
        if self._ticks & 1023 == 0:
            self.check()

    def check(self) -> None:
        if self.cancelled():
            log.info("filter stopped: its session ended")
            raise RpcError(
                "operation-failed", "the session ended while its filter ran", ErrorType.APPLICATION
            )
        if self.remaining() <= 0:
            log.warning("filter stopped: it took longer than %g s (xpath_timeout)", self.timeout)
            raise too_costly(f"the filter took longer than {self.timeout:g} s")


def too_costly(why: str) -> RpcError:
    return RpcError(
        "resource-denied",
        f"{why}; narrow or simplify it (limits: xpath_timeout, xpath_max_memory in agent.toml)",
        ErrorType.APPLICATION,
        info={"bad-element": "filter"},
    )


def run_bounded(work: Callable[[], T], budget: Budget, failed: Callable[[str], RpcError]) -> T:
    """Run `work` in a forked child under the budget; return its result or raise its error
    (`failed` makes the rpc-error for an exception outside the RpcError family)."""
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:  # out of memory or processes: refuse this filter, keep serving
        os.close(read_fd)
        os.close(write_fd)
        raise too_costly(f"no process could be started for the filter ({exc.strerror})") from None
    if pid == 0:  # the child: no threads, no locks of ours, exits without cleanup
        os.close(read_fd)
        _run_child(work, budget, parent, write_fd)
    os.close(write_fd)
    return _outcome(_read_child(pid, read_fd, budget), budget, failed)


def _run_child(work: Callable[[], object], budget: Budget, parent: int, write_fd: int) -> NoReturn:
    """In the child: run `work` under the limits, send ("ok", result) or what failed."""
    status = 0
    try:
        _die_with(parent, budget.remaining())
        _limit_memory(budget.max_memory)
        result: tuple[str, object] = ("ok", work())
    except RpcError as exc:
        result = ("rpc-error", exc)
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        result = ("error", f"{type(exc).__name__}: {exc}")
    try:
        payload = pickle.dumps(result)
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
    except BaseException:  # noqa: BLE001
        status = 1
    os._exit(status)


def _read_child(pid: int, read_fd: int, budget: Budget) -> bytes:
    """What the child sent, read within the budget; the child is killed if time runs out."""
    chunks: list[bytes] = []
    finished = False
    try:
        while True:
            budget.check()
            ready, _, _ = select_mod.select([read_fd], [], [], min(0.05, budget.remaining()))
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
    return b"".join(chunks)


def _outcome(payload: bytes, budget: Budget, failed: Callable[[str], RpcError]) -> Any:
    """The child's result, or its failure as an rpc-error."""
    too_big = f"the XPath filter needed more than {budget.max_memory // (1024 * 1024)} MiB"
    try:
        kind, value = pickle.loads(payload)
    except Exception:  # noqa: BLE001 - the child died (memory limit, signal)
        raise too_costly(too_big) from None
    if kind == "ok":
        return value
    if kind == "rpc-error":
        raise value
    if kind == "memory":
        raise too_costly(too_big)
    raise failed(str(value))


def _die_with(parent: int, seconds: float) -> None:
    """In the child: never outlive the agent, nor the filter's time budget.

    The parent kills the child when the budget runs out or the session ends; if the parent is
    killed itself (kill -9, a test's teardown), the kernel must do it instead.
    """
    import ctypes
    import resource

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)
    cpu = max(1, int(seconds) + 2)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _limit_memory(extra: int) -> None:
    import resource

    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = size + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
