"""Accept NETCONF Call Home connections for clients that only dial out (ncclient, Ansible).

ansible.netcommon's `netconf` connection always calls ncclient's `manager.connect()`: it opens
the connection itself and cannot wait for a CPE to call. It does take a ProxyCommand
(`ansible_netconf_proxy_command`), a program whose stdin/stdout become the SSH byte stream. This
script provides both halves:

  callhome_broker.py serve --listen 0.0.0.0:4334 --control /run/nnfv-callhome.sock
      listens for the CPEs' calls (RFC 8071) and keeps each CPE's latest call, keyed by the
      address it came from, until someone asks for it (a held call that the CPE hangs up is
      dropped);
  callhome_broker.py connect %h --control /run/nnfv-callhome.sock [--wait 60]
      the ProxyCommand: asks the broker for the call from %h (waiting for one up to --wait
      seconds), receives the TCP socket itself (SCM_RIGHTS) and relays stdin/stdout to it.

The broker only holds idle sockets: once a call is handed over, the SSH session runs between
ncclient and the CPE with nothing in between but the relay. The CPE is authenticated end to end
by its SSH host key (keep host key checking on), so a call handed to the wrong inventory host
fails the host-key check instead of talking to the wrong CPE.
"""

from __future__ import annotations

import argparse
import errno
import os
import select
import socket
import sys

MAX_HELD = 10_000  # calls held at once (one per CPE address); the oldest goes first
MAX_WAITERS = 256  # proxy commands waiting at once
LINE = 256
EVENTS_GONE = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0)


def parse_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


class Broker:
    def __init__(self, listen: tuple[str, int], control: str) -> None:
        family = socket.AF_INET6 if ":" in listen[0] else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(listen)
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        if os.path.exists(control):
            os.unlink(control)
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # the control socket hands out sessions: owner only
        try:
            self.control.bind(control)
        finally:
            os.umask(old)
        self.control.listen(64)
        self.held: dict[str, socket.socket] = {}  # CPE address -> its latest call
        self.waiters: dict[int, tuple[str, socket.socket]] = {}  # fd -> (address, requester)
        self.poller = select.poll()
        for sock in (self.listener, self.control):
            self.poller.register(sock, select.POLLIN)

    def serve(self) -> None:
        print(f"callhome-broker: listening on port {self.port}", flush=True)
        while True:
            for fd, _ in self.poller.poll():
                if fd == self.listener.fileno():
                    self._accept_call()
                elif fd == self.control.fileno():
                    self._accept_request()
                elif fd in self.waiters:
                    self._drop_waiter(fd)  # a waiting proxy command went away
                else:
                    self._drop_call(fd)

    def _accept_call(self) -> None:
        try:
            sock, peer = self.listener.accept()
        except OSError:
            return
        address = peer[0]
        waiter = next((fd for fd, (a, _) in self.waiters.items() if a == address), None)
        if waiter is not None:
            _, requester = self.waiters.pop(waiter)
            self.poller.unregister(waiter)
            self._hand_over(requester, sock)
            return
        old = self.held.pop(address, None)
        if old is not None:  # the CPE called again: its older call is stale
            self.poller.unregister(old)
            old.close()
        while len(self.held) >= MAX_HELD:
            oldest = next(iter(self.held))
            self.poller.unregister(self.held[oldest])
            self.held.pop(oldest).close()
        self.held[address] = sock
        self.poller.register(sock, EVENTS_GONE)
        print(f"callhome-broker: holding the call from {address}", flush=True)

    def _drop_call(self, fd: int) -> None:
        for address, sock in list(self.held.items()):
            if sock.fileno() == fd:
                print(f"callhome-broker: {address} hung up a held call", flush=True)
                self.poller.unregister(sock)
                del self.held[address]
                sock.close()
                return
        try:
            self.poller.unregister(fd)  # already handed over in this round of events
        except KeyError:
            pass

    def _accept_request(self) -> None:
        try:
            requester, _ = self.control.accept()
        except OSError:
            return
        requester.settimeout(5)
        try:
            address = requester.recv(LINE).decode().strip()
        except (OSError, UnicodeDecodeError):
            requester.close()
            return
        sock = self.held.pop(address, None)
        if sock is not None:
            self.poller.unregister(sock)
            self._hand_over(requester, sock)
        elif len(self.waiters) >= MAX_WAITERS:
            requester.close()
        else:
            self.waiters[requester.fileno()] = (address, requester)
            self.poller.register(requester, select.POLLIN | EVENTS_GONE)

    def _drop_waiter(self, fd: int) -> None:
        _, requester = self.waiters.pop(fd)
        self.poller.unregister(fd)
        requester.close()

    def _hand_over(self, requester: socket.socket, sock: socket.socket) -> None:
        try:
            socket.send_fds(requester, [b"ok\n"], [sock.fileno()])
            print(f"callhome-broker: handed over the call from {sock.getpeername()[0]}", flush=True)
        except OSError as exc:
            print(f"callhome-broker: could not hand over a call: {exc}", flush=True)
        finally:
            requester.close()
            sock.close()  # the requester has its own descriptor now


def resolve(host: str) -> str:
    """The address a CPE named `host` calls from, as the broker keys it."""
    info = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return str(info[0][4][0])


def connect(host: str, control: str, wait: float) -> int:
    """Get the call of `host` from the broker, then relay stdin/stdout to it until either ends."""
    address = resolve(host)
    requester = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    requester.connect(control)
    requester.sendall(address.encode() + b"\n")
    requester.settimeout(wait)
    try:
        _, fds, _, _ = socket.recv_fds(requester, LINE, 1)
    except TimeoutError:
        print(f"callhome-broker: no call from {address} within {wait:g} s", file=sys.stderr)
        return 1
    finally:
        requester.close()
    if not fds:
        print("callhome-broker: the broker refused the request", file=sys.stderr)
        return 1
    call = socket.socket(fileno=fds[0])
    relay(call, sys.stdin.fileno(), sys.stdout.fileno())
    return 0


def relay(call: socket.socket, stdin: int, stdout: int) -> None:
    poller = select.poll()
    poller.register(stdin, select.POLLIN)
    poller.register(call, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd == stdin:
                data = os.read(stdin, 65536)
                if not data:
                    poller.unregister(stdin)
                    _shutdown(call)
                    continue
                call.sendall(data)
            else:
                try:
                    data = call.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    return
                _write_all(stdout, data)


def _shutdown(call: socket.socket) -> None:
    try:
        call.shutdown(socket.SHUT_WR)
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            raise


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve", help="accept and hold the CPEs' calls")
    serve_p.add_argument("--listen", type=parse_address, default=("0.0.0.0", 4334))
    serve_p.add_argument("--control", required=True, help="path of the control socket")
    connect_p = sub.add_parser("connect", help="ProxyCommand: relay to the call of HOST")
    connect_p.add_argument("host", help="the CPE's address (ansible_host, %%h)")
    connect_p.add_argument("--control", required=True)
    connect_p.add_argument("--wait", type=float, default=60.0, help="seconds to wait for a call")
    args = parser.parse_args(argv)
    if args.command == "serve":
        try:
            Broker(args.listen, args.control).serve()
        except KeyboardInterrupt:
            return 0
        return 0
    return connect(args.host, args.control, args.wait)


if __name__ == "__main__":
    sys.exit(main())
