"""Reading graphs out of libyang config trees by key: one graph without the rest, every
graph, and the old and new model of each graph a plan touches, read once per plan."""

from __future__ import annotations

import libyang
import pytest

from nnfv_agent.commit.pipeline import Plan
from nnfv_agent.commit.registry import Affected
from nnfv_agent.commit.views import _literal, affected_graphs, graph_in, graph_names, graphs_in
from nnfv_agent.datastore.schema import Schema
from nnfv_agent.model.graph import Graph

SG = "urn:nnfv:yang:nnfv-service-graph"


def graph(name: str, nf: str = "fw", admin: str = "enabled") -> str:
    return (
        f"<graph><name>{name}</name><admin-state>{admin}</admin-state>"
        f"<nf><id>{nf}</id><template>t</template><port><name>in</name></port></nf>"
        f"<endpoint><id>lan</id><internal-group>{name}-grp</internal-group></endpoint>"
        "<flow-rule><id>r</id><priority>10</priority><match><port-in>endpoint:lan</port-in>"
        f"</match><actions><output>nf:{nf}:in</output></actions></flow-rule></graph>"
    )


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema()


def tree(schema: Schema, *graphs: str) -> libyang.DNode | None:
    if not graphs:
        return None
    return schema.parse(f'<graphs xmlns="{SG}">{"".join(graphs)}</graphs>', validate=True)


def plan(old: libyang.DNode | None, new: libyang.DNode | None, affected: Affected) -> Plan:
    return Plan(changes=[], operations=[], affected=affected, old=old, new=new)


def test_one_graph_is_read_by_its_name_alone(schema: Schema) -> None:
    t = tree(schema, graph("a", nf="fw"), graph("b", nf="nat", admin="disabled"))
    a, b = graph_in(t, "a"), graph_in(t, "b")
    assert isinstance(a, Graph) and isinstance(b, Graph)
    assert (a.name, a.enabled, list(a.nfs)) == ("a", True, ["fw"])
    assert (b.name, b.enabled, list(b.nfs)) == ("b", False, ["nat"])
    assert a.endpoints["lan"].group == "a-grp"


def test_missing_graph_or_tree_reads_as_none(schema: Schema) -> None:
    assert graph_in(tree(schema, graph("a")), "nope") is None
    assert graph_in(None, "a") is None


def test_graph_names_are_listed_and_an_absent_tree_has_none(schema: Schema) -> None:
    assert sorted(graph_names(tree(schema, graph("b"), graph("a")))) == ["a", "b"]
    assert graph_names(None) == []


def test_graphs_in_reads_every_graph_by_name(schema: Schema) -> None:
    every = graphs_in(tree(schema, graph("a"), graph("b")))
    assert sorted(every) == ["a", "b"]
    assert all(g.name == name for name, g in every.items())
    assert graphs_in(None) == {}


def test_key_literal_uses_the_quote_the_value_does_not_contain() -> None:
    assert _literal("a") == "'a'"
    assert _literal("it's") == '"it\'s"'


def test_affected_graphs_gives_old_and_new_of_each_touched_graph_only(schema: Schema) -> None:
    old = tree(schema, graph("a", nf="fw"), graph("b"), graph("gone"))
    new = tree(schema, graph("a", nf="nat"), graph("b"), graph("fresh"))
    p = plan(old, new, Affected(graphs={"a", "gone", "fresh"}))
    found = affected_graphs(p)
    assert sorted(found) == ["a", "fresh", "gone"]
    before, after = found["a"]
    assert before is not None and after is not None
    assert (list(before.nfs), list(after.nfs)) == (["fw"], ["nat"])
    assert found["gone"][1] is None and found["gone"][0] is not None
    assert found["fresh"][0] is None and found["fresh"][1] is not None


def test_change_to_the_whole_container_affects_every_graph_old_and_new(schema: Schema) -> None:
    old = tree(schema, graph("a"), graph("b"))
    p = plan(old, None, Affected(all_graphs=True))
    found = affected_graphs(p)
    assert sorted(found) == ["a", "b"]
    assert all(new is None for _, new in found.values())


def test_affected_graphs_are_read_once_per_plan(schema: Schema) -> None:
    new = tree(schema, graph("a"))
    p = plan(None, new, Affected(graphs={"a"}))
    first = affected_graphs(p)
    p.affected.graphs.add("other")  # not read again: the plan's view is fixed
    assert affected_graphs(p) is first
    assert p.context["graphs"] is first


def test_plan_that_touches_no_graph_affects_none(schema: Schema) -> None:
    p = plan(tree(schema, graph("a")), tree(schema, graph("a")), Affected(templates={"t"}))
    assert affected_graphs(p) == {}
