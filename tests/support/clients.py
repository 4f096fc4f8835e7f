"""NETCONF clients for the tests: ncclient, scrapli-netconf and a raw framing client."""

from __future__ import annotations

import contextlib

import paramiko
from ncclient import manager

from .agentproc import PASSWORD, USER, AgentProcess


def ncclient_connect(
    agent: AgentProcess, *, username: str = USER, password: str = PASSWORD, **kw
) -> manager.Manager:
    """`agent`: anything with a `.port` (a test agent, a simulated CPE)."""
    return manager.connect(
        host="127.0.0.1",
        port=agent.port,
        username=username,
        password=password,
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
        timeout=20,
        **kw,
    )


class RawClient:
    """Speaks the wire protocol directly, to send what well-behaved clients never send."""

    def __init__(
        self,
        agent: AgentProcess,
        *,
        base11: bool = True,
        hello: bool = True,
        window_size: int | None = None,
    ) -> None:
        """`window_size`: the SSH window this client grants the agent (small: a slow reader)."""
        self.transport = paramiko.Transport(("127.0.0.1", agent.port))
        self.transport.connect(username=USER, password=PASSWORD)
        self.chan = self.transport.open_session(window_size=window_size)
        self.chan.settimeout(20)
        self.chan.invoke_subsystem("netconf")
        self.buf = b""
        self.chunked = False
        self.server_hello = self._read_eom().decode()
        if hello:
            caps = "<capability>urn:ietf:params:netconf:base:1.0</capability>"
            if base11:
                caps += "<capability>urn:ietf:params:netconf:base:1.1</capability>"
            self.send_raw(
                (
                    '<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
                    f"{caps}</capabilities></hello>"
                ).encode()
                + b"]]>]]>"
            )
            self.chunked = base11

    def send_raw(self, data: bytes) -> None:
        self.chan.sendall(data)

    def send(self, message: str | bytes) -> None:
        data = message.encode() if isinstance(message, str) else message
        if self.chunked:
            self.send_raw(b"\n#%d\n%s\n##\n" % (len(data), data))
        else:
            self.send_raw(data + b"]]>]]>")

    def rpc(self, body: str, message_id: str = "1") -> str:
        self.send(
            f'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" '
            f'message-id="{message_id}">{body}</rpc>'
        )
        return self.recv()

    def recv(self) -> str:
        return (self._read_chunked() if self.chunked else self._read_eom()).decode()

    def _fill(self) -> None:
        data = self.chan.recv(65536)
        if not data:
            raise EOFError("agent closed the channel")
        self.buf += data

    def _read_eom(self) -> bytes:
        while b"]]>]]>" not in self.buf:
            self._fill()
        msg, _, self.buf = self.buf.partition(b"]]>]]>")
        return msg

    def _read_chunked(self) -> bytes:
        out = b""
        while True:
            while len(self.buf) < 4 or b"\n" not in self.buf[1:]:
                self._fill()
            header_end = self.buf.index(b"\n", 1)
            header = self.buf[: header_end + 1]
            if header == b"\n##\n":
                self.buf = self.buf[header_end + 1 :]
                return out
            size = int(header[2:-1])
            while len(self.buf) < header_end + 1 + size:
                self._fill()
            out += self.buf[header_end + 1 : header_end + 1 + size]
            self.buf = self.buf[header_end + 1 + size :]

    def close(self) -> None:
        # The server may already have dropped the connection (kill-session, a limit).
        with contextlib.suppress(EOFError, OSError):
            self.chan.close()
        self.transport.close()
