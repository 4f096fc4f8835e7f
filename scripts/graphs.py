"""Generators of example service graphs, shared by the demo and the benchmarks."""

from __future__ import annotations

SG = "urn:nnfv:yang:nnfv-service-graph"


def chain_graph(name: str, nfs: list[tuple[str, str]], *, lan: str, wan: str,
                description: str = "") -> str:
    """A graph lan -> nf1 -> ... -> nfN -> wan and back; nfs are (id, functional-type)."""
    parts = [f"<graph><name>{name}</name>"]
    if description:
        parts.append(f"<description>{description}</description>")
    for nf_id, ftype in nfs:
        parts.append(f"<nf><id>{nf_id}</id><functional-type>{ftype}</functional-type>"
                     "<port><name>in</name></port><port><name>out</name></port></nf>")
    parts.append(f"<endpoint><id>lan</id><interface>{lan}</interface></endpoint>")
    parts.append(f"<endpoint><id>wan</id><interface>{wan}</interface></endpoint>")
    hops = ["endpoint:lan"] + [p for nf_id, _ in nfs
                               for p in (f"nf:{nf_id}:in", f"nf:{nf_id}:out")] + ["endpoint:wan"]
    for i in range(0, len(hops), 2):
        a, b = hops[i], hops[i + 1]
        parts.append(_rule(f"fwd-{i // 2}", a, b))
        parts.append(_rule(f"rev-{i // 2}", b, a))
    parts.append("</graph>")
    return "".join(parts)


def _rule(rule_id: str, port_in: str, output: str) -> str:
    return (f"<flow-rule><id>{rule_id}</id><priority>100</priority>"
            f"<match><port-in>{port_in}</port-in></match>"
            f"<actions><output>{output}</output></actions></flow-rule>")


def graphs_config(*graphs: str) -> str:
    return f'<graphs xmlns="{SG}">{"".join(graphs)}</graphs>'


THREE_NF = [("fw", "firewall"), ("nat", "nat"), ("br", "bridge")]
