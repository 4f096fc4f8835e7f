"""RFC 6242 transport: a paramiko SSH server that hands `netconf` subsystem channels to sessions.

What an SSH peer may cost is bounded:
- connections without a NETCONF session (before and during authentication, or authenticated
  but without the subsystem) are at most `max_startups`, and `max_startups_per_source` from one
  address (so one noisy source cannot take every slot); one more is closed at accept and logged;
- such a connection has `login_grace_time` seconds to get a session, then it is closed;
- a connection is one paramiko thread until it has a session, then one more for the session;
- after a close-session, that second thread waits at most PEER_CLOSE_GRACE seconds for the
  client to close the connection, then closes it; at most `max_startups` connections wait so,
  the agent closes any more at once;
- sessions are at most `max_sessions`: one more is refused at channel open with the SSH reason
  "resource shortage" (a clean, standard refusal that every client reports);
- a failed password login is answered after a delay that doubles with each recent failure from
  the same source, and an unknown user costs the same hash as a known one.

Logins are logged once, with the source, when paramiko sends the result: after the password or
the public-key signature was checked.

Call home (RFC 8071): `serve_socket` runs the same server, with the same authentication and
session limit, on a TCP connection the agent opened itself. Such a connection does not take one
of the `max_startups` slots (they bound what strangers dialling in may cost; the agent opens at
most one connection per configured management system), but it has the same `login_grace_time`.
"""

from __future__ import annotations

import collections
import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import paramiko
from paramiko import common as ssh
from paramiko.auth_handler import AuthHandler
from paramiko.message import Message

from ..config import PBKDF2_ITERATIONS, AgentConfig, hash_password, verify_password

log = logging.getLogger(__name__)


class ChannelHandler(Protocol):
    """Runs one NETCONF session on `channel`; `idle_timeout` closes it when the peer is idle.

    Returns True when the peer ended the session itself (close-session) and so will close the
    connection next."""

    def __call__(
        self,
        channel: paramiko.Channel,
        username: str,
        peer: str,
        *,
        idle_timeout: float | None = None,
    ) -> bool: ...


# Channels one connection may open (a client may open a spare one before the netconf one).
MAX_CHANNELS = 4
# Sources whose failed logins are remembered (the oldest is forgotten first).
MAX_TRACKED_SOURCES = 1024
# A source's failures are forgotten this long after its last one.
FAILURE_MEMORY = 300.0
# After a close-session the client answers our channel close, then closes the connection.
# Closing first, with that answer unread, makes our kernel reset the connection, and the
# client's SSH library logs an error (paramiko: ncclient, so Ansible). So the client goes
# first, within this many seconds.
PEER_CLOSE_GRACE = 3.0


def load_or_create_host_key(path: Path) -> paramiko.PKey:
    if path.exists():
        return paramiko.ECDSAKey.from_private_key_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = paramiko.ECDSAKey.generate(bits=256)
    tmp = path.with_name(path.name + ".tmp")
    key.write_private_key_file(str(tmp))
    tmp.chmod(0o600)
    tmp.replace(path)
    log.info("generated SSH host key %s (%s)", path, key.fingerprint)
    return key


