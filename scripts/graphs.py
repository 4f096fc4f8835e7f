"""Generators of example service graphs, shared by the demo and the benchmarks."""

from __future__ import annotations

SG = "urn:nnfv:yang:nnfv-service-graph"


def nf_xml(
    nf_id: str,
    ftype: str,
    params: dict[str, str] | None = None,
    ports: tuple[str, ...] = ("in", "out"),
) -> str:
    body = "".join(f"<port><name>{p}</name></port>" for p in ports)
    body += "".join(
        f"<config-parameter><name>{k}</name><value>{v}</value></config-parameter>"
        for k, v in (params or {}).items()
    )
    return f"<nf><id>{nf_id}</id><functional-type>{ftype}</functional-type>{body}</nf>"


def chain_graph(name: str, nfs: list[tuple], *, lan: str, wan: str, description: str = "") -> str:
    """A graph lan -> nf1 -> ... -> nfN -> wan and back.

    nfs are (id, functional-type) or (id, functional-type, {parameter: value}).
    """
    parts = [f"<graph><name>{name}</name>"]
    if description:
        parts.append(f"<description>{description}</description>")
    for nf in nfs:
        parts.append(nf_xml(nf[0], nf[1], nf[2] if len(nf) > 2 else None))
    parts.append(f"<endpoint><id>lan</id><interface>{lan}</interface></endpoint>")
    parts.append(f"<endpoint><id>wan</id><interface>{wan}</interface></endpoint>")
    hops = (
        ["endpoint:lan"]
        + [p for nf in nfs for p in (f"nf:{nf[0]}:in", f"nf:{nf[0]}:out")]
        + ["endpoint:wan"]
    )
    for i in range(0, len(hops), 2):
        a, b = hops[i], hops[i + 1]
        parts.append(_rule(f"fwd-{i // 2}", a, b))
        parts.append(_rule(f"rev-{i // 2}", b, a))
    parts.append("</graph>")
    return "".join(parts)


def _rule(rule_id: str, port_in: str, output: str) -> str:
    return rule(rule_id, 100, port_in, [output])


def rule(
    rule_id: str,
    priority: int,
    port_in: str,
    outputs: list[str] | None = None,
    match: str = "",
    drop: bool = False,
) -> str:
    actions = "<drop/>" if drop else "".join(f"<output>{o}</output>" for o in outputs or [])
    return (
        f"<flow-rule><id>{rule_id}</id><priority>{priority}</priority>"
        f"<match><port-in>{port_in}</port-in>{match}</match>"
        f"<actions>{actions}</actions></flow-rule>"
    )


def endpoint(ep_id: str, interface: str) -> str:
    return f"<endpoint><id>{ep_id}</id><interface>{interface}</interface></endpoint>"


# A LAN -> firewall -> NAT -> WAN chain for a simulated CPE (scripts/simfleet.py addresses).
def fw_nat_graph(
    name: str = "fw-nat", *, allow_tcp: str = "", lan: str = "lan0", wan: str = "wan0"
) -> str:
    fw = {"allow-tcp-ports": allow_tcp} if allow_tcp else {}
    nat = {"in-address": "192.0.2.1/24", "out-address": "198.51.100.2/24"}
    return chain_graph(name, [("fw", "firewall", fw), ("nat", "nat", nat)], lan=lan, wan=wan)


def graphs_config(*graphs: str) -> str:
    return f'<graphs xmlns="{SG}">{"".join(graphs)}</graphs>'


THREE_NF = [("fw", "firewall"), ("nat", "nat"), ("br", "bridge")]
