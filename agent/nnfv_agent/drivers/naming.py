"""Deterministic names for kernel objects, each carrying the node id of the agent that owns it.

Several agents can share a namespace (the simulated fleet, tests, two agents on one box), so
every object an agent creates says whose it is, and clean-up only ever touches its own:

- network namespaces ``nnfv-<node>-<digest>``; cgroups live under ``nnfv/<node>/``;
- one nftables netdev table per node, ``nnfv_<node>_lsi``, holding every graph's LSI: base chains
  ``g<digest>_<device>`` and named counters ``g<digest>_r<digest>``, all led by the graph's tag
  (per-graph tables ``nnfv_<node>_<digest>`` of earlier versions are recognised, to remove them);
- links (at most 15 characters): a two-letter kind, a 5-hex-digit tag of the node id, and an
  8-hex-digit digest of what the link is for (``nv``: NF port, ``nx``: vxlan, ``ni``/``nj``:
  internal endpoint and its bridge port, ``nb``: internal bridge);
- kernel-probe namespaces ``nnfv-probe-<node>-<random>``.
"""

from __future__ import annotations

import hashlib
import os
import re

IFNAMSIZ = 15
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")
LINK_KINDS = ("nv", "nx", "ni", "nj", "nb")
_NF_NETNS_REST = re.compile(r"^(?:[0-9a-f]{10}|s[0-9a-f]{9})$")
_TABLE_REST = re.compile(r"^[0-9a-f]{12}$")
_LSI_TAG = re.compile(r"^g[0-9a-f]{12}_")
# What nft 1.0.6 takes as an unquoted chain name (it refuses quoted ones).
_NFT_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.]+$")
_LINK_REST = re.compile(r"^[0-9a-f]{8}$")
_PROBE_REST = re.compile(r"^[0-9a-f]{8}$")


def digest(*parts: str, length: int = 10) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:length]


def valid_ifname(name: str) -> bool:
    return bool(_IFNAME.match(name)) and name not in (".", "..")


class Names:
    def __init__(self, node_id: str) -> None:
        self.node_id = node_id
        self.tag = digest(node_id, length=5)  # the node id, in link names

    # ---- namespaces and cgroups -----------------------------------------------------------

    @property
    def netns_prefix(self) -> str:
        return f"nnfv-{self.node_id}-"

    def nf_netns(self, graph: str, nf: str) -> str:
        return f"{self.netns_prefix}{digest(graph, nf)}"

    def shared_netns(self, template: str) -> str:
        return f"{self.netns_prefix}s{digest('shared', template, length=9)}"

    def our_netns(self, names: list[str]) -> list[str]:
        """Those of `names` that are NF namespaces (or cgroups) of this node, and only those."""
        prefix = self.netns_prefix
        return [
            n
            for n in names
            if n.startswith(prefix) and _NF_NETNS_REST.match(n.removeprefix(prefix))
        ]

    def cgroup(self, netns: str) -> str:
        return netns.removeprefix(self.netns_prefix)

    @property
    def probe_prefix(self) -> str:
        return f"nnfv-probe-{self.node_id}-"

    def probe_netns(self) -> str:
        """A fresh name for a throwaway kernel-probe namespace of this node."""
        return self.probe_prefix + os.urandom(4).hex()

    def our_probe_netns(self, names: list[str]) -> list[str]:
        prefix = self.probe_prefix
        return [
            n for n in names if n.startswith(prefix) and _PROBE_REST.match(n.removeprefix(prefix))
        ]

    # ---- links ------------------------------------------------------------------------------

    def _link(self, kind: str, *parts: str) -> str:
        return kind + self.tag + digest(*parts, length=8)

    def lsi_port(self, graph: str, owner: str, port: str) -> str:
        """The LSI-side end of an NF port's veth pair."""
        return self._link("nv", graph, owner, port)

    def nf_port_mac(self, graph: str, nf: str, port: str) -> str:
        """A locally administered unicast MAC, the same every time the port is created."""
        raw = digest(self.node_id, graph, nf, port, length=10)
        return "02:" + ":".join(raw[i : i + 2] for i in range(0, 10, 2))

    def vxlan(self, graph: str, endpoint: str) -> str:
        return self._link("nx", graph, endpoint)

    def internal_port(self, graph: str, group: str) -> str:
        return self._link("ni", graph, group)

    def internal_peer(self, graph: str, group: str) -> str:
        return self._link("nj", graph, group)

    def internal_bridge(self, group: str) -> str:
        return self._link("nb", group)

    def is_our_link(self, name: str) -> bool:
        return (
            len(name) == IFNAMSIZ
            and name[:2] in LINK_KINDS
            and name[2:7] == self.tag
            and bool(_LINK_REST.match(name[7:]))
        )

    # ---- nftables ---------------------------------------------------------------------------

    @property
    def lsi_table(self) -> str:
        """The one netdev table of this node: nft fills its cache table by table before every
        change, so one table per node keeps a one-graph change flat in the number of graphs."""
        return f"nnfv_{self.node_id}_lsi"

    @property
    def legacy_table_prefix(self) -> str:
        return f"nnfv_{self.node_id}_"

    def is_our_table(self, name: str) -> bool:
        """This node's LSI table, or a per-graph table an earlier version of the agent left."""
        prefix = self.legacy_table_prefix
        return name == self.lsi_table or (
            name.startswith(prefix) and bool(_TABLE_REST.match(name.removeprefix(prefix)))
        )

    @staticmethod
    def lsi_tag(graph: str) -> str:
        """What leads the name of every object of one graph's LSI in the node table."""
        return "g" + digest(graph, length=12)

    @staticmethod
    def tag_of(name: str) -> str | None:
        """The graph tag an object of the node table belongs to, if it is an LSI object."""
        return name[:13] if _LSI_TAG.match(name) else None

    @classmethod
    def lsi_chain(cls, graph: str, device: str) -> str:
        """The ingress base chain of one LSI port (device) of a graph."""
        name = device if _NFT_IDENTIFIER.match(device) else "d" + digest(device, length=8)
        return f"{cls.lsi_tag(graph)}_{name}"

    @classmethod
    def counter(cls, graph: str, rule: str) -> str:
        """The named counter of one flow rule; it outlives the rebuilds of the rule's chain."""
        return f"{cls.lsi_tag(graph)}_r{digest(rule, length=12)}"

    @staticmethod
    def nf_ifname(port: str, index: int, graph: str | None = None) -> str:
        """The interface of an NF port inside the NF's namespace (contract in the NNF guide)."""
        if graph is None:
            return port if valid_ifname(port) else f"p{index}"
        suffix = "-" + digest(graph, length=4)
        base = port if valid_ifname(port) else f"p{index}"
        return base[: IFNAMSIZ - len(suffix)] + suffix
