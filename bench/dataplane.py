"""Data-plane benchmarks on a simulated CPE (namespaces made by this run, removed at the end).

- deploy: time from `commit` sent to the first UDP packet through a 3-NF chain
  (firewall -> bridge -> NAT), and teardown (commit of the removal) time;
- throughput: iperf3 through that chain against a direct veth between two namespaces;
- scale: deploy 100 small graphs one commit each; per-graph time at 10 and 100, agent RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.modules.setdefault("invoke", None)

from graphs import chain_graph, graphs_config, nf_xml, rule  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402
from simfleet import PASSWORD, USER, SimCpe, sh  # noqa: E402

SG = "urn:nnfv:yang:nnfv-service-graph"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
NAT = {"in-address": "192.0.2.1/24", "out-address": "198.51.100.2/24"}
CHAIN = [("fw", "firewall"), ("br", "bridge"), ("nat", "nat", NAT)]

RECEIVER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
print("ready", flush=True)
s.recv(64)
print(time.monotonic(), flush=True)
"""
SENDER = """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.monotonic() + 20
while time.monotonic() < end:
    try:
        s.sendto(b"x", ("198.51.100.10", 9999))
    except OSError:
        pass
    time.sleep(0.0005)
"""


def client(cpe: SimCpe) -> NetconfClient:
    return NetconfClient("127.0.0.1", cpe.port, USER, password=PASSWORD, timeout=600)


def remove_graphs(c: NetconfClient) -> float:
    c.edit_config(f'<graphs xmlns="{SG}" xmlns:nc="{NC}" nc:operation="remove"/>')
    t0 = time.monotonic()
    c.commit()
    return (time.monotonic() - t0) * 1000


def bench_deploy(cpe: SimCpe, runs: int) -> tuple[list[float], list[float], list[float]]:
    first_packet, commit_ms, teardown = [], [], []
    graph = graphs_config(chain_graph("chain", CHAIN, lan="lan0", wan="wan0"))
    with client(cpe) as c:
        for _ in range(runs):
            rx = subprocess.Popen(
                ["ip", "netns", "exec", cpe.wan_ns, sys.executable, "-c", RECEIVER],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert rx.stdout.readline().strip() == "ready"
            tx = subprocess.Popen(["ip", "netns", "exec", cpe.lan_ns, sys.executable, "-c", SENDER])
            time.sleep(0.2)
            c.edit_config(graph)
            t0 = time.monotonic()
            c.commit()
            commit_ms.append((time.monotonic() - t0) * 1000)
            try:
                out, _ = rx.communicate(timeout=20)
                first_packet.append((float(out.strip()) - t0) * 1000)
            finally:
                tx.kill()
                tx.wait()
            teardown.append(remove_graphs(c))
    return first_packet, commit_ms, teardown


def iperf(client_ns: str, server_ns: str, address: str, seconds: int) -> float:
    server = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, "iperf3", "-s", "-1"], stdout=subprocess.DEVNULL
    )
    time.sleep(0.3)
    try:
        out = sh(
            "iperf3", "-c", address, "-t", str(seconds), "-J", ns=client_ns, timeout=seconds + 30
        ).stdout
    finally:
        server.kill()
        server.wait()
    return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9


def bench_throughput(cpe: SimCpe, seconds: int) -> tuple[float, float]:
    with client(cpe) as c:
        c.edit_config(graphs_config(chain_graph("chain", CHAIN, lan="lan0", wan="wan0")))
        c.commit()
        time.sleep(0.5)
        chain = iperf(cpe.lan_ns, cpe.wan_ns, "198.51.100.10", seconds)
        remove_graphs(c)
    tag = uuid.uuid4().hex[:5]
    a, b = f"direct-a-{tag}", f"direct-b-{tag}"
    try:
        for ns in (a, b):
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b, ns=a)
        for ns, addr in ((a, "203.0.113.1/24"), (b, "203.0.113.2/24")):
            sh("ip", "addr", "add", addr, "dev", "eth0", ns=ns)
            sh("ip", "link", "set", "eth0", "up", ns=ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        direct = iperf(a, b, "203.0.113.2", seconds)
    finally:
        for ns in (a, b):
            sh("ip", "netns", "del", ns, check=False)
    return chain, direct


def small_graph(i: int, *, interfaces: bool = False) -> str:
    """Graph g<i>: a bridge between endpoints a and b, internal (or CPE interfaces g<i>-a/-b)."""
    kind = "interface" if interfaces else "internal-group"
    ep = "".join(f"<endpoint><id>{s}</id><{kind}>g{i}-{s}</{kind}></endpoint>" for s in ("a", "b"))
    return (
        f"<graph><name>g{i}</name>{nf_xml('br', 'bridge')}{ep}"
        + rule("1", 10, "endpoint:a", ["nf:br:in"])
        + rule("2", 10, "nf:br:out", ["endpoint:b"])
        + rule("3", 10, "endpoint:b", ["nf:br:out"])
        + rule("4", 10, "nf:br:in", ["endpoint:a"])
        + "</graph>"
    )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def bench_scale(cpe: SimCpe, total: int) -> dict[int, tuple[float, float]]:
    times = []
    marks = {}
    with client(cpe) as c:
        for i in range(total):
            c.edit_config(graphs_config(small_graph(i)))
            t0 = time.monotonic()
            c.commit()
            times.append((time.monotonic() - t0) * 1000)
            if i + 1 in (10, total):
                window = times[-10:]
                marks[i + 1] = (statistics.mean(window), rss_mib(cpe.pid))
        t0 = time.monotonic()
        remove_graphs(c)
        marks[0] = ((time.monotonic() - t0) * 1000, rss_mib(cpe.pid))
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--graphs", type=int, default=100)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="nnfv-bench-"))
    cpe = SimCpe(f"b{uuid.uuid4().hex[:5]}", str(base / "cpe"))
    try:
        cpe.create_network()
        cpe.write_config(log_level="WARNING")
        cpe.start_agent()
        first, commit, teardown = bench_deploy(cpe, args.runs)
        chain, direct = bench_throughput(cpe, args.seconds)
        scale = bench_scale(cpe, args.graphs)
    finally:
        left = cpe.destroy()
        shutil.rmtree(base, ignore_errors=True)
    med = statistics.median
    print("graph deploy, 3-NF chain (firewall -> bridge -> NAT), medians of", args.runs)
    print(f"  commit sent -> first packet through the chain  {med(first):7.1f} ms  (goal <= 300)")
    print(f"  commit rpc-reply                               {med(commit):7.1f} ms")
    print(
        f"  teardown (commit of the removal)               {med(teardown):7.1f} ms  (goal <= 200)"
    )
    print(f"chain throughput (iperf3 TCP, {args.seconds} s)")
    print(
        f"  direct veth {direct:6.2f} Gbit/s, through the 3-NF chain {chain:6.2f} Gbit/s,"
        f" ratio {chain / direct:.2f} (goal >= 0.5)"
    )
    print("scale: small graphs (1 NF, 2 internal endpoints), one commit each")
    for n in sorted(k for k in scale if k):
        per, rss = scale[n]
        print(
            f"  at {n:3d} graphs: {per:6.1f} ms per graph (mean of the last 10), "
            f"agent RSS {rss:5.1f} MiB"
        )
    print(f"  removing all {args.graphs} graphs in one commit: {scale[0][0]:.0f} ms")
    if left:
        print(f"  (cleaned after the run: {len(left)} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
