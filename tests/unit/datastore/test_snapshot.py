"""Datastore content as per-graph fragments: the same XML as libyang's, cheaper to change."""

from __future__ import annotations

import gc
import weakref

import pytest
from lxml import etree

from nnfv_agent.commit.pipeline import CommitPipeline, Operation, Plan
from nnfv_agent.datastore.schema import Schema
from nnfv_agent.datastore.snapshot import Snapshot, print_tree
from nnfv_agent.datastore.store import Datastores
from nnfv_agent.errors import AgentErrors

SG = "urn:nnfv:yang:nnfv-service-graph"
NT = "urn:nnfv:yang:nnfv-nnf-template"
NODE = "urn:nnfv:yang:nnfv-node"
NC = "urn:ietf:params:xml:ns:netconf:base:1.0"


def graph(name: str, desc: str = "", iface: str | None = None) -> str:
    body = f"<description>{desc}</description>" if desc else ""
    if iface:
        body += f"<endpoint><id>e</id><interface>{iface}</interface></endpoint>"
    return f"<graph><name>{name}</name>{body}</graph>"


def config(*graphs: str, extra: str = "", op: str = "") -> etree._Element:
    attr = f' xmlns:nc="{NC}" nc:operation="{op}"' if op else ""
    body = f'<graphs xmlns="{SG}"{attr}>{"".join(graphs)}</graphs>{extra}'
    return etree.fromstring(f'<config xmlns="{NC}">{body}</config>')


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema()


class Recorder:
    def __init__(self) -> None:
        self.plans: list[Plan] = []

    def plan(self, plan: Plan) -> list[Operation]:
        self.plans.append(plan)
        return []

    def adopt(self, plan: Plan) -> None:
        pass


@pytest.fixture
def rig(schema, tmp_path):
    recorder = Recorder()
    pipeline = CommitPipeline()
    pipeline.register(recorder)
    return Datastores(schema, tmp_path, pipeline), recorder


def test_fragments_join_to_what_libyang_prints_for_the_whole_tree(schema):
    xml = (
        f'<graphs xmlns="{SG}">{graph("a", "x &amp; y")}{graph("b")}</graphs>'
        f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface></node>'
    )
    tree = schema.parse(xml, validate=True)
    printed = print_tree(tree)
    snapshot = Snapshot.from_tree(schema, tree)
    assert sorted(snapshot.graphs) == ["a", "b"]
    assert set(snapshot.tops) == {"node"}
    assert sorted(etree.fromstring(f"<d>{snapshot.xml}</d>").itertext()) == sorted(
        etree.fromstring(f"<d>{printed}</d>").itertext()
    )
    assert "x &amp; y" in snapshot.graphs["a"]


def test_edit_of_named_graphs_keeps_the_other_fragments_as_they_were(rig):
    stores, _ = rig
    stores.edit("candidate", config(graph("a"), graph("b")), session_id=1)
    before = stores.snapshot("candidate")
    stores.edit("candidate", config(graph("b", "new")), session_id=1)
    after = stores.snapshot("candidate")
    assert after.graphs["a"] is before.graphs["a"]
    assert "new" in after.graphs["b"]
    assert after.touched == {"a", "b"}


def test_commit_of_one_changed_graph_plans_with_that_graph_only(rig):
    stores, recorder = rig
    stores.edit("candidate", config(*(graph(f"g{i}") for i in range(50))), session_id=1)
    stores.commit(session_id=1)
    stores.edit("candidate", config(graph("g7", "changed")), session_id=1)
    stores.commit(session_id=1)
    plan = recorder.plans[-1]
    assert {c.path for c in plan.changes} == {
        "/nnfv-service-graph:graphs/graph[name='g7']/description"
    }
    names = [str(n.value()) for n in plan.new.find_all("/nnfv-service-graph:graphs/graph/name")]
    assert names == ["g7"]
    assert len(stores.snapshot("running").graphs) == 50