class LoginThrottle:
    """Failed logins per source address, and the delay the next failure is answered with."""

    def __init__(self, base: float, maximum: float) -> None:
        self.base = base
        self.maximum = maximum
        self._failures: collections.OrderedDict[str, tuple[int, float]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def failed(self, source: str, now: float | None = None) -> float:
        """Record a failure; return how long to wait before answering it."""
        now = time.monotonic() if now is None else now
        with self._lock:
            count, last = self._failures.pop(source, (0, now))
            if now - last > FAILURE_MEMORY:
                count = 0
            count += 1
            self._failures[source] = (count, now)
            while len(self._failures) > MAX_TRACKED_SOURCES:
                self._failures.popitem(last=False)
        if self.base <= 0:
            return 0.0
        return min(self.base * 2 ** min(count - 1, 32), self.maximum)

    def succeeded(self, source: str) -> None:
        with self._lock:
            self._failures.pop(source, None)


@dataclass(eq=False)
class _Connection:
    peer: str
    transport: paramiko.Transport
    accepted: float = field(default_factory=time.monotonic)
    reserved: bool = False  # holds a session slot (from its first channel on)
    in_session: bool = False  # a NETCONF session runs on it
    channels: int = 0
    outbound: bool = False  # opened by the agent (call home), not accepted
    idle_timeout: float | None = None  # for its session (call home, periodic strategy)
    session_thread: threading.Thread | None = None
    expired: bool = False  # closed for getting no session within login_grace_time

    @property
    def had_session(self) -> bool:
        return self.in_session

    def wait_closed(self, session_grace: float = 10.0) -> None:
        """Block until the SSH connection has ended, and its session thread soon after."""
        self.transport.join()
        if self.session_thread is not None:
            self.session_thread.join(session_grace)

    def close(self) -> None:
        self.transport.close()


class _AuthHandler(AuthHandler):
    """paramiko's handler, telling our server the final result of each attempt."""

    # paramiko's private hooks are not in its stubs (types-paramiko), hence the ignores.
    def _send_auth_result(self, username: str, method: str, result: int) -> None:
        server = self.transport.server_object
        if isinstance(server, _Auth):
            server.auth_result(username, method, result)
        super()._send_auth_result(username, method, result)  # type: ignore[misc]


class _Transport(paramiko.Transport):
    def _log(self, level: int, msg: object, *args: object) -> None:
        # A reset from the peer (a client that closed with our last packets unread, or that
        # was killed) ends the connection as an EOF would; it is no error of the agent's.
        if level >= logging.ERROR and isinstance(msg, str) and _is_reset(msg):
            level = logging.DEBUG
        super()._log(level, msg, *args)  # type: ignore[misc]

    def _parse_newkeys(self, m: Message) -> None:
        if self.server_mode and self.auth_handler is None:
            self.auth_handler = _AuthHandler(self)
        super()._parse_newkeys(m)  # type: ignore[misc]


class _Auth(paramiko.ServerInterface):
    def __init__(self, server: SshServer, conn: _Connection) -> None:
        self.server = server
        self.config = server.config
        self.conn = conn
        self.peer = conn.peer
        self.username: str | None = None
        self._offered_key: paramiko.PKey | None = None

    # ---- authentication -----------------------------------------------------------------

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_none(self, username: str) -> int:
        return ssh.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        user = self.config.user(username)
        # Unknown users and users without a password cost the same hash as a known one.
        stored = user.password_hash if user and user.password_hash else self.server.dummy_hash
        ok = verify_password(password, stored) and stored is not self.server.dummy_hash
        return ssh.AUTH_SUCCESSFUL if ok else ssh.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        # Only says whether the key is one of the user's; paramiko checks the signature after.
        user = self.config.user(username)
        offered = f"{key.get_name()} {key.get_base64()}"
        self._offered_key = key
        if user and any(_same_key(offered, k) for k in user.authorized_keys):
            return ssh.AUTH_SUCCESSFUL
        return ssh.AUTH_FAILED

    def auth_result(self, username: str, method: str, result: int) -> None:
        """The final result of one attempt, every check done: log it, delay a failure."""
        if method == "none":
            return  # clients ask which methods exist this way; it is not a login attempt
        kind = "public-key" if method == "publickey" else method
        how = kind
        if method == "publickey" and self._offered_key is not None:
            how = f"public key {self._offered_key.fingerprint}"
        if result == ssh.AUTH_SUCCESSFUL:
            self.username = username
            self.server.throttle.succeeded(self.peer)
            log.info("user %s logged in from %s (%s)", username, self.peer, how)
            return
        log.warning("failed %s login for user %r from %s (%s)", kind, username, self.peer, how)
        if method == "password":
            delay = self.server.throttle.failed(self.peer)
            if delay:
                time.sleep(delay)  # this connection's own thread: nobody else waits

    # ---- channels -----------------------------------------------------------------------

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session":
            return ssh.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if self.conn.channels >= MAX_CHANNELS:
            log.warning("refused channel from %s: %d channels already", self.peer, MAX_CHANNELS)
            return ssh.OPEN_FAILED_RESOURCE_SHORTAGE
        if not self.conn.reserved:
            if not self.server.may_open():
                log.warning(
                    "refused NETCONF session from %s (user %s): session limit %d reached",
                    self.peer,
                    self.username,
                    self.config.max_sessions,
                )
                return ssh.OPEN_FAILED_RESOURCE_SHORTAGE
            self.conn.reserved = True
        self.conn.channels += 1
        return ssh.OPEN_SUCCEEDED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if name != "netconf":
            return False
        if self.conn.in_session:
            log.warning("refused a second NETCONF channel on one SSH connection from %s", self.peer)
            return False
        return self.server.start_session(self.conn, channel, self.username or "")


def _same_key(offered: str, configured: str) -> bool:
    parts = configured.split()
    return len(parts) >= 2 and offered == f"{parts[0]} {parts[1]}"


class SshServer:
    def __init__(
        self,
        config: AgentConfig,
        handler: ChannelHandler,
        may_open: Callable[[], bool],
        release: Callable[[], None],
    ) -> None:
        self.config = config
        self.handler = handler
        self.may_open = may_open  # reserves a session slot, or refuses
        self.release = release  # gives back a slot that no session took
        self.host_key = load_or_create_host_key(config.host_key_path)
        self.throttle = LoginThrottle(config.failed_login_delay, config.failed_login_max_delay)
        self.dummy_hash = hash_password(os.urandom(16).hex(), iterations=_iterations(config))
        family = socket.AF_INET6 if ":" in config.listen_host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((config.listen_host, config.listen_port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        # Connections left to their client after a close-session: as many as max_startups.
        self._lingering = threading.BoundedSemaphore(config.max_startups)
        self._conns: set[_Connection] = set()  # connections without a session yet
        self._refused = 0
        self._refused_logged = 0.0

    # ---- accepting ----------------------------------------------------------------------

    def serve_forever(self) -> None:
        self.sock.settimeout(0.5)
        while not self._stopping.is_set():
            try:
                conn, addr = self.sock.accept()
            except TimeoutError:
                self._sweep()
                continue
            except OSError as exc:
                if self._stopping.is_set():
                    return
                log.warning("accept failed: %s", exc)
                time.sleep(0.1)
                continue
            self._sweep()
            self._accept(conn, addr[0])

    def _accept(self, conn: socket.socket, peer: str) -> None:
        conn.settimeout(None)
        with self._lock:
            inbound = [c for c in self._conns if not c.outbound]
            full = len(inbound) >= self.config.max_startups
            if not full:
                mine = sum(1 for c in inbound if c.peer == peer)
                full = mine >= self.config.max_startups_per_source
            if full:
                self._refused += 1
        if full:
            self._log_refusal(peer)
            _close_socket(conn)
            return
        self._serve(conn, peer)

    def serve_socket(
        self, conn: socket.socket, peer: str, *, idle_timeout: float | None = None
    ) -> _Connection | None:
        """Be the SSH server on a connection the agent opened (call home); None if refused.

        The socket belongs to the server from here on, whatever the outcome.
        """
        if self._stopping.is_set():
            _close_socket(conn)
            return None
        conn.settimeout(None)
        return self._serve(conn, peer, outbound=True, idle_timeout=idle_timeout)

    def _serve(
        self,
        conn: socket.socket,
        peer: str,
        *,
        outbound: bool = False,
        idle_timeout: float | None = None,
    ) -> _Connection | None:
        record = None
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            transport = _Transport(conn)
            transport.add_server_key(self.host_key)
            record = _Connection(peer, transport, outbound=outbound, idle_timeout=idle_timeout)
            with self._lock:
                self._conns.add(record)
            transport.start_server(event=threading.Event(), server=_Auth(self, record))
        except (RuntimeError, OSError, paramiko.SSHException) as exc:
            # RuntimeError: no thread could be started (a task limit). Refuse this one, live on.
            log.error("could not serve the connection %s %s: %s", _direction(outbound), peer, exc)
            if record is not None:
                with self._lock:
                    self._conns.discard(record)
                record.transport.close()
            _close_socket(conn)
            return None
        return record

    def _log_refusal(self, peer: str) -> None:
        now = time.monotonic()
        if now - self._refused_logged < 10:
            return  # one line per 10 s at most, whatever the flood
        self._refused_logged = now
        log.warning(
            "refused connection from %s: too many connections without a session "
            "(max_startups %d, max_startups_per_source %d); %d refused so far",
            peer,
            self.config.max_startups,
            self.config.max_startups_per_source,
            self._refused,
        )

    def _sweep(self) -> None:
        """Close connections that did not get a session in time; forget dead ones."""
        now = time.monotonic()
        expired, dead = [], []
        with self._lock:
            for record in list(self._conns):
                if record.in_session:
                    self._conns.discard(record)
                elif not record.transport.is_active():
                    self._conns.discard(record)
                    dead.append(record)
                elif now - record.accepted > self.config.login_grace_time:
                    self._conns.discard(record)
                    expired.append(record)
        for record in expired:
            record.expired = True
            log.warning(
                "closed the connection from %s: no NETCONF session within %g s (login_grace_time)",
                record.peer,
                self.config.login_grace_time,
            )
            record.transport.close()
        for record in expired + dead:
            self._give_back(record)

    def _give_back(self, record: _Connection) -> None:
        with self._lock:
            reserved, record.reserved = record.reserved, False
        if reserved and not record.in_session:
            self.release()

    # ---- sessions -----------------------------------------------------------------------

    def start_session(self, record: _Connection, channel: paramiko.Channel, username: str) -> bool:
        """Hand `channel` to a session thread; False refuses the subsystem request."""
        with self._lock:
            if not record.reserved or record.in_session:
                return False
            record.in_session = True  # the handler owns the session slot from here on
            self._conns.discard(record)
        record.session_thread = thread = threading.Thread(
            target=self._session,
            args=(record, channel, username),
            daemon=True,
            name=f"netconf-{record.peer}",
        )
        try:
            thread.start()
        except RuntimeError as exc:
            log.error("could not start a session for %s: %s", record.peer, exc)
            record.in_session = False
            self._give_back(record)
            record.transport.close()
            return False
        return True

    def _session(self, record: _Connection, channel: paramiko.Channel, username: str) -> None:
        peer_closes = False
        try:
            peer_closes = self.handler(
                channel, username, record.peer, idle_timeout=record.idle_timeout
            )
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("SSH connection from %s ended: %s", record.peer, exc)
        finally:
            if peer_closes and self._lingering.acquire(blocking=False):
                try:
                    record.transport.join(PEER_CLOSE_GRACE)
                finally:
                    self._lingering.release()
            record.transport.close()

    def stop(self) -> None:
        self._stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self._lock:
            pending, self._conns = list(self._conns), set()
        for record in pending:
            record.transport.close()


def _iterations(config: AgentConfig) -> int:
    """The hash cost of the configured users, so that an unknown user costs the same."""
    for user in config.users:
        if user.password_hash:
            parts = user.password_hash.split("$")
            if len(parts) == 4 and parts[1].isascii() and parts[1].isdigit():
                return int(parts[1])
    return PBKDF2_ITERATIONS


def _is_reset(message: str) -> bool:
    """paramiko's transport thread logs a socket error as "Socket exception: <text> (<errno>)"."""
    return message.startswith("Socket exception:") and message.endswith(f"({errno.ECONNRESET})")


def _direction(outbound: bool) -> str:
    return "to" if outbound else "from"


def _close_socket(conn: socket.socket) -> None:
    try:
        conn.close()
    except OSError:
        pass
