"""Cross-graph rules that need an index rather than an XPath over every graph.

A `must` in YANG that compares each interface endpoint with every other graph's endpoints made
validation quadratic in the number of graphs. The same rule is kept here with an index of who
owns each interface, updated per commit from the affected graphs only. It runs in every
data-plane mode, config-only included.
"""

from __future__ import annotations

import libyang

from ..model.graph import Endpoint, Graph
from .pipeline import Operation, Plan, PlanRefused
from .registry import GRAPH
from .views import affected_graphs, graphs_in


def claims(ep: Endpoint) -> str | None:
    """What an endpoint holds exclusively: a whole interface, or one VLAN of it."""
    if ep.kind == "interface":
        return ep.interface
    if ep.kind == "vlan":
        return f"{ep.interface} vlan {ep.vlan_id}"
    return None


def _claims_of(graph: Graph | None) -> dict[str, str]:
    """claim -> endpoint id"""
    if graph is None:
        return {}
    return {c: ep.id for ep in graph.endpoints.values() if (c := claims(ep)) is not None}


class InterfaceOwnership:
    """Each CPE interface (or interface and VLAN) belongs to at most one graph."""

    def __init__(self) -> None:
        # claim -> (graph, endpoint), for the running configuration
        self.owners: dict[str, tuple[str, str]] = {}

    def load(self, tree: libyang.DNode | None) -> None:
        self.owners = {
            c: (g.name, ep) for g in graphs_in(tree).values() for c, ep in _claims_of(g).items()
        }

    def plan(self, plan: Plan) -> list[Operation]:
        graphs = affected_graphs(plan)
        if not graphs:
            return []
        owners = dict(self.owners)
        for name, (old, _new) in graphs.items():
            for claim in _claims_of(old):
                if owners.get(claim, ("",))[0] == name:
                    del owners[claim]
        for name, (_old, new) in sorted(graphs.items()):
            for claim, ep in sorted(_claims_of(new).items()):
                holder, held_by = owners.setdefault(claim, (name, ep))
                if holder != name:
                    kind = "vlan" if " vlan " in claim else "interface"
                    leaf = "vlan" if kind == "vlan" else "interface"
                    raise PlanRefused(
                        f"graph {name}, endpoint {ep}: {kind} {claim} is already used by "
                        f"graph {holder}, endpoint {held_by}",
                        path=f"{GRAPH}[name='{name}']/endpoint[id='{ep}']/{leaf}",
                        app_tag="interface-in-use",
                    )
        plan.context["interface-owners"] = owners
        return []

    def adopt(self, plan: Plan) -> None:
        owners = plan.context.get("interface-owners")
        if owners is not None:
            self.owners = owners
