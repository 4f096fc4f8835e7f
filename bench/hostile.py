"""What hostile clients cost a config-only nnfv-agent on loopback, and what others see meanwhile.

For each attack: the agent's peak and settled RSS (peak reset before the attack through
/proc/PID/clear_refs), its thread count, and the latency of `get-config` in another session
(opened before the attack) while the attack runs. Attacks:
  - a maximum-size message (the agent's max_message_size) sent in 1-byte base:1.1 chunks;
  - filters with 1e6 sibling elements (over max_message_size), 4e5 (over
    max_message_elements) and 4.5e4 (accepted and evaluated);
  - 200 idle TCP connections that never authenticate;
  - an O(N^5) XPath filter (stopped by xpath_timeout);
and the RSS cost of one more idle NETCONF session (what max_sessions is sized from).
Run: .venv/bin/python bench/hostile.py [--message-size BYTES] [--siblings N] [--idle N]
"""

from __future__ import annotations

import argparse
import logging
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.modules.setdefault("invoke", None)

from graphs import THREE_NF, chain_graph, graphs_config  # noqa: E402
from local_agent import PASSWORD, USER, LocalAgent  # noqa: E402
from nnfv_agent.config import AgentConfig  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NFG = "urn:nnfv:yang:nnfv-service-graph"
COSTLY = "//*[count(//*[count(//*[count(//*[count(//*) > 0]) > 0]) > 0]) > 0]"


def status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


class Probe:
    """get-config in its own session, in a loop, for as long as an attack runs."""

    def __init__(self, agent: LocalAgent) -> None:
        self.client = NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD)
        self.samples: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.perf_counter()
            try:
                self.client.get_config()
            except Exception:  # noqa: BLE001 - counted and reported
                self.errors += 1
            self.samples.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.05)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)
        self.client.close()

    def summary(self) -> str:
        if not self.samples:
            return "no get-config completed"
        return (
            f"get-config meanwhile: n={len(self.samples)} "
            f"p50={statistics.median(self.samples):.1f} ms max={max(self.samples):.1f} ms "
            f"errors={self.errors}"
        )


def attack(agent: LocalAgent, name: str, work: Callable[[], str]) -> None:
    pid = agent.proc.pid
    time.sleep(0.5)
    before = status(pid, "VmRSS")
    reset_peak(pid)
    t0 = time.perf_counter()
    with Probe(agent) as probe:
        outcome = work()
    elapsed = time.perf_counter() - t0
    peak = status(pid, "VmHWM")
    time.sleep(2.0)
    after = status(pid, "VmRSS")
    print(f"{name}")
    print(f"  outcome: {outcome} ({elapsed:.1f} s)")
    print(
        f"  RSS before {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
        f"(+{(peak - before) / 1024:.1f}), after {after / 1024:.1f} MiB; "
        f"threads {status(pid, 'Threads')}"
    )
    print(f"  {probe.summary()}")


def raw_session(agent: LocalAgent):
    import paramiko

    transport = paramiko.Transport(("127.0.0.1", agent.port))
    transport.connect(username=USER, password=PASSWORD)
    chan = transport.open_session()
    chan.settimeout(600)
    chan.invoke_subsystem("netconf")
    buf = b""
    while b"]]>]]>" not in buf:
        buf += chan.recv(65536)
    chan.sendall(
        f'<hello xmlns="{NC}"><capabilities><capability>urn:ietf:params:netconf:base:1.1'
        "</capability></capabilities></hello>]]>]]>".encode()
    )
    return transport, chan


def read_reply(chan) -> str:
    buf = b""
    while not buf.endswith(b"\n##\n"):
        buf += chan.recv(65536)
    return buf.decode(errors="replace")


def one_byte_chunks(agent: LocalAgent, size: int) -> str:
    transport, chan = raw_session(agent)
    try:
        head = (
            f'<rpc xmlns="{NC}" message-id="1"><get-config><source><running/></source>'
            f'<filter><graphs xmlns="{NFG}"><graph><description>'
        ).encode()
        tail = b"</description></graph></graphs></filter></get-config></rpc>"
        message = head + b"x" * (size - len(head) - len(tail)) + tail
        batch = bytearray()
        for byte in message:
            batch += b"\n#1\n%c" % byte
            if len(batch) >= 1 << 16:
                chan.sendall(bytes(batch))
                batch.clear()
        chan.sendall(bytes(batch) + b"\n##\n")
        reply = read_reply(chan)
        return "replied " + ("<data>" if "<data" in reply else reply[:160])
    finally:
        transport.close()


