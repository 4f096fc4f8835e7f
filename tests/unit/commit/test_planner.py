"""The planner, from typed changes to ordered operations, against recording fakes of the drivers.

No root, no kernel: a plan is built from two libyang trees and executed against fakes that
record every driver call, so each test states which operations a change costs.
"""

from __future__ import annotations

import pytest

from nnfv_agent.commit.pipeline import CommitPipeline, Plan, PlanFailed, PlanRefused
from nnfv_agent.commit.planner import GraphPlanner, touched_instances
from nnfv_agent.commit.resolver import Resolver
from nnfv_agent.datastore.schema import Schema
from nnfv_agent.drivers.naming import Names
from nnfv_agent.model.template import Parameter, Template

SG = "urn:nnfv:yang:nnfv-service-graph"
NODE = "urn:nnfv:yang:nnfv-node"


def template(name: str, ftype: str, *, sharable: bool = False, update: bool = False) -> Template:
    scripts = [("start", "start.sh"), ("stop", "stop.sh")]
    if update:
        scripts.append(("update", "update.sh"))
    return Template(
        name=name,
        functional_type=ftype,
        uri=f"file:///t/{name}.tgz",
        sha256="0" * 64,
        vnf_type="native",
        sharable=sharable,
        ports=("in", "out"),
        scripts=tuple(sorted(scripts)),
        dependencies=(),
        parameters=(Parameter("mode", "string", "strict", False),),
    )


TEMPLATES = {
    "fw": template("fw", "firewall", update=True),
    "nat": template("nat", "nat"),
    "br": template("br", "bridge", sharable=True, update=True),
}


class RecordingNetwork:
    """Records the network driver calls of the planner (NetworkDriver)."""

    def __init__(self, calls: list[tuple]) -> None:
        self.calls = calls

    def create_nf_port(self, graph, nf, port, netns, ifname):
        self.calls.append(("createPort", f"{graph}/{nf}:{port}"))

    def delete_nf_port(self, graph, nf, port):
        self.calls.append(("deletePort", f"{graph}/{nf}:{port}"))

    def settle_nf_ports(self, ports):
        self.calls.append(("settlePorts", len(ports)))

    def create_endpoint(self, graph, ep):
        self.calls.append(("createEndpoint", f"{graph}/{ep.id}"))

    def delete_endpoint(self, graph, ep, last=None):
        self.calls.append(("deleteEndpoint", f"{graph}/{ep.id}"))

    def delete_endpoints(self, endpoints):
        self.calls.append(("deleteEndpoints", tuple(f"{g}/{e.id}" for g, e, _ in endpoints)))

    def steering_batch(self, graphs):
        return ";".join(
            f"{name}:{'-' if g is None else ','.join(sorted(g.rules))}"
            for name, g in sorted(graphs.items())
        )

    def apply_steering(self, batch):
        self.calls.append(("steer", batch))


class RecordingCompute:
    """Records the compute driver calls (ComputeDriver); `fail` names calls that raise."""

    def __init__(self, calls: list[tuple]) -> None:
        self.calls = calls
        self.fail: set[tuple[str, str]] = set()

    def _record(self, op, inst, extra=None):
        who = f"{inst.graph}/{inst.nf}" if not inst.template.sharable else inst.template.name
        self.calls.append((op, who) if extra is None else (op, who, extra))
        if (op, who) in self.fail:
            raise RuntimeError(f"{op} {who} broke")

    def create(self, inst):
        self._record("createNF", inst)

    def start(self, inst):
        self._record("startNF", inst)

    def stop(self, inst):
        self._record("stopNF", inst)

    def update(self, inst, extra_env=None):
        self._record("updateNF", inst, tuple(sorted((extra_env or {}).items())))

    def pause(self, inst):
        self._record("pauseNF", inst)

    def resume(self, inst):
        self._record("resumeNF", inst)

    def delete(self, inst):
        self._record("deleteNF", inst)


def nf(nid: str, tpl: str, *params: tuple[str, str], admin: str | None = None) -> str:
    body = f"<id>{nid}</id><template>{tpl}</template><port><name>in</name></port>"
    body += "<port><name>out</name></port>"
    body += "".join(
        f"<config-parameter><name>{k}</name><value>{v}</value></config-parameter>"
        for k, v in params
    )
    if admin:
        body += f"<admin-state>{admin}</admin-state>"
    return f"<nf>{body}</nf>"


