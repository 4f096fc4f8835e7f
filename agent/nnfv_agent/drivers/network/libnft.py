"""nft commands run by libnftables in this process, on netlink sockets that stay open.

Why not `nft -f`: when a process closes its nfnetlink socket, the kernel (nf_tables'
NETLINK_URELEASE handler) first flushes the work that frees the objects of the last
transaction, and that work waits for an RCU grace period. After any change of a rule or a
chain, every `nft` run therefore ends with a 4 to 20 ms wait in close(), on top of 3 ms to
start the program. A libnftables context keeps its socket open: the same one-chain batch costs
0.1 ms (20 chains in the table) to 0.7 ms (200 chains), and the freeing stays in the
background. The command text is what `nft -f` reads, so batches are unchanged.

A context is not thread-safe, so calls take one from a small pool for themselves: a reader
listing counters never waits for a writer's batch. A context talks to the namespace it was
made in; one made in a namespace that has since been replaced is dropped.
"""

from __future__ import annotations

import ctypes
import os
import threading
import weakref
from dataclasses import dataclass

from . import nsutil

_OUTPUT_JSON = 1 << 4  # NFT_CTX_OUTPUT_JSON of nftables/libnftables.h


class NftCommandError(Exception):
    """nft refused a command; the message is nft's own."""


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL("libnftables.so.1")
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    for getter in (lib.nft_ctx_get_output_buffer, lib.nft_ctx_get_error_buffer):
        getter.argtypes = [ctypes.c_void_p]
        getter.restype = ctypes.c_char_p
    return lib


_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def library() -> ctypes.CDLL | None:
    """libnftables, or None where it is not installed (then `nft` is run instead)."""
    global _lib
    with _lib_lock:
        if _lib is None:
            try:
                _lib = _load()
            except OSError:
                return None
        return _lib


@dataclass
class _Context:
    pointer: int
    namespace: tuple[int, int]  # (st_dev, st_ino) of the namespace it was made in

    def run(self, lib: ctypes.CDLL, command: str, json: bool) -> str:
        lib.nft_ctx_output_set_flags(self.pointer, _OUTPUT_JSON if json else 0)
        rc = lib.nft_run_cmd_from_buffer(self.pointer, command.encode())
        # Both buffers are read after every command: reading one also empties it.
        out = lib.nft_ctx_get_output_buffer(self.pointer) or b""
        err = lib.nft_ctx_get_error_buffer(self.pointer) or b""
        if rc != 0:
            first = command.strip().splitlines()[0] if command.strip() else command
            raise NftCommandError(err.decode(errors="replace").strip() or f"{first}: failed")
        return out.decode(errors="replace")


class LibNft:
    """Runs nft command text in network namespace `netns` (None: the calling thread's)."""

    def __init__(self, lib: ctypes.CDLL, netns: str | None, *, max_idle: int = 3) -> None:
        self.lib = lib
        self.netns = netns
        self.max_idle = max_idle
        self._idle: list[_Context] = []
        self._lock = threading.Lock()  # guards the pool only, never an nft call
        weakref.finalize(self, _free_all, lib, self._idle)

    def __call__(self, command: str, json: bool = False) -> str:
        namespace = self._namespace()
        ctx = self._take(namespace)
        try:
            return ctx.run(self.lib, command, json)
        finally:
            self._give_back(ctx)

    def _namespace(self) -> tuple[int, int]:
        where = nsutil.path(self.netns) if self.netns else "/proc/thread-self/ns/net"
        try:
            st = os.stat(where)
        except OSError as exc:
            raise NftCommandError(f"cannot open network namespace {self.netns}: {exc}") from None
        return st.st_dev, st.st_ino

    def _take(self, namespace: tuple[int, int]) -> _Context:
        stale = []
        with self._lock:
            found = None
            while self._idle and found is None:
                ctx = self._idle.pop()
                if ctx.namespace == namespace:
                    found = ctx
                else:
                    stale.append(ctx)
        _free_all(self.lib, stale)
        return found or self._new(namespace)

    def _new(self, namespace: tuple[int, int]) -> _Context:
        try:
            if self.netns is None:
                pointer = self.lib.nft_ctx_new(0)
            else:
                with nsutil.entered(self.netns):
                    pointer = self.lib.nft_ctx_new(0)
        except OSError as exc:
            raise NftCommandError(f"cannot enter network namespace {self.netns}: {exc}") from None
        if not pointer:
            raise NftCommandError("libnftables could not make a context (out of memory?)")
        self.lib.nft_ctx_buffer_output(pointer)
        self.lib.nft_ctx_buffer_error(pointer)
        return _Context(pointer, namespace)

    def _give_back(self, ctx: _Context) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(ctx)
                return
        _free_all(self.lib, [ctx])


def _free_all(lib: ctypes.CDLL, contexts: list[_Context]) -> None:
    for ctx in contexts:
        lib.nft_ctx_free(ctx.pointer)
    contexts.clear()
