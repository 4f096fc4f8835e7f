"""The resolved view of what is deployed: each NF of each graph as a `Member` of the instance
that runs it, and the `Deployment` of all graphs that the planner and the supervisor read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libyang

from ..drivers.compute.instance import NFInstance, Port
from ..model.graph import NF, Graph
from ..model.template import Template

TEMPLATES = "/nnfv-nnf-template:templates"


@dataclass(frozen=True)
class Member:
    """One NF of one graph, resolved to the instance that runs it."""

    graph: str
    nf: NF
    template: Template
    key: str
    ports: tuple[Port, ...]
    params: tuple[tuple[str, str], ...]


class Deployment:
    """The resolved view of a configuration: its graphs and their NF instances.

    `graphs` holds every configured graph, enabled or not; `members` only those of enabled
    graphs. `unresolved` names the NFs that could not be resolved at start-up (they are
    reported failed; everything else stays deployed).
    """

    def __init__(
        self,
        graphs: dict[str, Graph],
        members: dict[tuple[str, str], Member],
        unresolved: dict[tuple[str, str], str] | None = None,
        by_key: dict[str, tuple[Member, ...]] | None = None,
    ) -> None:
        self.graphs = graphs
        self.members = members
        self.unresolved = unresolved or {}
        if by_key is None:
            by_key = {}
            for m in members.values():
                by_key[m.key] = (*by_key.get(m.key, ()), m)
        self.by_key = by_key

    def enabled(self, names: Iterable[str] | None = None) -> dict[str, Graph]:
        pick = (
            self.graphs if names is None else {n: self.graphs[n] for n in names if n in self.graphs}
        )
        return {n: g for n, g in pick.items() if g.enabled}

    def members_of(self, graph: str) -> list[Member]:
        g = self.graphs.get(graph)
        if g is None:
            return []
        return [m for nf in g.nfs if (m := self.members.get((graph, nf))) is not None]

    def instances(self, keys: Iterable[str] | None = None) -> dict[str, list[Member]]:
        """Members of each instance, sorted by graph and NF (a sharable one has several)."""
        wanted = (
            self.by_key if keys is None else {k: self.by_key[k] for k in keys if k in self.by_key}
        )
        return {k: sorted(ms, key=lambda m: (m.graph, m.nf.id)) for k, ms in sorted(wanted.items())}

    def replaced(
        self, graphs: dict[str, Graph | None], members: dict[tuple[str, str], Member]
    ) -> Deployment:
        """This deployment with some graphs replaced (None: removed); `members` are theirs."""
        all_graphs = dict(self.graphs)
        all_members = dict(self.members)
        by_key = dict(self.by_key)
        for name in graphs:
            for m in self.members_of(name):
                del all_members[(m.graph, m.nf.id)]
                rest = tuple(x for x in by_key[m.key] if x is not m)
                if rest:
                    by_key[m.key] = rest
                else:
                    del by_key[m.key]
            graph = graphs[name]
            if graph is None:
                all_graphs.pop(name, None)
            else:
                all_graphs[name] = graph
        for m in members.values():
            all_members[(m.graph, m.nf.id)] = m
            by_key[m.key] = (*by_key.get(m.key, ()), m)
        unresolved = {k: v for k, v in self.unresolved.items() if k[0] not in graphs}
        return Deployment(all_graphs, all_members, unresolved, by_key)

    def with_members(self, found: dict[tuple[str, str], Member]) -> Deployment:
        """This deployment with NFs that could not be resolved before now resolved."""
        members = {**self.members, **found}
        unresolved = {k: v for k, v in self.unresolved.items() if k not in found}
        return Deployment(self.graphs, members, unresolved)


def instance_of(members: list[Member], graph: str | None = None) -> NFInstance:
    """The NFInstance a driver call needs, seen from `graph` (default: the first member)."""
    lead = next((m for m in members if m.graph == graph), members[0])
    ports = tuple(p for m in members for p in m.ports) if lead.template.sharable else lead.ports
    return NFInstance(
        lead.key,
        lead.graph,
        lead.nf.id,
        lead.template,
        ports,
        lead.params,
        tuple(sorted({m.graph for m in members})),
    )


def subtree_xml(tree: libyang.DNode | None, path: str) -> str:
    if tree is None:
        return ""
    node = tree.find_path(path)
    if node is None:
        return ""
    # An implicit (default-only) container prints as nothing.
    return node.print_mem("xml", with_siblings=False, pretty=False) or ""