def graph(name: str, *nfs: str, rules: int = 1, description: str = "") -> str:
    """A chain lan -> nfs... -> lan, through an internal endpoint per graph."""
    ids = [s.split("<id>")[1].split("<")[0] for s in nfs]
    hops = ["endpoint:lan", *[f"nf:{i}:in" for i in ids]]
    outs = [*[f"nf:{i}:in" for i in ids], "endpoint:lan"]
    rule_xml = ""
    for r in range(rules):
        src = hops[0] if r == 0 else f"nf:{ids[(r - 1) % len(ids)]}:out" if ids else hops[0]
        dst = outs[0] if r == 0 else outs[min(r, len(outs) - 1)]
        rule_xml += (
            f"<flow-rule><id>r{r}</id><priority>{10 + r}</priority>"
            f"<match><port-in>{src}</port-in></match>"
            f"<actions><output>{dst}</output></actions></flow-rule>"
        )
    desc = f"<description>{description}</description>" if description else ""
    return (
        f"<graph><name>{name}</name>{desc}{''.join(nfs)}"
        f"<endpoint><id>lan</id><internal-group>{name}-grp</internal-group></endpoint>"
        f"{rule_xml}</graph>"
    )


class Rig:
    """A pipeline with a GraphPlanner over recording drivers, and a current running tree."""

    def __init__(self) -> None:
        self.schema = Schema()
        self.calls: list[tuple] = []
        self.network = RecordingNetwork(self.calls)
        self.compute = RecordingCompute(self.calls)
        resolver = Resolver(Names("unit"), lambda xml: dict(TEMPLATES), lambda key: None)
        self.planner = GraphPlanner(resolver, self.network, self.compute)
        self.pipeline = CommitPipeline()
        self.pipeline.register(self.planner)
        self.running = None

    def tree(self, *graphs: str, node: str = ""):
        xml = f'<graphs xmlns="{SG}">{"".join(graphs)}</graphs>' if graphs else ""
        xml += node
        return self.schema.parse(xml, validate=True) if xml else None

    def plan(self, *graphs: str, node: str = "") -> Plan:
        new = self.tree(*graphs, node=node)
        plan = self.pipeline.plan(self.running, new)
        plan.context["keep"] = new
        return plan

    def commit(self, *graphs: str, node: str = "") -> list[tuple]:
        """Plan and apply; return the driver calls it made."""
        plan = self.plan(*graphs, node=node)
        self.calls.clear()
        self.pipeline.execute(plan)
        self.pipeline.adopt(plan)
        self.running = plan.context["keep"]
        return list(self.calls)


@pytest.fixture
def rig() -> Rig:
    return Rig()


def kinds(calls: list[tuple]) -> list[str]:
    return [c[0] for c in calls]


def test_new_graph_creates_nfs_and_ports_then_starts_them_before_one_steering_batch(rig):
    calls = rig.commit(graph("g1", nf("a", "fw"), nf("b", "nat")))
    assert kinds(calls) == [
        "createNF",
        "createPort",
        "createPort",
        "createNF",
        "createPort",
        "createPort",
        "createEndpoint",
        "startNF",
        "startNF",
        "steer",
    ]
    assert ("steer", "g1:r0") in calls


def test_adding_a_rule_only_rebuilds_that_graphs_lsi_and_restarts_nothing(rig):
    rig.commit(graph("g1", nf("a", "fw")), graph("g2", nf("a", "fw")))
    calls = rig.commit(graph("g1", nf("a", "fw"), rules=2), graph("g2", nf("a", "fw")))
    assert calls == [("steer", "g1:r0,r1")]


def test_description_change_has_no_operations(rig):
    rig.commit(graph("g1", nf("a", "fw")))
    plan = rig.plan(graph("g1", nf("a", "fw"), description="now described"))
    assert plan.changes, "the change is seen"
    assert plan.operations == []