def test_commit_of_an_invalid_graph_reports_it_and_leaves_running(rig, tmp_path):
    stores, _ = rig
    stores.edit("candidate", config(graph("a")), session_id=1)
    stores.commit(session_id=1)
    bad = "<graph><name>a</name><endpoint><id>e</id></endpoint></graph>"
    stores.edit("candidate", config(bad), session_id=1)
    with pytest.raises(AgentErrors) as err:
        stores.commit(session_id=1)
    assert "Mandatory choice" in str(err.value)
    assert "<endpoint>" not in stores.xml("running")


def test_running_changed_under_a_dirty_candidate_is_reverted_by_its_commit(rig):
    stores, _ = rig
    stores.edit("candidate", config(graph("a", "one"), graph("b")), session_id=1)
    stores.commit(session_id=1)
    stores.edit("candidate", config(graph("b", "cand")), session_id=1)
    stores.edit("running", config(graph("a", "two")), session_id=2)
    stores.commit(session_id=1)
    running = stores.xml("running")
    # The whole candidate becomes running (RFC 6241 8.3): a's change made on running is gone.
    assert "one" in running and "two" not in running and "cand" in running


def test_template_change_takes_the_whole_content_path(rig):
    stores, recorder = rig
    stores.edit("candidate", config(graph("a"), graph("b")), session_id=1)
    stores.commit(session_id=1)
    node = f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface></node>'
    stores.edit("candidate", config(extra=node), session_id=1)
    stores.commit(session_id=1)
    plan = recorder.plans[-1]
    names = {str(n.value()) for n in plan.new.find_all("/nnfv-service-graph:graphs/graph/name")}
    assert names == {"a", "b"}


def test_replace_of_the_whole_list_is_edited_on_the_whole_content(rig):
    stores, _ = rig
    stores.edit("candidate", config(graph("a"), graph("b")), session_id=1)
    stores.edit("candidate", config(graph("c"), op="replace"), session_id=1)
    assert sorted(stores.snapshot("candidate").graphs) == ["c"]
    assert stores.snapshot("candidate").touched is None


def test_same_content_is_equality_of_the_joined_xml(schema):
    a = Snapshot(schema, {"g1": "<graph>1</graph>", "g2": "<graph>2</graph>"}, {"t": "<t/>"})
    same = Snapshot(schema, {"g1": "<graph>1</graph>", "g2": "<graph>2</graph>"}, {"t": "<t/>"})
    reordered = Snapshot(
        schema, {"g2": "<graph>2</graph>", "g1": "<graph>1</graph>"}, {"t": "<t/>"}
    )
    changed = a.replaced({"g2": "<graph>two</graph>"}, a.tops)
    for other in (same, reordered, changed, a.replaced({"g2": None}, a.tops)):
        assert a.same_content(other) == (a.xml == other.xml)
    assert a.same_content(same) and not a.same_content(changed)


def test_snapshot_dying_in_a_cycle_with_its_schema_frees_its_tree_while_the_schema_lives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The cycle collector calls finalizers in no fixed order; a tree freed after cffi has
    # destroyed its context reads freed memory (a rare segfault of the test suite).
    from nnfv_agent.datastore import snapshot as snapshot_module

    events: list[str] = []
    free_tree = snapshot_module._free_tree

    def recording_free(schema: Schema, tree: object) -> None:
        events.append("tree freed")
        free_tree(schema, tree)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshot_module, "_free_tree", recording_free)
    own_schema = Schema()
    snap = Snapshot(own_schema, graphs={"g1": graph("g1")}, valid=False)
    assert snap.tree is not None and snap.tops_tree is None
    # The schema is the context's only owner: while it is reachable, so is the context.
    schema_gone = weakref.ref(own_schema, lambda _ref: events.append("schema gone"))
    snap.cycle = snap  # type: ignore[attr-defined]
    del snap, own_schema
    gc.collect()
    gc.collect()

    assert schema_gone() is None
    assert events == ["tree freed", "schema gone"]
