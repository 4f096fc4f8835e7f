"""Soak: deploy and delete a firewall -> NAT graph N times on a simulated CPE (bounded, not CI).

Prints, after 20, 100 and 200 cycles (by default): the agent's RSS and open fds, and the kernel
objects and files a cycle could leak (NF namespaces, links, LSI tables, cgroup directories and
their processes, temporary files in the state directory). Everything is created by this run and
removed at its end.

    python bench/soak.py [--cycles 200] [--report 20,100,200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests")]
sys.modules.setdefault("invoke", None)

from graphs import fw_nat_graph, graphs_config  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402
from simfleet import PASSWORD, USER, SimCpe  # noqa: E402
from support.kernel import snapshot  # noqa: E402

SG = "urn:nnfv:yang:nnfv-service-graph"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def state_temporaries(state: Path) -> int:
    return sum(1 for p in state.rglob(".*") if p.name.endswith((".tmp", ".part")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--report", default="20,100,200")
    args = parser.parse_args()
    report = {int(x) for x in args.report.split(",")}
    cpe = SimCpe(f"s{uuid.uuid4().hex[:6]}", tempfile.mkdtemp(prefix="nnfv-soak-"))
    try:
        cpe.create_network()
        cpe.write_config(script_timeout="30", log_level="WARNING")
        cpe.start_agent()
        state = Path(cpe.dir) / "state"
        graph = graphs_config(fw_nat_graph())
        remove = f'<graphs xmlns="{SG}" xmlns:nc="{NC}" nc:operation="remove"/>'
        print(f"soak: {args.cycles} deploy/delete cycles of a firewall -> NAT graph")
        print(
            f"{'cycle':>6} {'RSS kB':>8} {'delta':>7} {'fds':>4} {'netns':>5} {'links':>5} "
            f"{'tables':>6} {'cgroups':>7} {'procs':>5} {'tmp':>3} {'s/cycle':>7}"
        )
        base_rss = None
        began = time.monotonic()
        with NetconfClient("127.0.0.1", cpe.port, USER, password=PASSWORD, timeout=120) as c:
            for cycle in range(1, args.cycles + 1):
                c.edit_config(graph)
                c.commit()
                c.edit_config(remove)
                c.commit()
                if cycle in report:
                    rss = rss_kib(cpe.pid)
                    base_rss = base_rss if base_rss is not None else rss
                    snap = snapshot(cpe.id, cpe.cpe_ns)
                    print(
                        f"{cycle:>6} {rss:>8} {rss - base_rss:>+7} "
                        f"{len(os.listdir(f'/proc/{cpe.pid}/fd')):>4} "
                        f"{len(snap.namespaces):>5} {len(snap.links):>5} {len(snap.tables):>6} "
                        f"{len(snap.cgroups):>7} {len(snap.processes):>5} "
                        f"{state_temporaries(state):>3} "
                        f"{(time.monotonic() - began) / cycle:>7.2f}",
                        flush=True,
                    )
        print("links: the CPE's own lan0, wan0 and lo; delta: RSS since the first report")
    finally:
        cpe.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