def test_changing_one_graph_never_reads_or_plans_the_others(rig):
    rig.commit(*(graph(f"g{i}", nf("a", "fw")) for i in range(20)))
    plan = rig.plan(*(graph(f"g{i}", nf("a", "fw"), rules=2 if i == 7 else 1) for i in range(20)))
    assert set(plan.context["graphs"]) == {"g7"}
    assert [op.target for op in plan.operations if op.name == "applySteering"] == [
        "1 LSI(s) in one nft batch"
    ]


def test_plan_names_only_the_instances_of_the_graphs_it_changes(rig):
    # What the supervisor watches again after the commit: a set that grows with the NFs of
    # the node would make each commit wait on a stat per NF.
    rig.commit(*(graph(f"g{i}", nf("a", "fw")) for i in range(20)))
    plan = rig.plan(*(graph(f"g{i}", nf("a", "fw"), rules=2 if i == 7 else 1) for i in range(20)))
    deployed = plan.context["deployment"]
    assert touched_instances(plan) == {m.key for m in deployed.members_of("g7")}
    assert len(touched_instances(plan) or ()) == 1


def test_plan_without_graph_changes_leaves_the_touched_instances_unknown(rig):
    rig.commit(graph("g1", nf("a", "fw")))
    assert touched_instances(rig.plan(graph("g1", nf("a", "fw")))) is None


def test_description_only_change_touches_no_instance(rig):
    # None would make the supervisor stat every NF's state file after the commit.
    rig.commit(*(graph(f"g{i}", nf("a", "fw")) for i in range(5)))
    plan = rig.plan(
        *(graph(f"g{i}", nf("a", "fw"), description="new" if i == 2 else "") for i in range(5))
    )
    assert plan.changes, "the change is seen"
    assert touched_instances(plan) == frozenset()


def test_removing_a_graph_switches_steering_before_stopping_and_deleting_its_nf(rig):
    rig.commit(graph("g1", nf("a", "fw")), graph("g2", nf("a", "fw")))
    calls = rig.commit(graph("g2", nf("a", "fw")))
    assert kinds(calls) == ["steer", "deleteEndpoints", "stopNF", "deleteNF", "settlePorts"]
    assert calls[0] == ("steer", "g1:-")
    assert calls[1] == ("deleteEndpoints", ("g1/lan",))


def test_parameter_change_with_update_script_updates_in_place(rig):
    rig.commit(graph("g1", nf("a", "fw")))
    calls = rig.commit(graph("g1", nf("a", "fw", ("mode", "loose"))))
    assert calls == [("updateNF", "g1/a", ())]


def test_parameter_change_without_update_script_restarts_only_that_nf(rig):
    rig.commit(graph("g1", nf("a", "fw"), nf("b", "nat")))
    calls = rig.commit(graph("g1", nf("a", "fw"), nf("b", "nat", ("mode", "loose"))))
    assert calls == [("stopNF", "g1/b"), ("startNF", "g1/b")]


def test_template_change_recreates_the_nf_under_the_same_names(rig):
    rig.commit(graph("g1", nf("a", "fw")))
    calls = rig.commit(graph("g1", nf("a", "nat")))
    assert kinds(calls) == [
        "stopNF",
        "deletePort",
        "deletePort",
        "deleteNF",
        "createNF",
        "createPort",
        "createPort",
        "startNF",
    ]


def test_pause_and_resume_follow_admin_state(rig):
    rig.commit(graph("g1", nf("a", "fw")))
    assert rig.commit(graph("g1", nf("a", "fw", admin="paused"))) == [("pauseNF", "g1/a")]
    assert rig.commit(graph("g1", nf("a", "fw"))) == [("resumeNF", "g1/a")]


def test_sharable_nf_serves_a_second_graph_with_its_own_ports_and_an_update(rig):
    rig.commit(graph("g1", nf("s", "br")))
    calls = rig.commit(graph("g1", nf("s", "br")), graph("g2", nf("s", "br")))
    assert ("createNF", "br") not in calls
    assert ("createPort", "g2/s:in") in calls and ("createPort", "g2/s:out") in calls
    assert ("updateNF", "br", (("NNFV_JOINED_GRAPH", "g2"),)) in calls


def test_sharable_nf_stays_while_another_graph_uses_it_and_goes_with_the_last(rig):
    rig.commit(graph("g1", nf("s", "br")), graph("g2", nf("s", "br")))
    calls = rig.commit(graph("g2", nf("s", "br")))
    assert ("stopNF", "br") not in calls and ("deleteNF", "br") not in calls
    assert ("updateNF", "br", (("NNFV_LEFT_GRAPH", "g1"),)) in calls
    calls = rig.commit()
    assert ("stopNF", "br") in calls and ("deleteNF", "br") in calls


