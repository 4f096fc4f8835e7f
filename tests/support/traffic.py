"""Real packets between test namespaces: ping, and TCP with a one-shot Python server."""

from __future__ import annotations

import subprocess
import sys
import time

SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(4)
s.settimeout(float(sys.argv[3]))
print('ready', flush=True)
try:
    while True:
        c, peer = s.accept()
        print(peer[0], flush=True)
        c.sendall(b'hello')
        c.close()
except socket.timeout:
    pass
"""

CLIENT = """
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    print(c.recv(16).decode())
except OSError as exc:
    print('fail', exc)
    sys.exit(1)
"""


def ping(ns: str, address: str, count: int = 1, wait: float = 1.0) -> bool:
    proc = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            ns,
            "ping",
            "-c",
            str(count),
            "-W",
            str(wait),
            "-i",
            "0.2",
            address,
        ],
        capture_output=True,
        timeout=30,
    )
    return proc.returncode == 0


def ping_eventually(ns: str, address: str, tries: int = 10) -> bool:
    return any(ping(ns, address) for _ in range(tries))


class TcpServer:
    """A server in namespace `ns`; `.peers()` lists the client addresses it saw."""

    def __init__(self, ns: str, address: str, port: int, lifetime: float = 30) -> None:
        self.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                "-c",
                SERVER,
                address,
                str(port),
                str(lifetime),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def peers(self) -> list[str]:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=10)
        return [line for line in out.split() if line]

    def __enter__(self) -> TcpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def tcp_connect(ns: str, address: str, port: int, timeout: float = 1.5) -> bool:
    proc = subprocess.run(
        ["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT, address, str(port), str(timeout)],
        capture_output=True,
        text=True,
        timeout=timeout + 10,
    )
    return proc.returncode == 0 and "hello" in proc.stdout


def tcp_connect_eventually(ns: str, address: str, port: int, tries: int = 5) -> bool:
    for _ in range(tries):
        if tcp_connect(ns, address, port):
            return True
        time.sleep(0.2)
    return False
