"""Recovery: how fast the agent notices a dead NF, restarts it, and reconciles after a restart.

1. A graph LAN -> NF -> WAN whose NF is a bridge plus a daemon. N times: kill -9 the daemon and
   time (a) the `nf-state-change failed` notification, (b) the `started` notification of the
   automatic restart, and (c) the first ping through the graph after it. Medians are printed.
2. An agent restart (SIGTERM, start) with 10 and 50 deployed one-NF graphs: time from the
   start of the new agent process until it serves NETCONF, which it does only once the
   start-up reconciliation converged the kernel to running (median of R restarts).

Everything is created by this run (a simulated CPE) and removed at its end.

    python bench/recovery.py [--kills 10] [--restarts 3] [--graphs 10,50] [--min-interval S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests")]
sys.modules.setdefault("invoke", None)

from lxml import etree  # noqa: E402
from ncclient import manager  # noqa: E402

from graphs import endpoint, graphs_config, rule  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402
from nnfv_agent.node.packing import pack_directory  # noqa: E402
from simfleet import PASSWORD, USER, SimCpe, sh  # noqa: E402

SG = "urn:nnfv:yang:nnfv-service-graph"
NT = "urn:nnfv:yang:nnfv-nnf-template"
BRIDGED = {
    "start": "ip link add br0 type bridge\n"
    'ip link set "$1" master br0\nip link set "$2" master br0\n'
    'ip link set "$1" up\nip link set "$2" up\nip link set br0 up\n'
    'sleep 3600 & echo $! > "$NNFV_WORKDIR/pid"',
    "stop": 'kill "$(cat "$NNFV_WORKDIR/pid")" 2>/dev/null || true\n'
    "ip link del br0 2>/dev/null || true",
}
DAEMON = {
    "start": 'sleep 3600 & echo $! > "$NNFV_WORKDIR/pid"',
    "stop": 'kill "$(cat "$NNFV_WORKDIR/pid")" 2>/dev/null || true',
}


def template(tmp: Path, name: str, scripts: dict[str, str]) -> str:
    src = tmp / f"tpl-{name}"
    (src / "scripts").mkdir(parents=True)
    for event, body in scripts.items():
        path = src / "scripts" / event
        path.write_text("#!/bin/sh\nset -eu\n" + body + "\n")
        path.chmod(0o755)
    tgz = tmp / f"{name}.tgz"
    digest = pack_directory(src, tgz)
    lcm = "".join(
        f"<lifecycle-management-script><event>{e}</event><script>scripts/{e}</script>"
        "</lifecycle-management-script>"
        for e in scripts
    )
    return (
        f'<templates xmlns="{NT}"><template><name>{name}</name>'
        f"<functional-type>{name}</functional-type><uri>{tgz.as_uri()}</uri>"
        f"<sha256>{digest}</sha256><port><name>in</name><index>0</index></port>"
        f"<port><name>out</name><index>1</index></port>{lcm}</template></templates>"
    )


def one_nf_graph(name: str, tpl: str, lan: str, wan: str, *, both_ways: bool) -> str:
    nf = (
        f"<nf><id>x</id><template>{tpl}</template>"
        "<port><name>in</name></port><port><name>out</name></port></nf>"
    )
    rules = rule("1", 10, "endpoint:lan", ["nf:x:in"]) + rule("2", 10, "nf:x:out", ["endpoint:wan"])
    if both_ways:
        rules += rule("3", 10, "endpoint:wan", ["nf:x:out"]) + rule(
            "4", 10, "nf:x:in", ["endpoint:lan"]
        )
    return (
        f"<graph><name>{name}</name>{nf}{endpoint('lan', lan)}{endpoint('wan', wan)}{rules}</graph>"
    )


def new_cpe(prefix: str, **config: str) -> SimCpe:
    cpe = SimCpe(f"{prefix}{uuid.uuid4().hex[:5]}", tempfile.mkdtemp(prefix="nnfv-recovery-"))
    cpe.create_network()
    cpe.write_config(script_timeout="30", log_level="WARNING", **config)
    cpe.start_agent()
    return cpe


def commit(cpe: SimCpe, config: str) -> None:
    with NetconfClient("127.0.0.1", cpe.port, USER, password=PASSWORD, timeout=300) as c:
        c.edit_config(config)
        c.commit()


def nf_pid(cpe: SimCpe, graph: str) -> int | None:
    with NetconfClient("127.0.0.1", cpe.port, USER, password=PASSWORD) as c:
        reply = c.rpc(f'<get><filter type="subtree"><graphs xmlns="{SG}"/></filter></get>')
    root = etree.fromstring(reply.encode())
    for g in root.iter(f"{{{SG}}}graph"):
        if g.findtext(f"{{{SG}}}name") == graph:
            pid = g.findtext(f".//{{{SG}}}pid")
            return int(pid) if pid else None
    return None


def ping_once(ns: str, address: str) -> bool:
    cmd = ["ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "0.2", address]
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


def wait_event(m: manager.Manager, state: str, deadline: float) -> float | None:
    while time.monotonic() < deadline:
        n = m.take_notification(timeout=0.2)
        if n is None:
            continue
        event = etree.fromstring(n.notification_xml.encode())[1]
        if (
            etree.QName(event).localname == "nf-state-change"
            and event.findtext(f"{{{SG}}}state") == state
        ):
            return time.monotonic()
    return None


def kills(count: int, min_interval: float) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nnfv-recovery-tpl-"))
    # A reset period of 1 s: each kill (1.5 s apart) meets the first, minimum delay again.
    cpe = new_cpe(
        "r",
        restart_min_interval=str(min_interval),
        restart_max_count="0",
        restart_reset_time="1",
    )
    try:
        commit(cpe, template(tmp, "bridged", BRIDGED))
        commit(cpe, graphs_config(one_nf_graph("g", "bridged", "lan0", "wan0", both_ways=True)))
        sh("ip", "addr", "add", "192.0.2.20/24", "dev", "eth0", ns=cpe.wan_ns)
        sh("ip", "route", "del", "192.0.2.0/24", "via", cpe.wan_cpe, ns=cpe.wan_ns, check=False)
        target = "192.0.2.20"
        deadline = time.monotonic() + 30
        while not ping_once(cpe.lan_ns, target) and time.monotonic() < deadline:
            pass
        failed, started, traffic = [], [], []
        m = manager.connect(
            host="127.0.0.1",
            port=cpe.port,
            username=USER,
            password=PASSWORD,
            hostkey_verify=False,
            allow_agent=False,
            look_for_keys=False,
            timeout=20,
        )
        m.create_subscription()
        for _ in range(count):
            pid = nf_pid(cpe, "g")
            assert pid, "the NF has no process"
            t0 = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            end = t0 + 120
            t_failed = wait_event(m, "failed", end)
            t_started = wait_event(m, "started", end)
            if t_failed is None or t_started is None:
                print("  an event did not come within 120 s; stopping")
                break
            while not ping_once(cpe.lan_ns, target) and time.monotonic() < end:
                pass
            failed.append(t_failed - t0)
            started.append(t_started - t0)
            traffic.append(time.monotonic() - t0)
            time.sleep(1.5)  # longer than the reset period: the next kill is a first failure
        m.close_session()
        print(f"kill -9 of an NF daemon, {len(failed)} times (restart_min_interval={min_interval})")
        for label, values in (
            ("to nf-state-change failed", failed),
            ("to nf-state-change started", started),
            ("to the first ping through", traffic),
        ):
            if values:
                print(
                    f"  {label:<28} median {statistics.median(values) * 1000:8.1f} ms   "
                    f"min {min(values) * 1000:8.1f}   max {max(values) * 1000:8.1f}"
                )
    finally:
        cpe.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def restarts(graphs: int, count: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nnfv-recovery-tpl-"))
    cpe = new_cpe("q")
    try:
        for i in range(graphs):
            for side in ("l", "w"):
                sh(
                    "ip",
                    "link",
                    "add",
                    f"{side}{i}",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    f"p{side}{i}",
                    ns=cpe.cpe_ns,
                )
                sh("ip", "link", "set", f"{side}{i}", "up", ns=cpe.cpe_ns)
        commit(cpe, template(tmp, "daemon", DAEMON))
        body = "".join(
            one_nf_graph(f"g{i}", "daemon", f"l{i}", f"w{i}", both_ways=False)
            for i in range(graphs)
        )
        commit(cpe, graphs_config(body))
        times = []
        for _ in range(count):
            cpe.stop_agent()
            t0 = time.monotonic()
            cpe.start_agent(timeout=600)
            times.append(time.monotonic() - t0)
        print(
            f"agent restart with {graphs:>2} deployed graphs ({count} restarts): "
            f"serving after reconcile, median {statistics.median(times):6.2f} s   "
            f"min {min(times):6.2f}   max {max(times):6.2f}"
        )
    finally:
        cpe.destroy()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--graphs", default="10,50")
    parser.add_argument(
        "--min-interval",
        type=float,
        default=2.0,
        help="restart_min_interval of the agent (its default is 2 s)",
    )
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    kills(args.kills, args.min_interval)
    for n in (int(x) for x in args.graphs.split(",")):
        restarts(n, args.restarts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
