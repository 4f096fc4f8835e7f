"""A minimal blocking NETCONF client (no poll loop), for the demo, benchmarks and scripts."""

from __future__ import annotations

import itertools
import socket
from pathlib import Path

import paramiko

from ..xmlutil import NC, parse, qn
from . import framing

_HELLO = (
    f'<hello xmlns="{NC}"><capabilities>'
    "<capability>urn:ietf:params:netconf:base:1.0</capability>"
    "<capability>urn:ietf:params:netconf:base:1.1</capability>"
    "</capabilities></hello>"
).encode()


class NetconfError(Exception):
    def __init__(self, reply: str) -> None:
        root = parse(reply)
        err = root.find(qn(NC, "rpc-error"))
        self.tag = err.findtext(qn(NC, "error-tag")) if err is not None else None
        self.path = err.findtext(qn(NC, "error-path")) if err is not None else None
        self.message = err.findtext(qn(NC, "error-message")) if err is not None else reply
        super().__init__(f"{self.tag}: {self.message}" + (f" ({self.path})" if self.path else ""))
        self.reply = reply


class NetconfClient:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        *,
        password: str | None = None,
        key_file: str | Path | None = None,
        timeout: float = 30,
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        # Small requests and replies: without this, Nagle and the peer's delayed ACK add
        # 40 ms to some round trips.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = paramiko.Transport(sock)
        self.transport.connect()
        if key_file:
            key = paramiko.PKey.from_path(str(key_file))
            self.transport.auth_publickey(username, key)
        else:
            self.transport.auth_password(username, password or "")
        self.channel = self.transport.open_session(timeout=timeout)
        self.channel.settimeout(timeout)
        self.channel.invoke_subsystem("netconf")
        self._reader = framing.FrameReader(max_message=1 << 30)
        self._pending: list[bytes] = []
        self.server_hello = self._recv().decode()
        self.channel.sendall(framing.encode(_HELLO, chunked=False))
        self.chunked = "urn:ietf:params:netconf:base:1.1" in self.server_hello
        self._reader.chunked = self.chunked
        self.session_id = int(parse(self.server_hello).findtext(qn(NC, "session-id")))
        self._ids = itertools.count(1)

    def _recv(self) -> bytes:
        while not self._pending:
            data = self.channel.recv(1 << 20)
            if not data:
                raise EOFError("the agent closed the session")
            for item in self._reader.feed(data):
                if isinstance(item, framing.TooBig):
                    raise EOFError("reply too big")
                self._pending.append(item)
        return self._pending.pop(0)

    def rpc(self, body: str, *, check: bool = True) -> str:
        message = (f'<rpc xmlns="{NC}" message-id="{next(self._ids)}">{body}</rpc>').encode()
        self.channel.sendall(framing.encode(message, self.chunked))
        reply = self._recv().decode()
        if check and "<rpc-error" in reply:
            raise NetconfError(reply)
        return reply

    def get_config(self, source: str = "running", filter_xml: str = "") -> str:
        return self.rpc(f"<get-config><source><{source}/></source>{filter_xml}</get-config>")

    def edit_config(self, config: str, target: str = "candidate") -> str:
        return self.rpc(
            f"<edit-config><target><{target}/></target>"
            f'<config xmlns="{NC}">{config}</config></edit-config>'
        )

    def commit(self) -> str:
        return self.rpc("<commit/>")

    def close(self) -> None:
        try:
            self.rpc("<close-session/>", check=False)
        except (EOFError, OSError, paramiko.SSHException):
            pass
        self.transport.close()

    def __enter__(self) -> NetconfClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
