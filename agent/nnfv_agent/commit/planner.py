"""From the affected graphs of a commit to an ordered plan of network and compute operations.

The registry says which graphs a commit touches; only those are read from the two trees and
resolved. `GraphPlanner.current` is the resolved view of what is deployed (loaded once at
start, then replaced by each durable commit), so unaffected graphs cost nothing.

Order: make before break. `Ops` (phases.py) files every operation under one of the
`PHASES`; the plan is the phases in this order (within a phase, the order the planner added them):

1. break-stop, break-ports, break-delete: only what comes back under the same names in this
   commit (an instance whose template or ports changed, a restart for new parameters, a
   changed endpoint): stopNF, then its deletePort, then deleteNF.
2. create: createNF, createPort (NF ports and new or changed endpoints).
3. start: startNF of new and re-created instances; updateNF of instances that keep running
   (new parameters, a graph joining a sharable instance).
4. steer: one nftables batch for every LSI and steering rule that changed (the createLSI,
   deleteLSI, createTSRule and deleteTSRule entries only name what the batch does).
5. after: pauseNF / resumeNF (admin-state).
6. remove-endpoints, remove-stop, remove-delete, remove-ports: what goes for good, once traffic
   has moved: the endpoints of removed graphs in one kernel batch, stopNF, deleteNF (which
   takes the NF's veth pairs along), then the ports of graphs leaving a sharable instance,
   its updateNF, and one wait until the kernel has dropped the removed ports.

So nothing is deleted before the new side exists unless it must be re-created under its own
name. Operations that do something carry their undo, and the executor undoes the finished ones
in reverse when a later one fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import libyang

from ..drivers.compute.instance import NFInstance
from ..model.graph import Endpoint, Graph
from ..model.template import Template
from .deployment import TEMPLATES, Deployment, Member, instance_of, subtree_xml
from .phases import Ops
from .pipeline import Operation, Plan
from .protocols import ComputeDriver, NetworkDriver
from .resolver import PlanError, Resolver
from .views import affected_graphs

log = logging.getLogger(__name__)

NODE_ALLOWED = "/nnfv-node:node/allowed-interface"


INSTANCE_KEYS = "instance-keys"


def touched_instances(plan: Plan) -> frozenset[str] | None:
    """The NF instances a planned commit may have started, stopped or changed; None when the
    graph planner did not plan it (then any instance may have changed)."""
    keys = plan.context.get(INSTANCE_KEYS)
    return keys if isinstance(keys, frozenset) else None


class GraphPlanner:
    """Builds the operations of one commit. Pure: nothing touches the kernel until executed."""

    def __init__(
        self,
        resolver: Resolver,
        network: NetworkDriver,
        compute: ComputeDriver,
        endpoint_support: Callable[[Endpoint], str | None] = lambda e: None,
        admit: Callable[[list[Template]], None] = lambda templates: None,
    ) -> None:
        self.resolver = resolver
        self.network = network
        self.compute = compute
        self.endpoint_support = endpoint_support
        self.admit = admit  # raises PlanRefused (resource-denied) when the NFs do not fit
        self.current = Deployment({}, {})

    def load(self, tree: libyang.DNode | None) -> Deployment:
        """Start-up: resolve what the running tree deploys (the one full read)."""
        self.current = self.resolver.deployment(tree)
        return self.current

    def adopt(self, plan: Plan) -> None:
        new = plan.context.get("deployment")
        if new is not None:
            self.current = new

    def plan(self, plan: Plan) -> list[Operation]:
        graphs = affected_graphs(plan)
        if not graphs:
            # Planned, and no instance touched (a description, a template): nothing to resync.
            plan.context[INSTANCE_KEYS] = frozenset()
            return []
        changed = {name: new for name, (_old, new) in graphs.items()}
        old = self._retry_unresolved(self.current, changed, plan)
        members = self.resolver.members(
            [g for g in changed.values() if g is not None],
            lambda: subtree_xml(plan.new, TEMPLATES),
            current=False,
        )
        new = old.replaced(changed, members)
        plan.context["deployment"] = new
        # Only the affected graphs, and every instance one of their NFs runs in (a sharable
        # instance brings its members from other graphs along).
        old_part, new_part = old.enabled(changed), new.enabled(changed)
        keys = {m.key for n in changed for m in old.members_of(n)}
        keys |= {m.key for m in members.values()}
        plan.context[INSTANCE_KEYS] = frozenset(keys)
        self._check_endpoints(new_part, allowed_interfaces(plan.new))
        ops = Ops()
        old_inst, new_inst = old.instances(keys), new.instances(keys)
        self.admit([m[0].template for k, m in new_inst.items() if k not in old_inst])
        restarted = self._instances(ops, old_inst, new_inst)
        self._endpoints(ops, old_part, new_part, new)
        self._steering(ops, old_part, new_part)
        for key in sorted(new_inst):
            members_of_key = new_inst[key]
            fresh = key not in old_inst or key in restarted
            if fresh:
                ops.add(
                    "start",
                    "startNF",
                    _target(members_of_key),
                    partial(self._start, members_of_key),
                    partial(self._stop, members_of_key),
                )
            self._admin_state(ops, old_inst.get(key), members_of_key, fresh)
        if ops.settle:
            ports = list(ops.settle)
            ops.add(
                "remove-ports",
                "deletePort",
                f"{len(ports)} port(s) of removed NFs: wait until the kernel drops them",
                lambda: self.network.settle_nf_ports(ports),
            )
        return ops.ordered()

    def _retry_unresolved(
        self, old: Deployment, changed: dict[str, Graph | None], plan: Plan
    ) -> Deployment:
        """NFs of the changed graphs that could not be resolved at start-up are tried again,
        so that changing or removing their graph stops and deletes them for real."""
        retry = {k for k in old.unresolved if k[0] in changed}
        if not retry:
            return old
        graphs = [old.graphs[g] for g in sorted({g for g, _ in retry}) if g in old.graphs]
        found = self.resolver.members(
            graphs, lambda: subtree_xml(plan.old, TEMPLATES), current=True, failed={}
        )
        found = {k: m for k, m in found.items() if k in retry}
        return old.with_members(found) if found else old

    def _admin_state(
        self, ops: Ops, before: list[Member] | None, after: list[Member], fresh: bool
    ) -> None:
        was = "running" if fresh or not before else _admin(before)
        want = _admin(after)
        if was == want:
            return
        inst = instance_of(after)
        pause, resume = (lambda: self.compute.pause(inst)), (lambda: self.compute.resume(inst))
        if want == "paused":
            ops.add("after", "pauseNF", _target(after), pause, resume)
        else:
            ops.add("after", "resumeNF", _target(after), resume, pause)

    # ---- compute ------------------------------------------------------------------------

    def _instances(
        self, ops: Ops, old: dict[str, list[Member]], new: dict[str, list[Member]]
    ) -> set[str]:
        restarted: set[str] = set()
        for key in sorted(set(old) | set(new)):
            before, after = old.get(key), new.get(key)
            if before and (not after or _recreate(before, after)):
                self._remove_instance(ops, before, "break" if after else "remove")
                if after:
                    restarted.add(key)
            if after and (not before or key in restarted):
                self._add_instance(ops, after)
                continue
            if before and after:
                self._change_instance(ops, key, before, after, restarted)
        return restarted

    def _remove_instance(self, ops: Ops, members: list[Member], phase: str) -> None:
        inst = instance_of(members)
        ops.add(
            phase,
            "stopNF",
            _target(members),
            lambda: self.compute.stop(inst),
            lambda: self._start(members),
        )
        if phase == "break":
            # The instance comes back under the same names: delete its ports for real first.
            for m in members:
                self._nf_ports(ops, m, create=False, phase=phase)
            ops.add(
                phase,
                "deleteNF",
                _target(members),
                lambda: self.compute.delete(inst),
                lambda: self.compute.create(inst),
            )
            return
        # Removing the namespace takes its veth pairs along in one kernel batch, instead of
        # one RCU grace period per port; the deletePort steps then only wait for that.
        ops.add(
            phase,
            "deleteNF",
            _target(members),
            lambda: self.compute.delete(inst),
            lambda: self._recreate_with_ports(inst, members),
        )
        for m in members:
            for port in m.ports:
                # Done by the namespace removal; one wait for all of them ends the plan.
                ops.add(phase, "deletePort", f"{m.graph}/{m.nf.id}:{port.name}")
                ops.settle.append((m.graph, m.nf.id, port.name))

    def _recreate_with_ports(self, inst: NFInstance, members: list[Member]) -> None:
        self.compute.create(inst)
        for m in members:
            for port in m.ports:
                self.network.create_nf_port(m.graph, m.nf.id, port.name, m.key, port.ifname)

    def _add_instance(self, ops: Ops, members: list[Member]) -> None:
        inst = instance_of(members)
        ops.add(
            "create",
            "createNF",
            _target(members),
            lambda: self.compute.create(inst),
            lambda: self.compute.delete(inst),
        )
        for m in members:
            self._nf_ports(ops, m, create=True, phase="create")

    def _change_instance(
        self, ops: Ops, key: str, before: list[Member], after: list[Member], restarted: set[str]
    ) -> None:
        old_graphs = {m.graph: m for m in before}
        new_graphs = {m.graph: m for m in after}
        for graph in sorted(set(old_graphs) - set(new_graphs)):
            self._nf_ports(ops, old_graphs[graph], create=False, phase="remove")
            self._update(ops, after, graph, {"NNFV_LEFT_GRAPH": graph}, before, "remove")
        for graph in sorted(set(new_graphs) - set(old_graphs)):
            self._nf_ports(ops, new_graphs[graph], create=True, phase="create")
            self._update(ops, after, graph, {"NNFV_JOINED_GRAPH": graph}, before, "start")
        if instance_of(before).params != instance_of(after).params:
            if after[0].template.script("update"):
                self._update(ops, after, after[0].graph, {}, before, "start")
            else:
                inst_old = instance_of(before)
                ops.add(
                    "break",
                    "stopNF",
                    _target(after),
                    lambda: self.compute.stop(inst_old),
                    lambda: self._start(before),
                )
                restarted.add(key)

    def _update(
        self,
        ops: Ops,
        members: list[Member],
        graph: str,
        env: dict[str, str],
        before: list[Member],
        phase: str,
    ) -> None:
        inst = instance_of(members, graph)
        undo_inst = instance_of(before, graph)
        ops.add(
            phase,
            "updateNF",
            f"{graph}/{inst.nf}",
            lambda: self.compute.update(inst, env),
            lambda: self.compute.update(undo_inst, _inverse(env)),
        )

    def _start(self, members: list[Member]) -> None:
        self.compute.start(instance_of(members))

    def _stop(self, members: list[Member]) -> None:
        self.compute.stop(instance_of(members))

    def _nf_ports(self, ops: Ops, m: Member, *, create: bool, phase: str) -> None:
        net = self.network
        for port in m.ports:
            target = f"{m.graph}/{m.nf.id}:{port.name}"
            create_fn = partial(net.create_nf_port, m.graph, m.nf.id, port.name, m.key, port.ifname)
            delete_fn = partial(net.delete_nf_port, m.graph, m.nf.id, port.name)
            if create:
                ops.add(phase, "createPort", target, create_fn, delete_fn)
            else:
                ops.add(phase, "deletePort", target, delete_fn, create_fn)

    # ---- network ------------------------------------------------------------------------

    def _check_endpoints(self, graphs: dict[str, Graph], allowed: set[str]) -> None:
        for graph in graphs.values():
            for ep in graph.endpoints.values():
                if allowed and ep.interface and ep.interface not in allowed:
                    raise PlanError(
                        f"graph {graph.name}, endpoint {ep.id}: interface "
                        f"{ep.interface} is not in /node/allowed-interface "
                        f"({', '.join(sorted(allowed))})"
                    )
                why = self.endpoint_support(ep)
                if why:
                    raise PlanError(f"graph {graph.name}, endpoint {ep.id}: {why}")

    def _endpoints(
        self, ops: Ops, old: dict[str, Graph], new: dict[str, Graph], everything: Deployment
    ) -> None:
        net = self.network
        kept: set[str | None] | None = None
        removed: list[tuple[str, Endpoint]] = []
        for name in sorted(set(old) | set(new)):
            before = old[name].endpoints if name in old else {}
            after = new[name].endpoints if name in new else {}
            for eid in sorted(set(before) | set(after)):
                b, a = before.get(eid), after.get(eid)
                if b == a:
                    continue
                target = f"{name}/endpoint:{eid}"
                if b is not None and b.kind == "internal" and kept is None:
                    # Internal groups still joined by some graph keep their bridge.
                    kept = {
                        ep.group
                        for g in everything.enabled().values()
                        for ep in g.endpoints.values()
                        if ep.kind == "internal"
                    }
                if b is not None and a is None:
                    # Removed for good: deleted together, in one kernel batch, below.
                    ops.add("remove-endpoints", "deletePort", target)
                    removed.append((name, b))
                elif b is not None:
                    ops.add(
                        "break",
                        "deletePort",
                        target,
                        partial(net.delete_endpoint, name, b, b.group not in (kept or ())),
                        partial(net.create_endpoint, name, b),
                    )
                if a is not None:
                    ops.add(
                        "create",
                        "createPort",
                        target,
                        partial(net.create_endpoint, name, a),
                        partial(net.delete_endpoint, name, a),
                    )
        if removed:
            batch = [(g, e, e.group not in (kept or ())) for g, e in removed]
            # Before the NF namespaces go: the kernel's clean-up of those holds the rtnl
            # lock for a while, and link deletions would queue behind it.
            ops.add(
                "remove-endpoints",
                "deletePorts",
                f"{len(batch)} endpoint port(s) of removed graphs in one kernel batch",
                lambda: net.delete_endpoints(batch),
                lambda: self._create_endpoints(batch),
            )

    def _create_endpoints(self, batch: list[tuple[str, Endpoint, bool]]) -> None:
        for graph, ep, _last in batch:
            self.network.create_endpoint(graph, ep)

    def _steering(self, ops: Ops, old: dict[str, Graph], new: dict[str, Graph]) -> None:
        affected = {}
        covered = []
        for name in sorted(set(old) | set(new)):
            b, a = old.get(name), new.get(name)
            if b is not None and a is not None and b.network_view() == a.network_view():
                continue
            affected[name] = (b, a)
            if b is None:
                covered.append(("createLSI", name))
            before_rules = b.rules if b else {}
            after_rules = a.rules if a else {}
            for rid in sorted(set(before_rules) | set(after_rules)):
                br, ar = before_rules.get(rid), after_rules.get(rid)
                if br == ar and b is not None and a is not None:
                    continue
                if br is not None:
                    covered.append(("deleteTSRule", f"{name}/{rid}"))
                if ar is not None:
                    covered.append(("createTSRule", f"{name}/{rid}"))
            if a is None:
                covered.append(("deleteLSI", name))
        if not affected:
            return
        net = self.network
        new_view = {n: a for n, (_, a) in affected.items()}
        old_view = {n: b for n, (b, _) in affected.items()}
        for name, target in covered:
            ops.add("steer", name, target)
        ops.add(
            "steer",
            "applySteering",
            f"{len(affected)} LSI(s) in one nft batch",
            lambda: net.apply_steering(net.steering_batch(new_view)),
            lambda: net.apply_steering(net.steering_batch(old_view)),
        )


def allowed_interfaces(tree: libyang.DNode | None) -> set[str]:
    """/node/allowed-interface of a configuration; empty means every interface."""
    if tree is None:
        return set()
    return {str(n.value()) for n in tree.find_all(NODE_ALLOWED)}


def _recreate(before: list[Member], after: list[Member]) -> bool:
    b, a = before[0].template, after[0].template
    return (b.name, b.sha256) != (a.name, a.sha256)


def _admin(members: list[Member]) -> str:
    """A shared instance is paused only when every graph using it wants it paused."""
    return "paused" if all(m.nf.admin_state == "paused" for m in members) else "running"


def _inverse(env: dict[str, str]) -> dict[str, str]:
    swap = {"NNFV_JOINED_GRAPH": "NNFV_LEFT_GRAPH", "NNFV_LEFT_GRAPH": "NNFV_JOINED_GRAPH"}
    return {swap.get(k, k): v for k, v in env.items()}


def _target(members: list[Member]) -> str:
    lead = members[0]
    if lead.template.sharable:
        return f"{lead.template.name} (shared by {', '.join(sorted({m.graph for m in members}))})"
    return f"{lead.graph}/{lead.nf.id}"
