"""Read one graph out of a libyang config tree by key, without touching the rest of it."""

from __future__ import annotations

import libyang

from ..model.graph import Graph, graph_from_xml
from .pipeline import Plan
from .registry import GRAPH


def _literal(value: str) -> str:
    return f"'{value}'" if "'" not in value else f'"{value}"'


def graph_in(tree: libyang.DNode | None, name: str) -> Graph | None:
    if tree is None:
        return None
    node = tree.find_path(f"{GRAPH}[name={_literal(name)}]")
    if node is None:
        return None
    return graph_from_xml(node.print_mem("xml", with_siblings=False, pretty=False))


def graph_names(tree: libyang.DNode | None) -> list[str]:
    if tree is None:
        return []
    return [str(n.value()) for n in tree.find_all(f"{GRAPH}/name")]


def graphs_in(tree: libyang.DNode | None) -> dict[str, Graph]:
    """Every graph: for start-up and for changes that affect every graph."""
    return {name: g for name in graph_names(tree) if (g := graph_in(tree, name)) is not None}


def affected_graphs(plan: Plan) -> dict[str, tuple[Graph | None, Graph | None]]:
    """Old and new model of each graph the plan's changes touch, read once per plan."""
    cached = plan.context.get("graphs")
    if cached is None:
        names = set(plan.affected.graphs)
        if plan.affected.all_graphs:
            names |= set(graph_names(plan.old)) | set(graph_names(plan.new))
        cached = {n: (graph_in(plan.old, n), graph_in(plan.new, n)) for n in sorted(names)}
        plan.context["graphs"] = cached
    return cached
