"""RFC 6242 transport: a paramiko SSH server that hands `netconf` subsystem channels to sessions."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import paramiko

from ..config import AgentConfig, verify_password

log = logging.getLogger(__name__)

ChannelHandler = Callable[[paramiko.Channel, str, str], None]


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


class _Auth(paramiko.ServerInterface):
    def __init__(self, config: AgentConfig, peer: str, on_subsystem: Callable[[], bool]) -> None:
        self.config = config
        self.peer = peer
        self.username: str | None = None
        self.on_subsystem = on_subsystem
        self.subsystem_ready = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_none(self, username: str) -> int:
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        user = self.config.user(username)
        if user and user.password_hash and verify_password(password, user.password_hash):
            self.username = username
            log.info("user %s logged in from %s (password)", username, self.peer)
            return paramiko.AUTH_SUCCESSFUL
        log.warning("failed password login for user %r from %s", username, self.peer)
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        user = self.config.user(username)
        offered = f"{key.get_name()} {key.get_base64()}"
        if user and any(_same_key(offered, k) for k in user.authorized_keys):
            self.username = username
            log.info(
                "user %s logged in from %s (public key %s)", username, self.peer, key.fingerprint
            )
            return paramiko.AUTH_SUCCESSFUL
        log.warning("failed public-key login for user %r from %s", username, self.peer)
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if name != "netconf":
            return False
        if self.subsystem_ready.is_set():
            log.warning("refused a second NETCONF channel on one SSH connection from %s", self.peer)
            return False
        if not self.on_subsystem():
            log.warning(
                "refused NETCONF session from %s: session limit %d reached",
                self.peer,
                self.config.max_sessions,
            )
            return False
        self.subsystem_ready.set()
        return True


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
        family = socket.AF_INET6 if ":" in config.listen_host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((config.listen_host, config.listen_port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._stopping = threading.Event()

    def serve_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                raise
            threading.Thread(
                target=self._connection,
                args=(conn, addr[0]),
                daemon=True,
                name=f"ssh-{addr[0]}:{addr[1]}",
            ).start()

    def stop(self) -> None:
        self._stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _connection(self, conn: socket.socket, peer: str) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(conn)
        transport.add_server_key(self.host_key)
        auth = _Auth(self.config, peer, self.may_open)
        handed_over = False
        try:
            transport.start_server(server=auth)
            channel = transport.accept(timeout=30)
            if channel is None:
                return
            if not auth.subsystem_ready.wait(timeout=30):
                channel.close()
                return
            handed_over = True  # the handler owns the session slot from here on
            self.handler(channel, auth.username or "", peer)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.info("SSH connection from %s ended: %s", peer, exc)
        finally:
            if auth.subsystem_ready.is_set() and not handed_over:
                self.release()
            transport.close()
