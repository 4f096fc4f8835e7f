"""Wires the commit planner to the native drivers, the node's capabilities and its events."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import libyang

from .commit.deployment import TEMPLATES, subtree_xml
from .commit.pipeline import CommitPipeline, Plan, PlanRefused
from .commit.planner import GraphPlanner, touched_instances
from .commit.resolver import Resolver
from .commit.views import affected_graphs
from .config import AgentConfig
from .drivers.compute.cgroups import CgroupError, Cgroups
from .drivers.compute.native import NativeCompute
from .drivers.naming import Names
from .drivers.network.native import NativeNetwork, unsupported_endpoint
from .model.graph import SG, Endpoint
from .model.template import Template
from .node.capabilities import NODE, Accelerator, NodeCapabilities, memory_available
from .node.catalog import Catalog
from .node.memory import give_back_free_memory
from .node.probe import KernelProbe
from .node.restart import RestartPolicy
from .node.status import StatusReporter
from .node.supervisor import Supervisor
from .xmlutil import event_xml

log = logging.getLogger(__name__)

ENDPOINT_FEATURES = {
    "vxlan": "vxlan",
    "internal": "bridge",
    "interface": "nft-netdev-fwd",
}
Publish = Callable[[str], None]


class DataPlane:
    def __init__(
        self,
        config: AgentConfig,
        state_dir: Path,
        publish: Publish,
        running_tops: Callable[[], libyang.DNode | None],
    ) -> None:
        self.config = config
        self.publish = publish
        self.running_tops = running_tops  # templates and /node of running, no graphs
        self.names = Names(config.effective_node_id)
        self.probe = KernelProbe(self.names)
        self.catalog = Catalog(state_dir / "cache")
        self.capabilities = NodeCapabilities(
            self.probe,
            config.executable_path,
            state_dir,
            tuple(Accelerator(*a) for a in config.accelerators),
        )
        self.network = NativeNetwork(self.names, config.netns)
        self.cgroups = Cgroups(root=f"nnfv/{self.names.node_id}")
        self.compute = NativeCompute(
            state_dir,
            self.cgroups,
            script_timeout=config.script_timeout,
            search_path=config.executable_path,
            on_state=self._nf_event,
        )
        self.resolver = Resolver(
            self.names, self.catalog.all, self.compute.deployed_template, self.readiness
        )
        self.planner = GraphPlanner(
            self.resolver, self.network, self.compute, self.endpoint_support, self.admit
        )
        self.status = StatusReporter(self)
        self.supervisor = Supervisor(
            self,
            config.supervise_interval,
            RestartPolicy(
                config.restart_auto,
                config.restart_min_interval,
                config.restart_max_interval,
                config.restart_multiplier,
                config.restart_max_count,
                config.restart_reset_time,
            ),
        )
        self._functions: dict[str, tuple[bool, str]] | None = None
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None

    def register(self, pipeline: CommitPipeline) -> None:
        pipeline.register(self.planner)
        pipeline.observe(self.status.observe)
        pipeline.observe(self._graph_events)
        pipeline.observe_failure(self._graph_failure)
        # The supervisor re-reads which processes to watch after every commit, applied or
        # undone: those of the instances the commit touched.
        pipeline.observe(lambda plan: self.supervisor.changed(touched_instances(plan)))
        pipeline.observe_failure(
            lambda plan, reason: self.supervisor.changed(touched_instances(plan))
        )
        # Last, after every commit, applied or undone: freed memory goes back to the system.
        pipeline.observe(lambda plan: give_back_free_memory())
        pipeline.observe_failure(lambda plan, reason: give_back_free_memory())

    # ---- capabilities -------------------------------------------------------------------

    def readiness(self, tpl: Template) -> str | None:
        for kind, name in tpl.dependencies:
            if kind == "accelerator" and not self._has_accelerator(name):
                return f"missing capability: accelerator {name}"
        return self.capabilities.missing(tpl)

    def _has_accelerator(self, kind_or_name: str) -> bool:
        declared = {(a.name, a.kind) for a in self.capabilities.accelerators}
        tree = self.running_tops()
        if tree is not None:
            for acc in tree.find_all("/nnfv-node:node/accelerator"):
                declared.add(
                    (str(acc.find_path("name").value()), str(acc.find_path("kind").value()))
                )
        return any(kind_or_name in pair for pair in declared)

    def endpoint_support(self, ep: Endpoint) -> str | None:
        return unsupported_endpoint(ep.kind) or self.probe.missing(ENDPOINT_FEATURES[ep.kind])

    def committed(self) -> tuple[int, int]:
        """Memory and CPU weight declared by the templates of the running NF instances."""
        tpls = [members[0].template for members in self.planner.current.by_key.values()]
        return sum(t.memory or 0 for t in tpls), sum(t.cpu_weight or 0 for t in tpls)

    def admit(self, new_instances: list[Template]) -> None:
        """Refuse a commit whose new NFs declare more memory than the node has free."""
        need = sum(t.memory or 0 for t in new_instances)
        free = memory_available()
        if need > free:
            raise PlanRefused(
                f"admission: the new NFs declare {need} bytes of memory "
                f"({need / 2**20:.1f} MiB) but only {free} bytes ({free / 2**20:.1f} MiB) are "
                "free on this node",
                tag="resource-denied",
            )

    def templates(self) -> dict:
        """Shipped and configured templates, as running has them now."""
        return self.catalog.all(subtree_xml(self.running_tops(), TEMPLATES))

    def node_xml(self) -> str:
        return self.capabilities.xml(self.templates(), self.committed())

    # ---- events -----------------------------------------------------------------------

    def _nf_event(self, graph: str, nf: str, state: str, reason: str | None) -> None:
        self.publish(
            event_xml(SG, "nf-state-change", graph=graph, nf=nf, state=state, reason=reason)
        )

    def _graph_events(self, plan: Plan) -> None:
        for name, (old, new) in affected_graphs(plan).items():
            if new is None:
                event = "removed"
            elif old is None:
                event = "deployed"
            elif old.network_view() != new.network_view() or old.nfs != new.nfs:
                event = "updated"
            else:
                event = None
            if event:
                self.publish(event_xml(SG, "graph-change", graph=name, event=event))

    def _graph_failure(self, plan: Plan, reason: str) -> None:
        for name, (old, new) in affected_graphs(plan).items():
            if old != new:
                self.publish(
                    event_xml(SG, "graph-change", graph=name, event="failed", reason=reason)
                )

    # ---- the monitor --------------------------------------------------------------------

    def start_monitor(self) -> None:
        # The baseline is taken now, at start: a capability that appears before the first
        # tick is then announced like any later change.
        try:
            self._check_capabilities(publish=False)
        except Exception:
            log.exception("capability check failed")
        self._monitor = threading.Thread(target=self._watch, name="node-monitor", daemon=True)
        self._monitor.start()
        self.supervisor.start()

    def stop_monitor(self) -> None:
        self._stop.set()
        # First: no NF may be restarted while the agent stops.
        self.supervisor.stop(timeout=self.config.script_timeout * 3 + 5)
        # The agent is stopping: leave no empty per-node cgroup directory behind.
        try:
            self.cgroups.remove_empty_root()
        except CgroupError as exc:
            log.error("%s", exc)

    def _watch(self) -> None:
        while not self._stop.wait(self.config.monitor_interval):
            try:
                self._check_capabilities(publish=True)
            except Exception:
                log.exception("capability check failed")

    def _check_capabilities(self, *, publish: bool) -> None:
        templates = self.templates()
        now = {
            f.functional_type: (f.ready, f.reason)
            for f in self.capabilities.functions(templates).values()
        }
        before, self._functions = self._functions, now
        if not publish or before is None:
            return
        for ftype, (ready, reason) in sorted(now.items()):
            if before.get(ftype, (None, None))[0] != ready:
                self.publish(
                    event_xml(
                        NODE,
                        "capability-change",
                        functional_type=ftype,
                        ready=str(ready).lower(),
                        reason=reason or None,
                    )
                )
