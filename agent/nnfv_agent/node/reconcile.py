"""Make the kernel match the running datastore at start-up (after a restart or a kill -9).

Objects are named deterministically, so the wanted set is computed from running; whatever of
ours is not wanted is an orphan of an interrupted commit and is removed, and whatever is wanted
but missing or unhealthy is (re)created. Nothing is duplicated because creation is keyed by name.

Failures stay local: an NF that cannot be resolved here (its template or a dependency is gone)
is reported failed, with its reason, and its kernel objects are left as they are; every other
NF and graph is reconciled as usual. Only objects that carry this node's id are considered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Protocol

from ..commit.deployment import Deployment, Member, instance_of
from ..drivers.compute.cgroups import Cgroups
from ..drivers.compute.native import ComputeError
from ..drivers.network.links import LinkError, delete_netns, list_netns
from ..drivers.network.native import NetworkError
from ..model.graph import Graph
from .probe import KernelProbe
from .units import Kernel, rebuild_instance

log = logging.getLogger(__name__)


class Plant(Kernel, Protocol):
    """The kernel-facing parts the reconciler converges (the data plane is one): the drivers
    units are rebuilt through, the probe and the cgroups.

    Declared here so that this module does not import the data plane that wires it.
    """

    @property
    def probe(self) -> KernelProbe: ...

    @property
    def cgroups(self) -> Cgroups: ...


class Reconciler:
    def __init__(self, dp: Plant) -> None:
        self.dp = dp

    def run(self, wanted: Deployment) -> list[str]:
        """Converge the kernel to `wanted` (what running deploys, as the planner resolved it),
        one pass per kind of kernel object: NF instances, then links, then the LSI table.

        An NF that could not be resolved is left as it is (reported failed), not removed.
        """
        actions: list[str] = []
        actions.extend(f"removed stale probe namespace {n}" for n in self.dp.probe.remove_stale())
        wanted_links = self._instances(wanted, actions)
        self._links(wanted, wanted_links, actions)
        self._tables(wanted, actions)
        for action in actions:
            log.info("reconcile: %s", action)
        return actions

    def _instances(self, wanted: Deployment, actions: list[str]) -> set[str]:
        """Remove orphan instances, rebuild missing or unhealthy ones; the NF port devices that
        must stay."""
        dp = self.dp
        failed = wanted.unresolved
        instances = wanted.instances()
        # The objects of an NF that cannot be resolved stay as they are: they may still run it.
        kept = {dp.names.nf_netns(graph, nf) for graph, nf in failed}
        for (graph_name, nf), why in sorted(failed.items()):
            log.error("NF %s/%s cannot be reconciled, left as it is: %s", graph_name, nf, why)
            actions.append(f"left NF {graph_name}/{nf} as it is, failed: {why}")
            dp.compute.on_state(graph_name, nf, "failed", why)
        seen = (
            set(dp.compute.known_instances())
            | set(dp.names.our_netns(list_netns(dp.names.netns_prefix)))
            | set(dp.names.our_netns(dp.cgroups.list()))
        )
        for key in sorted(seen - set(instances) - kept):
            self._remove_orphan(key)
            actions.append(f"removed orphan NF instance {key}")

        wanted_links: set[str] = {
            dp.network.nf_port_device(graph_name, nf, port)
            for graph_name, nf in failed
            for port in wanted.graphs[graph_name].nfs[nf].ports
        }
        for key, members in sorted(instances.items()):
            devices = {
                dp.network.nf_port_device(m.graph, m.nf.id, p.name)
                for m in members
                for p in m.ports
            }
            wanted_links |= devices
            if dp.compute.healthy(instance_of(members)) and all(
                dp.network.links.exists(d) for d in devices
            ):
                continue
            actions.append(f"redeployed NF instance {key}")
            self._redeploy(members)
        return wanted_links

    def _links(self, wanted: Deployment, wanted_links: set[str], actions: list[str]) -> None:
        """Create missing endpoint devices; remove every link of ours nothing wants."""
        dp = self.dp
        for graph in wanted.enabled().values():
            for ep in graph.endpoints.values():
                if ep.kind in ("vxlan", "internal"):
                    device = dp.network.endpoint_device(graph.name, ep)
                    wanted_links.add(device)
                    if ep.kind == "internal":
                        wanted_links.add(dp.names.internal_peer(graph.name, ep.group or ""))
                        wanted_links.add(dp.names.internal_bridge(ep.group or ""))
                    if not dp.network.links.exists(device):
                        self._try(partial(dp.network.create_endpoint, graph.name, ep))
                        actions.append(f"recreated endpoint {graph.name}/{ep.id}")
        for link in sorted(set(dp.network.our_links()) - wanted_links):
            self._try(partial(dp.network.links.delete, link))
            actions.append(f"removed orphan link {link}")

    def _tables(self, wanted: Deployment, actions: list[str]) -> None:
        """Drop the chains of graphs no longer deployed, then write every enabled graph's."""
        dp = self.dp
        enabled = wanted.enabled()
        dp.network.forget_lsis()  # what the table holds now, not what this process last wrote

        def prune() -> None:
            batch = dp.network.prune_batch(enabled)
            dp.network.apply_steering(batch)
            if batch.text:
                actions.append("removed the LSIs of graphs no longer deployed")

        self._try(prune)
        graphs: dict[str, Graph | None] = dict(enabled)
        if graphs and not self._try(partial(self._apply_steering, graphs)):
            # One graph's LSI (say, of a failed NF whose ports are gone) must not keep the
            # others from being refreshed: one batch per graph; a failed one is left as it is.
            for name in sorted(graphs):
                self._try(partial(self._apply_steering, {name: graphs[name]}))

    def _apply_steering(self, graphs: dict[str, Graph | None]) -> None:
        self.dp.network.apply_steering(self.dp.network.steering_batch(graphs))

    def _remove_orphan(self, key: str) -> None:
        dp = self.dp
        try:
            if dp.compute.load_state(key) is not None:
                dp.compute.delete_key(key)
            dp.cgroups.delete(dp.compute.cgroup_name(key))
            delete_netns(key)
        except (ComputeError, LinkError, OSError) as exc:
            log.error("cannot remove orphan %s: %s", key, exc)

    def _redeploy(self, members: list[Member]) -> None:
        try:
            rebuild_instance(self.dp, members)
        except (ComputeError, NetworkError, LinkError, OSError) as exc:
            log.error("cannot redeploy %s: %s", members[0].key, exc)
            for m in members:
                self.dp.compute.on_state(m.graph, m.nf.id, "failed", f"cannot redeploy: {exc}")

    @staticmethod
    def _try(fn: Callable[[], object]) -> bool:
        try:
            fn()
        except (NetworkError, LinkError) as exc:
            log.error("reconcile: %s", exc)
            return False
        return True
