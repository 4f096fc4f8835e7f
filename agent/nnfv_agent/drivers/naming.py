"""Deterministic, collision-checked names for kernel objects.

Kernel interface names have at most 15 characters and must be unique per namespace; network
namespace names and cgroups are global to the machine, so they carry the node id, which keeps
several simulated CPEs on one host apart.
"""

from __future__ import annotations

import hashlib
import re

IFNAMSIZ = 15
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")


def digest(*parts: str, length: int = 10) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:length]


def valid_ifname(name: str) -> bool:
    return bool(_IFNAME.match(name)) and name not in (".", "..")


class Names:
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id

    def nf_netns(self, graph: str, nf: str) -> str:
        return f"nnfv-{self.node_id}-{digest(graph, nf)}"

    def shared_netns(self, template: str) -> str:
        return f"nnfv-{self.node_id}-s{digest('shared', template, length=9)}"

    def cgroup(self, netns: str) -> str:
        return netns.removeprefix(f"nnfv-{self.node_id}-")

    @staticmethod
    def lsi_port(graph: str, owner: str, port: str) -> str:
        """The LSI-side end of an NF port's veth pair."""
        return "nv" + digest(graph, owner, port)

    def nf_port_mac(self, graph: str, nf: str, port: str) -> str:
        """A locally administered unicast MAC, the same every time the port is created."""
        raw = digest(self.node_id, graph, nf, port, length=10)
        return "02:" + ":".join(raw[i : i + 2] for i in range(0, 10, 2))

    @staticmethod
    def vxlan(graph: str, endpoint: str) -> str:
        return "nx" + digest(graph, endpoint)

    @staticmethod
    def internal_port(graph: str, group: str) -> str:
        return "ni" + digest(graph, group)

    @staticmethod
    def internal_peer(graph: str, group: str) -> str:
        return "nj" + digest(graph, group)

    def internal_bridge(self, group: str) -> str:
        return "nb" + digest(self.node_id, group)

    @staticmethod
    def table(graph: str) -> str:
        return "nnfv_" + digest(graph, length=12)

    @staticmethod
    def counter(rule: str) -> str:
        return "r_" + digest(rule, length=12)

    @staticmethod
    def nf_ifname(port: str, index: int, graph: str | None = None) -> str:
        """The interface of an NF port inside the NF's namespace (contract in the NNF guide)."""
        if graph is None:
            return port if valid_ifname(port) else f"p{index}"
        suffix = "-" + digest(graph, length=4)
        base = port if valid_ifname(port) else f"p{index}"
        return base[: IFNAMSIZ - len(suffix)] + suffix
