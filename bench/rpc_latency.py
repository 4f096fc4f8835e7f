"""RPC latency and memory of nnfv-agent over SSH on loopback (config-only agent).

Prints p50/p99 of get-config and of edit-config+commit (a 3-NF graph) with a blocking client
that does not poll, and the same with ncclient (whose poll tick adds up to 100 ms per RPC),
then the agent's RSS idle and with 100 graphs configured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.modules.setdefault("invoke", None)

from graphs import THREE_NF, chain_graph, graphs_config  # noqa: E402
from local_agent import PASSWORD, USER, LocalAgent  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def graph(i: int) -> str:
    return graphs_config(
        chain_graph("bench", THREE_NF, lan="lan0", wan="wan0", description=f"revision {i}")
    )


def report(name: str, samples: list[float]) -> None:
    print(
        f"  {name:<34} n={len(samples):<4} p50={pct(samples, 0.5):7.2f} ms  "
        f"p99={pct(samples, 0.99):7.2f} ms  mean={statistics.fmean(samples):7.2f} ms"
    )


def bench_blocking(agent: LocalAgent, n: int) -> dict[str, list[float]]:
    with NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD) as c:
        c.edit_config(graph(0))
        c.commit()
        for _ in range(20):  # warm-up
            c.get_config()
        get = timed(lambda i: c.get_config(), n)

        def edit_commit(i: int) -> None:
            c.edit_config(graph(i + 1))
            c.commit()

        edit = timed(edit_commit, n)
    return {"get-config": get, "edit-config+commit": edit}


def bench_ncclient(agent: LocalAgent, n: int) -> dict[str, list[float]]:
    from ncclient import manager

    with manager.connect(
        host="127.0.0.1",
        port=agent.port,
        username=USER,
        password=PASSWORD,
        hostkey_verify=False,
        allow_agent=False,
        look_for_keys=False,
    ) as m:
        m.get_config(source="running")
        get = timed(lambda i: m.get_config(source="running"), n)

        def edit_commit(i: int) -> None:
            m.edit_config(
                target="candidate", config=f'<config xmlns="{NC}">{graph(10_000 + i)}</config>'
            )
            m.commit()

        edit = timed(edit_commit, n)
    return {"get-config": get, "edit-config+commit": edit}


def rss(agent: LocalAgent, graphs: int) -> tuple[int, int, float]:
    idle = agent.rss_kib()
    with NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD) as c:
        t0 = time.perf_counter()
        body = "".join(
            chain_graph(f"g{i}", THREE_NF, lan=f"lan{i}", wan=f"wan{i}") for i in range(graphs)
        )
        c.edit_config(graphs_config(body))
        c.commit()
        elapsed = time.perf_counter() - t0
    time.sleep(0.2)
    return idle, agent.rss_kib(), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="samples per blocking measurement")
    parser.add_argument("--ncclient-n", type=int, default=40, help="samples per ncclient one")
    args = parser.parse_args()

    with LocalAgent(dataplane="native") as agent:
        time.sleep(1.0)  # past start-up: kernel probe, reconciliation, monitor thread
        idle_native = agent.rss_kib()
    with LocalAgent() as agent:
        time.sleep(0.3)
        idle, with_graphs, load_s = rss(agent, 100)
    with LocalAgent() as agent:
        blocking = bench_blocking(agent, args.n)
        nc = bench_ncclient(agent, args.ncclient_n)

    print("nnfv-agent RPC latency over SSH on 127.0.0.1 (3-NF graph)")
    print(" blocking client (no poll loop):")
    for name, samples in blocking.items():
        report(name, samples)
    print(" ncclient (100 ms poll tick):")
    for name, samples in nc.items():
        report(name, samples)
    print(
        " ncclient / blocking p50 ratio: "
        + ", ".join(f"{k} {pct(nc[k], 0.5) / pct(blocking[k], 0.5):.1f}x" for k in blocking)
    )
    print("memory")
    print(f"  idle RSS, native data plane       {idle_native / 1024:6.1f} MiB   (goal <= 45)")
    print(f"  idle RSS, config-only agent       {idle / 1024:6.1f} MiB")
    print(
        f"  RSS with 100 graphs (300 NFs)     {with_graphs / 1024:6.1f} MiB   "
        f"(loaded and committed in {load_s * 1000:.0f} ms)"
    )
    goals = [
        ("get-config p50 <= 2 ms", pct(blocking["get-config"], 0.5) <= 2),
        ("edit-config+commit p50 <= 15 ms", pct(blocking["edit-config+commit"], 0.5) <= 15),
        ("idle RSS <= 45 MiB", idle_native / 1024 <= 45),
    ]
    print("goals: " + "; ".join(f"{g}: {'met' if ok else 'MISSED'}" for g, ok in goals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
