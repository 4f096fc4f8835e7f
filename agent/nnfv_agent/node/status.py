"""Operational state of the deployed graphs: NF status, ports, pids and rule counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from lxml import etree

from ..commit.deployment import Member
from ..commit.pipeline import Plan
from ..commit.views import affected_graphs
from ..model.graph import SG
from .supervisor import LSI, Supervised, Supervisor


class Deployed(Supervised, Protocol):
    """What the status reporter reads: the planner's deployed view, the drivers' state and
    the supervisor's health. The data plane is one; declared here so that this module does
    not import it."""

    @property
    def supervisor(self) -> Supervisor: ...


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatusReporter:
    def __init__(self, dataplane: Deployed) -> None:
        self.dp = dataplane
        self.last_change: dict[str, str] = {}

    def observe(self, plan: Plan) -> None:
        now = _now()
        for name, (old, new) in affected_graphs(plan).items():
            if old != new or (old and new and old.network_view() != new.network_view()):
                self.last_change[name] = now
            if new is None:
                self.last_change.pop(name, None)

    def graphs_xml(self) -> str:
        """Status of every graph of the running configuration, as the planner deployed it."""
        deployment = self.dp.planner.current
        graphs = deployment.graphs
        if not graphs:
            return ""
        counters = self.dp.network.rule_counters()
        root = etree.Element(f"{{{SG}}}graphs", nsmap={None: SG})
        for graph in graphs.values():
            g = _sub(root, "graph")
            _leaf(g, "name", graph.name)
            states = []
            for nf in graph.nfs.values():
                member = deployment.members.get((graph.name, nf.id))
                n = _sub(g, "nf")
                _leaf(n, "id", nf.id)
                why = deployment.unresolved.get((graph.name, nf.id))
                states.append(self._nf_status(_sub(n, "status"), graph.enabled, member, why))
            for rule in graph.rules.values():
                c = counters.get(self.dp.names.counter(graph.name, rule.id))
                r = _sub(g, "flow-rule")
                _leaf(r, "id", rule.id)
                cnt = _sub(r, "counters")
                _leaf(cnt, "packets", c.packets if c else 0)
                _leaf(cnt, "bytes", c.bytes if c else 0)
            status = _sub(g, "status")
            failed = [s for s in states if s.startswith("failed")]
            unresolved = any(k[0] == graph.name for k in deployment.unresolved)
            lsi = self.dp.supervisor.health.get(LSI + graph.name)
            if lsi is not None and lsi.failed and graph.enabled:
                failed.append(f"failed: LSI: {lsi.reason}")
            if not graph.enabled:
                state = "pending"
            elif unresolved:
                state = "failed"  # part of it could not be deployed at all
            elif failed:
                state = "degraded"  # deployed, but the supervisor found part of it broken
            else:
                state = "deployed"
            _leaf(status, "state", state)
            if graph.name in self.last_change:
                _leaf(status, "last-change", self.last_change[graph.name])
            if failed:
                _leaf(status, "error", "; ".join(f.partition(":")[2].strip() for f in failed))
        return etree.tostring(root, encoding="unicode")

    def _nf_status(
        self, st: etree._Element, enabled: bool, member: Member | None, unresolved: str | None
    ) -> str:
        if enabled and unresolved:
            _leaf(st, "state", "failed")
            _leaf(st, "last-error", unresolved)
            return f"failed: {unresolved}"
        if not enabled or member is None:
            _leaf(st, "state", "stopped")
            return "stopped"
        # Health before the state file: the supervisor writes them in the other order.
        health = self.dp.supervisor.health.get(member.key)
        state = self.dp.compute.load_state(member.key)
        _leaf(st, "state", state.state if state else "failed")
        _leaf(st, "flavour", member.template.vnf_type)
        _leaf(st, "template", member.template.name)
        _leaf(st, "namespace", member.key)
        for port in member.ports:
            p = _sub(st, "port-status")
            _leaf(p, "name", port.name)
            _leaf(p, "interface", port.ifname)
            _leaf(
                p,
                "lsi-interface",
                self.dp.network.nf_port_device(member.graph, member.nf.id, port.name),
            )
        for pid in self.dp.compute.pids(member.key):
            _leaf(st, "pid", pid)
        if state and state.start_time:
            _leaf(st, "start-time", state.start_time)
        error = state.last_error if state else "no state recorded for this instance"
        if error:
            _leaf(st, "last-error", error)
        if health is not None:
            if health.last_failure:
                _leaf(st, "last-failure", health.last_failure)
            _leaf(st, "restart-count", health.restarts)
            if health.last_restarted:
                _leaf(st, "last-restarted", health.last_restarted)
            if health.next_restart:
                _leaf(st, "next-restart", health.next_restart)
            if health.failed:
                _leaf(st, "restarts-exhausted", str(health.exhausted).lower())
        return f"{state.state if state else 'failed'}: {error or ''}"


def _sub(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{SG}}}{name}")


def _leaf(parent: etree._Element, name: str, value: object) -> None:
    etree.SubElement(parent, f"{{{SG}}}{name}").text = str(value)
