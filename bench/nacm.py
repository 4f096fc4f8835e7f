"""The cost of NACM rule evaluation on get-config, NACM on against NACM off, in one run.

A config-only agent holds 1 or 100 three-NF graphs, half of them named for tenant A. Three
users read running with get-config over SSH (a blocking client that does not poll):
- oss (group admin): the shipped permit-all rule; the reply is sent as it is,
- inventory (group monitor): the shipped read-all rule; also sent as it is,
- alice (group tenant-a): one permit rule per graph of hers, then a deny of every graph; the
  reply is parsed and pruned to her graphs.
"off" sets /nacm/enable-nacm to false (same agent, same graphs); off and on rounds alternate.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))
sys.modules.setdefault("invoke", None)

from rpc_latency import pct, timed  # noqa: E402

from graphs import THREE_NF, chain_graph, graphs_config  # noqa: E402
from local_agent import PASSWORD, USER, LocalAgent  # noqa: E402
from nnfv_agent.config import hash_password  # noqa: E402
from nnfv_agent.netconf.access import default_nacm_xml  # noqa: E402
from nnfv_agent.netconf.client import NetconfClient  # noqa: E402

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
SG = "urn:nnfv:yang:nnfv-service-graph"
ACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
USERS = {"inventory": "monitor", "alice": "tenant-a"}


def names(count: int) -> list[str]:
    return [f"{'tenantA' if i % 2 == 0 else 'tenantB'}-g{i}" for i in range(count)]


def nacm(enabled: bool, tenant_graphs: list[str]) -> str:
    own = "".join(
        f"<rule><name>graph-{g}</name><module-name>nnfv-service-graph</module-name>"
        f"<path xmlns:sg=\"{SG}\">/sg:graphs/sg:graph[sg:name='{g}']</path>"
        "<access-operations>*</access-operations><action>permit</action></rule>"
        for g in tenant_graphs
    )
    tenant = (
        f"<rule-list><name>tenant-a</name><group>tenant-a</group>{own}"
        "<rule><name>no-other-graph</name><module-name>nnfv-service-graph</module-name>"
        f'<path xmlns:sg="{SG}">/sg:graphs/sg:graph</path>'
        "<access-operations>*</access-operations><action>deny</action></rule></rule-list>"
    )
    body = default_nacm_xml().replace("</nacm>", tenant + "</nacm>")
    # Replace, not merge: the rules of a rule-list are ordered by the user, so a merge would
    # append a new graph's permit after the deny of the previous round (and never match).
    body = body.replace(
        f'<nacm xmlns="{ACM}">', f'<nacm xmlns="{ACM}" xmlns:nc="{NC}" nc:operation="replace">', 1
    )
    flag = "true" if enabled else "false"
    body = body.replace("<enable-nacm>true</enable-nacm>", f"<enable-nacm>{flag}</enable-nacm>")
    return body


def run(agent: LocalAgent, count: int, n: int) -> dict[tuple[str, str], list[float]]:
    graph_names = names(count)
    mine = [g for g in graph_names if g.startswith("tenantA")]
    with NetconfClient("127.0.0.1", agent.port, USER, password=PASSWORD) as admin:
        admin.rpc(
            f"<edit-config><target><running/></target><config>"
            f'<graphs xmlns="{SG}" xmlns:nc="{NC}" nc:operation="remove"/></config></edit-config>'
        )
        body = [  # an interface belongs to one graph only: each graph gets its own pair
            chain_graph(g, THREE_NF, lan=f"lan{i}", wan=f"wan{i}", description=g)
            for i, g in enumerate(graph_names)
        ]
        admin.edit_config(graphs_config(*body), target="running")
        clients = {
            "oss": admin,
            **{
                u: NetconfClient("127.0.0.1", agent.port, u, password=PASSWORD).__enter__()
                for u in USERS
            },
        }
        samples: dict[tuple[str, str], list[float]] = {}
        try:
            for _round in range(4):  # off and on alternate, so drift affects both alike
                for state in ("off", "on"):
                    admin.edit_config(nacm(state == "on", mine), target="running")
                    for user, client in clients.items():
                        for _ in range(5):
                            client.get_config()
                        got = timed(lambda i, c=client: c.get_config(), n // 4)
                        samples.setdefault((user, state), []).extend(got)
            seen = clients["alice"].get_config()
            assert all(g in seen for g in mine) and not any(
                g in seen for g in graph_names if g not in mine
            ), "tenant A sees other graphs: the benchmark measures the wrong thing"
        finally:
            for user in USERS:
                clients[user].close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="get-config calls per user and state")
    args = parser.parse_args()
    agent = LocalAgent()
    extra = "".join(
        f'\n[[users]]\nname = "{u}"\npassword_hash = "{hash_password(PASSWORD)}"\n'
        f'groups = ["{g}"]\n'
        for u, g in USERS.items()
    )
    agent.config.write_text(agent.config.read_text() + extra)
    agent.start()
    try:
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1 and 5 min)")
        for count in (1, 100):
            samples = run(agent, count, args.n)
            print(f"get-config p50 at {count} graph(s), NACM off -> on:")
            for user in ("oss", *USERS):
                off, on = samples[(user, "off")], samples[(user, "on")]
                p_off, p_on = pct(off, 0.5), pct(on, 0.5)
                print(
                    f"  {user:<10} ({'admin' if user == 'oss' else USERS[user]:<8}) "
                    f"off p50={p_off:7.2f} ms  on p50={p_on:7.2f} ms  "
                    f"({(p_on - p_off) / p_off * 100:+5.1f} %)  n={len(on)}"
                )
        print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1 and 5 min)")
    finally:
        agent.stop()


if __name__ == "__main__":
    main()