def sibling_filter(agent: LocalAgent, siblings: int) -> str:
    transport, chan = raw_session(agent)
    try:
        body = (
            f'<rpc xmlns="{NC}" message-id="1"><get-config><source><running/></source>'
            f"<filter>{'<a/>' * siblings}</filter>"
            "</get-config></rpc>"
        ).encode()
        chan.sendall(b"\n#%d\n%s\n##\n" % (len(body), body))
        reply = read_reply(chan)
        if "<error-message" in reply:
            tag = reply.split("<error-tag>")[1].split("<")[0]
            why = reply.split("<error-message")[1].split(">", 1)[1].split("<")[0]
            return f"{len(body) / 1e6:.1f} MB message, reply: {tag} ({why})"
        return f"{len(body) / 1e6:.1f} MB message, reply: data"
    finally:
        transport.close()


def fresh_session(agent: LocalAgent, source: str) -> str:
    """Log in from `source` (a loopback address) and read the configuration once."""
    import paramiko

    t0 = time.perf_counter()
    sock = socket.socket()
    sock.settimeout(10)
    try:
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", agent.port))
        transport = paramiko.Transport(sock)
        try:
            transport.connect(username=USER, password=PASSWORD)
            chan = transport.open_session(timeout=10)
            chan.invoke_subsystem("netconf")
            buf = b""
            while b"]]>]]>" not in buf:
                chunk = chan.recv(65536)
                if not chunk:
                    raise EOFError("closed before the hello")
                buf += chunk
        finally:
            transport.close()
    except Exception as exc:  # noqa: BLE001 - the point is to report it
        return f"from {source}: refused ({type(exc).__name__})"
    finally:
        sock.close()
    return f"from {source}: worked in {time.perf_counter() - t0:.2f} s"


def idle_connections(agent: LocalAgent, count: int) -> str:
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(("127.0.0.1", agent.port), timeout=10))
        time.sleep(1.0)
        threads = status(agent.proc.pid, "Threads")
        same, other = fresh_session(agent, "127.0.0.1"), fresh_session(agent, "127.0.0.2")
        return f"{count} connections open, agent threads {threads}; new session {same}, {other}"
    finally:
        for sock in socks:
            sock.close()


def costly_xpath(agent: LocalAgent) -> str:
    with NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD, timeout=120) as c:
        body = "".join(
            chain_graph(f"g{i}", THREE_NF, lan=f"lan{i}", wan=f"wan{i}") for i in range(4)
        )
        c.edit_config(graphs_config(body))
        c.commit()
        try:
            c.rpc(
                f'<get-config><source><running/></source><filter type="xpath" '
                f'select="{COSTLY}"/></get-config>'
            )
            return "answered with data"
        except Exception as exc:  # noqa: BLE001 - the refusal is the expected outcome
            return f"refused: {exc}"[:160]


def session_cost(agent: LocalAgent, count: int) -> str:
    time.sleep(0.5)
    before = status(agent.proc.pid, "VmRSS")
    clients = [
        NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD) for _ in range(count)
    ]
    for c in clients:
        c.get_config()
    time.sleep(0.5)
    after = status(agent.proc.pid, "VmRSS")
    for c in clients:
        c.close()
    return (
        f"{count} idle sessions: +{(after - before) / 1024:.1f} MiB, "
        f"{(after - before) / count:.0f} KiB per session"
    )


def main() -> int:
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # refusals are expected here
    defaults = AgentConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--message-size", type=int, default=defaults.max_message_size)
    parser.add_argument(
        "--siblings",
        default="1000000,400000,45000",
        help="sibling counts of the filter attack (over the size limit, over the element "
        "limit, accepted)",
    )
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=defaults.max_sessions)
    args = parser.parse_args()
    print(
        f"limits: max_message_size={defaults.max_message_size} "
        f"max_message_elements={defaults.max_message_elements} "
        f"max_startups={defaults.max_startups}/{defaults.max_startups_per_source} per source "
        f"max_sessions={defaults.max_sessions} xpath_timeout={defaults.xpath_timeout:g} s"
    )
    with LocalAgent() as agent:
        with NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD) as c:
            c.get_config()
        attack(
            agent,
            f"max-size message ({args.message_size} bytes) in 1-byte chunks",
            lambda: one_byte_chunks(agent, args.message_size),
        )
        for siblings in (int(n) for n in args.siblings.split(",")):
            attack(
                agent,
                f"filter with {siblings} siblings",
                lambda n=siblings: sibling_filter(agent, n),
            )
        attack(
            agent,
            f"{args.idle} idle pre-auth connections",
            lambda: idle_connections(agent, args.idle),
        )
        attack(agent, "O(N^5) XPath filter", lambda: costly_xpath(agent))
        print(f"session cost: {session_cost(agent, args.sessions)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