def test_disabling_a_graph_removes_its_nfs_and_lsi(rig):
    rig.commit(graph("g1", nf("a", "fw")))
    disabled = graph("g1", nf("a", "fw")).replace(
        "</name>", "</name><admin-state>disabled</admin-state>", 1
    )
    calls = rig.commit(disabled)
    assert ("stopNF", "g1/a") in calls and ("deleteNF", "g1/a") in calls
    assert ("steer", "g1:-") in calls


def test_failed_start_undoes_every_finished_step_in_reverse(rig):
    rig.compute.fail.add(("startNF", "g1/b"))
    plan = rig.plan(graph("g1", nf("a", "fw"), nf("b", "nat")))
    rig.calls.clear()
    with pytest.raises(PlanFailed, match="startNF g1/b failed"):
        rig.pipeline.execute(plan)
    # The two starts run side by side; everything after them is the undo, in reverse.
    first_start = min(i for i, c in enumerate(rig.calls) if c[0] == "startNF")
    last_start = max(i for i, c in enumerate(rig.calls) if c[0] == "startNF")
    created = rig.calls[:first_start]
    inverse = {
        "createNF": "deleteNF",
        "createPort": "deletePort",
        "createEndpoint": "deleteEndpoint",
    }
    assert kinds(created) == ["createNF", "createPort", "createPort"] * 2 + ["createEndpoint"]
    assert rig.calls[last_start + 1 :] == [("stopNF", "g1/a")] + [
        (inverse[op], who) for op, who in reversed(created)
    ]
    assert rig.planner.current.graphs == {}, "a failed plan is never adopted"


def test_unknown_template_refuses_the_plan_before_any_operation(rig):
    with pytest.raises(PlanRefused, match="no template named 'ids'"):
        rig.plan(graph("g1", nf("a", "ids")))


def test_unknown_parameter_refuses_the_plan(rig):
    with pytest.raises(PlanRefused, match="has no parameter 'speed'"):
        rig.plan(graph("g1", nf("a", "fw", ("speed", "9"))))


def test_endpoint_outside_allowed_interfaces_is_refused(rig):
    iface = graph("g1").replace(
        "<internal-group>g1-grp</internal-group>", "<interface>eth9</interface>"
    )
    node = f'<node xmlns="{NODE}"><allowed-interface>eth0</allowed-interface></node>'
    with pytest.raises(PlanRefused, match="eth9 is not in /node/allowed-interface"):
        rig.plan(iface, node=node)


def test_every_operation_kind_of_the_paper_appears_in_some_plan(rig):
    seen: set[str] = set()
    for graphs in (
        [graph("g1", nf("a", "fw"), nf("s", "br"))],
        [graph("g1", nf("a", "fw", admin="paused"), nf("s", "br"), rules=2)],
        [graph("g1", nf("a", "fw", ("mode", "x")), nf("s", "br"))],
        [graph("g1", nf("a", "nat"), nf("s", "br"))],
        [],
    ):
        plan = rig.plan(*graphs)
        seen |= {op.name for op in plan.operations}
        rig.pipeline.execute(plan)
        rig.pipeline.adopt(plan)
        rig.running = plan.context["keep"]
    assert {
        "createNF",
        "startNF",
        "updateNF",
        "stopNF",
        "deleteNF",
        "pauseNF",
        "createPort",
        "deletePort",
        "createLSI",
        "deleteLSI",
        "createTSRule",
        "deleteTSRule",
        "applySteering",
    } <= seen


def test_removing_many_graphs_deletes_all_their_endpoints_in_one_batch(rig):
    rig.commit(*(graph(f"g{i}", nf("a", "fw")) for i in range(5)))
    calls = rig.commit(graph("g4", nf("a", "fw")))
    batches = [c for c in calls if c[0] == "deleteEndpoints"]
    assert batches == [("deleteEndpoints", tuple(f"g{i}/lan" for i in range(4)))]
    assert not [c for c in calls if c[0] == "deleteEndpoint"]
