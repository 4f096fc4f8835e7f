"""Operational state of the deployed graphs: NF status, ports, pids and rule counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lxml import etree

from ..commit.pipeline import Plan
from ..model.graph import SG, graphs_from_xml
from .reconcile import partial_deployment

if TYPE_CHECKING:
    from ..dataplane import DataPlane


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class StatusReporter:
    def __init__(self, dataplane: DataPlane) -> None:
        self.dp = dataplane
        self.last_change: dict[str, str] = {}

    def observe(self, plan: Plan) -> None:
        old, new = graphs_from_xml(plan.old_xml), graphs_from_xml(plan.new_xml)
        for name in set(old) | set(new):
            if old.get(name) != new.get(name) or (
                old.get(name) and old[name].network_view() != new[name].network_view()
            ):
                self.last_change[name] = _now()

    def graphs_xml(self, running_xml: str) -> str:
        graphs = graphs_from_xml(running_xml)
        if not graphs:
            return ""
        # One NF that cannot be resolved is reported failed; the others as they are.
        deployment, unresolved = partial_deployment(self.dp.resolver, running_xml)
        counters = self.dp.network.nft.all_counters()
        root = etree.Element(f"{{{SG}}}graphs", nsmap={None: SG})
        for graph in graphs.values():
            g = _sub(root, "graph")
            _leaf(g, "name", graph.name)
            states = []
            for nf in graph.nfs.values():
                member = deployment.members.get((graph.name, nf.id)) if deployment else None
                n = _sub(g, "nf")
                _leaf(n, "id", nf.id)
                why = unresolved.get((graph.name, nf.id))
                if why is not None:
                    st = _sub(n, "status")
                    _leaf(st, "state", "failed")
                    _leaf(st, "last-error", why)
                    states.append(f"failed: {why}")
                    continue
                states.append(self._nf_status(_sub(n, "status"), graph.enabled, member))
            table = counters.get(self.dp.names.table(graph.name), {})
            for rule in graph.rules.values():
                c = table.get(self.dp.names.counter(rule.id))
                r = _sub(g, "flow-rule")
                _leaf(r, "id", rule.id)
                cnt = _sub(r, "counters")
                _leaf(cnt, "packets", c.packets if c else 0)
                _leaf(cnt, "bytes", c.bytes if c else 0)
            status = _sub(g, "status")
            failed = [s for s in states if s.startswith("failed")]
            _leaf(
                status,
                "state",
                "pending" if not graph.enabled else "failed" if failed else "deployed",
            )
            if graph.name in self.last_change:
                _leaf(status, "last-change", self.last_change[graph.name])
            if failed:
                _leaf(status, "error", "; ".join(f.partition(":")[2].strip() for f in failed))
        return etree.tostring(root, encoding="unicode")

    def _nf_status(self, st: etree._Element, enabled: bool, member) -> str:
        if not enabled or member is None:
            _leaf(st, "state", "stopped")
            return "stopped"
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
        return f"{state.state if state else 'failed'}: {error or ''}"


def _sub(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{SG}}}{name}")


def _leaf(parent: etree._Element, name: str, value: object) -> None:
    etree.SubElement(parent, f"{{{SG}}}{name}").text = str(value)
