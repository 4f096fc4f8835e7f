"""Network namespaces without forking: unshare/setns on the calling thread only (ctypes).

`ip netns add` and pyroute2 each fork a process per namespace, which costs 5 to 10 ms; an NNF
start that is meant to cost little more than its start script cannot afford that twice per
instance. setns(CLONE_NEWNET) affects only the calling thread, and every function here puts the
thread back into its own namespace before it returns.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ctypes  # at run time only when a namespace operation needs it

from ...errors import AgentError

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_SHARED = 1 << 20
MS_REC = 16384
MNT_DETACH = 2
NETNS_RUN_DIR = "/run/netns"


class _Libc:
    """libc through ctypes, loaded at the first namespace operation (ctypes costs memory)."""

    _lib: ctypes.CDLL | None = None

    def __getattr__(self, name: str) -> Any:  # a ctypes function: its signature is libc's
        if _Libc._lib is None:
            import ctypes

            lib = ctypes.CDLL(None, use_errno=True)
            lib.mount.argtypes = [
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_ulong,
                ctypes.c_void_p,
            ]
            lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
            _Libc._lib = lib
        return getattr(_Libc._lib, name)


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()


_libc = _Libc()


class NamespaceError(AgentError, OSError):
    """A namespace syscall failed; an OSError too, with the errno, for callers that test it."""

    app_tag = "namespace-failed"

    def __init__(self, err: int, message: str) -> None:
        super().__init__(message)
        self.errno = err
        self.strerror = message


def _check(result: int, what: str) -> None:
    if result != 0:
        err = _errno()
        raise NamespaceError(err, f"{what}: {os.strerror(err)}")


def _is_mount_point(directory: str) -> bool:
    # os.path.ismount() compares devices, so it misses a directory bind-mounted onto itself,
    # which is exactly what /run/netns is.
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        return any(line.split()[4] == directory for line in fh)


_run_dir_ready = False


def _ensure_run_dir() -> None:
    """Like `ip netns add`: /run/netns is a shared bind mount, so mounts in it propagate."""
    global _run_dir_ready
    if _run_dir_ready:
        return
    os.makedirs(NETNS_RUN_DIR, mode=0o755, exist_ok=True)
    if not _is_mount_point(NETNS_RUN_DIR):
        _check(
            _libc.mount(NETNS_RUN_DIR.encode(), NETNS_RUN_DIR.encode(), b"none", MS_BIND, None),
            f"bind mount {NETNS_RUN_DIR}",
        )
        _check(
            _libc.mount(b"none", NETNS_RUN_DIR.encode(), None, MS_SHARED, None),
            f"make {NETNS_RUN_DIR} shared",
        )
    _run_dir_ready = True


def path(name: str) -> str:
    return f"{NETNS_RUN_DIR}/{name}"


def exists(name: str) -> bool:
    return os.path.exists(path(name))


@contextlib.contextmanager
def _own_netns() -> Iterator[int]:
    fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def create(name: str) -> None:
    _ensure_run_dir()
    target = path(name)
    fd = os.open(target, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444)
    os.close(fd)
    try:
        with _own_netns() as home:
            _check(_libc.unshare(CLONE_NEWNET), f"unshare for namespace {name}")
            try:
                _check(
                    _libc.mount(
                        b"/proc/thread-self/ns/net", target.encode(), b"none", MS_BIND, None
                    ),
                    f"bind mount namespace {name}",
                )
            finally:
                _check(_libc.setns(home, CLONE_NEWNET), "return to the agent's namespace")
    except OSError:
        os.unlink(target)
        raise


def remove(name: str) -> None:
    target = path(name)
    if not os.path.exists(target):
        return
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = _errno()
        if err not in (errno.EINVAL, errno.ENOENT):
            raise NamespaceError(err, f"unmount namespace {name}: {os.strerror(err)}")
    os.unlink(target)


def enter_for_good(name: str) -> None:
    """Move the calling thread into namespace `name` (for a dedicated worker thread)."""
    ns_fd = os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(ns_fd, CLONE_NEWNET), f"enter namespace {name}")
    finally:
        os.close(ns_fd)


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with this thread inside namespace `name`."""
    ns_fd = os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        with _own_netns() as home:
            _check(_libc.setns(ns_fd, CLONE_NEWNET), f"enter namespace {name}")
            try:
                yield
            finally:
                _check(_libc.setns(home, CLONE_NEWNET), "return to the agent's namespace")
    finally:
        os.close(ns_fd)


# struct ifreq: a 16-byte name, then the flags (a short) in a 24-byte union.
_IFREQ = struct.Struct("16sH22x")
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def _ifreq(sock: socket.socket, request: int, name: str, flags: int = 0) -> int:
    reply = fcntl.ioctl(sock.fileno(), request, _IFREQ.pack(name.encode(), flags))
    return _IFREQ.unpack(reply)[1]


def interfaces_up(names: list[str]) -> dict[str, bool]:
    """Which of `names` exist in this thread's namespace, and whether each is up.

    An ioctl on a socket of the namespace: no netlink client to set up for a few flags.
    """
    out = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        for name in names:
            try:
                out[name] = bool(_ifreq(sock, _SIOCGIFFLAGS, name) & _IFF_UP)
            except OSError as exc:
                if exc.errno != errno.ENODEV:
                    raise
    return out


def set_up(name: str) -> None:
    """Bring interface `name` of this thread's namespace up."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        flags = _ifreq(sock, _SIOCGIFFLAGS, name)
        _ifreq(sock, _SIOCSIFFLAGS, name, flags | _IFF_UP)
