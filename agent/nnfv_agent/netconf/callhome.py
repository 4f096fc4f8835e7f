"""NETCONF Call Home over SSH (RFC 8071): the agent dials the management system.

The agent is the TCP client and then the SSH server on the connection it opened: the
management system authenticates to it exactly as a dial-in client would, and the session counts
against the same `max_sessions`. Each configured management system gets one thread, which:

1. opens a TCP connection (non-blocking connect, so that stopping the agent never waits for it);
2. hands the socket to the SSH server (`SshServer.serve_socket`) and waits for the connection
   to end;
3. waits per the strategy (see `CallHomePeer`), then calls again.

Between attempts nothing is kept open: one thread per peer, no sockets, no growth. Each
attempt's outcome is logged on one line with its number and the wait that follows.
"""

from __future__ import annotations

import errno
import logging
import math
import os
import random
import select
import socket
import threading
import time
from collections.abc import Callable

from ..config import CallHomePeer
from .ssh import SshServer, _Connection

log = logging.getLogger(__name__)

_SockAddr = tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes]  # as getaddrinfo gives

# A quiet management system is probed by TCP keepalives after this many seconds, then every
# KEEPALIVE_INTERVAL; after KEEPALIVE_PROBES unanswered ones the connection is dropped and the
# agent calls again (a NAT on the way forgets a silent connection; a session would hang on it).
KEEPALIVE_IDLE = 60
KEEPALIVE_INTERVAL = 10
KEEPALIVE_PROBES = 6
# How often a blocked connect looks whether the agent is stopping, in seconds.
STOP_POLL = 0.25


class Backoff:
    """The waits after consecutive failed calls: `initial`, times `factor` per failure, capped.

    Each wait is reduced by up to `jitter` (a fraction) at random so that a fleet of CPEs that
    lost its management system at the same moment does not call back in lockstep.
    """

    def __init__(
        self,
        initial: float,
        maximum: float,
        factor: float = 2.0,
        jitter: float = 0.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self.rand = rand
        self._base = initial

    def next_delay(self) -> float:
        base = self._base
        self._base = min(self._base * self.factor, self.maximum)  # capped: never overflows
        return base * (1.0 - self.jitter * self.rand())

    def reset(self) -> None:
        self._base = self.initial


def next_period_start(started: float, now: float, period: float) -> float:
    """The first of `started + k * period` (k >= 1) that is after `now`."""
    periods = max(1, math.floor((now - started) / period) + 1)
    return started + periods * period


class CallHomeClient:
    """Keeps calling one management system, per its strategy, until `stop()`."""

    def __init__(self, peer: CallHomePeer, ssh: SshServer) -> None:
        self.peer = peer
        self.ssh = ssh
        self.attempts = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _current against stop()
        self._current: _Connection | None = None
        self._thread = threading.Thread(target=self._run, name=f"callhome-{peer.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop calling and close the current connection (its session ends with it)."""
        with self._lock:
            self._stop.set()
            current = self._current
        if current is not None:
            current.close()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # ---- the loop ---------------------------------------------------------------------

    def _run(self) -> None:
        peer = self.peer
        backoff = Backoff(peer.retry_interval, peer.max_retry_interval, peer.backoff, peer.jitter)
        while not self._stop.is_set():
            self.attempts += 1
            started = time.monotonic()
            try:
                had_session, held, outcome = self._call()
            except Exception as exc:  # a bug here must not end the calling
                log.exception(
                    "call home %s: attempt %d: unexpected error", peer.label, self.attempts
                )
                had_session, held, outcome = False, False, f"unexpected error: {exc}"
            if self._stop.is_set():
                break
            if peer.strategy == "periodic":
                delay = max(
                    0.0,
                    next_period_start(started, time.monotonic(), peer.period) - time.monotonic(),
                )
            else:
                if had_session or held:
                    backoff.reset()  # the schedule starts again after a session
                delay = backoff.next_delay()
            level = logging.INFO if had_session else logging.WARNING
            log.log(
                level,
                "call home %s: attempt %d %s; next attempt in %.3f s",
                peer.label,
                self.attempts,
                outcome,
                delay,
            )
            self._stop.wait(delay)
        log.info("call home %s: stopped after %d attempts", peer.label, self.attempts)

    def _call(self) -> tuple[bool, bool, str]:
        """One attempt: connect, serve, wait for the end.

        Returns (had a NETCONF session, was held unused until login_grace_time, outcome). A
        held call is no reason to back off: the management system is there, and a broker that
        keeps calls until a client wants them (scripts/callhome_broker.py) holds them so.
        """
        try:
            sock = self._connect()
        except OSError as exc:
            return False, False, f"failed: {_reason(exc)}"
        try:
            remote = sock.getpeername()[0]
        except OSError as exc:
            sock.close()
            return False, False, f"failed: {_reason(exc)}"
        log.info("call home %s: attempt %d connected to %s", self.peer.label, self.attempts, remote)
        idle = self.peer.idle_timeout if self.peer.strategy == "periodic" else 0.0
        conn = self.ssh.serve_socket(sock, remote, idle_timeout=idle or None)
        if conn is None:
            return False, False, "failed: the SSH server could not serve the connection"
        with self._lock:
            if self._stop.is_set():
                conn.close()
            self._current = conn
        began = time.monotonic()
        try:
            conn.wait_closed()
        finally:
            with self._lock:
                self._current = None
        if conn.had_session:
            return True, False, f"ended its session after {time.monotonic() - began:.1f} s"
        if conn.expired:
            return False, True, "was held without a NETCONF session for login_grace_time"
        return False, False, "failed: the connection closed before a NETCONF session started"

    def _connect(self) -> socket.socket:
        infos = socket.getaddrinfo(self.peer.address, self.peer.port, type=socket.SOCK_STREAM)
        error: OSError = OSError(f"no address for {self.peer.address}")
        for family, kind, proto, _, address in infos:
            sock = socket.socket(family, kind, proto)
            try:
                self._connect_one(sock, address)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            _keepalive(sock)
            return sock
        raise error

    def _connect_one(self, sock: socket.socket, address: _SockAddr) -> None:
        """connect(), giving up after `connect_timeout` or as soon as the agent stops."""
        sock.setblocking(False)
        err = sock.connect_ex(address)
        deadline = time.monotonic() + self.peer.connect_timeout
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        while err in (errno.EINPROGRESS, errno.EALREADY):
            if self._stop.is_set():
                raise OSError(errno.ECANCELED, "the agent is stopping")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {self.peer.connect_timeout:g} s")
            if poller.poll(min(left, STOP_POLL) * 1000):
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))
        sock.setblocking(True)


class CallHome:
    """One `CallHomeClient` per configured management system."""

    def __init__(self, peers: list[CallHomePeer], ssh: SshServer) -> None:
        self.clients = [CallHomeClient(peer, ssh) for peer in peers]

    def start(self) -> None:
        for client in self.clients:
            log.info("call home %s: %s strategy", client.peer.label, client.peer.strategy)
            client.start()

    def stop(self, timeout: float = 5.0) -> None:
        for client in self.clients:
            client.stop()
        deadline = time.monotonic() + timeout
        for client in self.clients:
            client.join(max(0.0, deadline - time.monotonic()))


def _keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (
        ("TCP_KEEPIDLE", KEEPALIVE_IDLE),
        ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL),
        ("TCP_KEEPCNT", KEEPALIVE_PROBES),
    ):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the address: {exc.strerror}"
    return exc.strerror or str(exc)
