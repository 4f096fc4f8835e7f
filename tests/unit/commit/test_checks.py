from __future__ import annotations

import pytest

from nnfv_agent.commit.checks import InterfaceOwnership
from nnfv_agent.commit.pipeline import CommitPipeline, PlanRefused
from nnfv_agent.datastore.schema import Schema

SG = "urn:nnfv:yang:nnfv-service-graph"


def graph(name: str, iface: str, description: str = "") -> str:
    desc = f"<description>{description}</description>" if description else ""
    return (
        f"<graph><name>{name}</name>{desc}<endpoint><id>e</id><interface>{iface}</interface>"
        "</endpoint></graph>"
    )


class Rig:
    def __init__(self) -> None:
        self.schema = Schema()
        self.owners = InterfaceOwnership()
        self.pipeline = CommitPipeline()
        self.pipeline.register(self.owners)
        self.running = None

    def commit(self, *graphs: str) -> None:
        new = self.schema.parse(f'<graphs xmlns="{SG}">{"".join(graphs)}</graphs>', validate=True)
        plan = self.pipeline.plan(self.running, new)
        self.pipeline.adopt(plan)
        self.running = new


@pytest.fixture
def rig() -> Rig:
    return Rig()


def test_interface_used_by_another_graph_is_refused_naming_both_graphs(rig):
    rig.commit(graph("a", "eth1"))
    with pytest.raises(PlanRefused) as err:
        rig.commit(graph("a", "eth1"), graph("b", "eth1"))
    assert "graph b, endpoint e: interface eth1 is already used by graph a, endpoint e" in str(
        err.value
    )
    assert err.value.ly_path == (
        "/nnfv-service-graph:graphs/graph[name='b']/endpoint[id='e']/interface"
    )
    assert err.value.app_tag == "interface-in-use"


def test_interface_freed_by_one_graph_can_be_taken_by_another_in_the_same_commit(rig):
    rig.commit(graph("a", "eth1"))
    rig.commit(graph("a", "eth2"), graph("b", "eth1"))
    assert rig.owners.owners == {"eth2": ("a", "e"), "eth1": ("b", "e")}


def test_refused_commit_leaves_the_index_as_it_was(rig):
    rig.commit(graph("a", "eth1"))
    with pytest.raises(PlanRefused):
        rig.commit(graph("a", "eth1"), graph("b", "eth1"))
    assert rig.owners.owners == {"eth1": ("a", "e")}


def test_index_loaded_at_start_up_sees_every_graph(rig):
    tree = rig.schema.parse(
        f'<graphs xmlns="{SG}">{graph("a", "eth1")}{graph("b", "eth2")}</graphs>', validate=True
    )
    rig.owners.load(tree)
    assert rig.owners.owners == {"eth1": ("a", "e"), "eth2": ("b", "e")}
