"""One NF instance, or one graph's LSI, as a unit of the node: is it whole, and rebuilding it.

Start-up reconciliation and runtime supervision both judge and rebuild units; this is what they
share. Kernel reads and driver calls only: no lock, no restart policy, no events.
"""

from __future__ import annotations

import logging
import select
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Protocol

from ..commit.deployment import Member, instance_of
from ..drivers.compute.instance import NFInstance
from ..drivers.compute.native import ComputeError, NativeCompute
from ..drivers.naming import Names
from ..drivers.network.links import LinkError, port_states
from ..drivers.network.native import NativeNetwork
from ..model.graph import Graph

log = logging.getLogger(__name__)

RUNNING = ("running", "paused")


class Kernel(Protocol):
    """The drivers a unit is read and rebuilt through (the data plane is one)."""

    @property
    def compute(self) -> NativeCompute: ...

    @property
    def network(self) -> NativeNetwork: ...

    @property
    def names(self) -> Names: ...


class View:
    """The kernel objects of the CPE namespace, read once per check round and only if needed."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._indices: dict[str, int] | None = None
        self._lsi_chains: set[str] | None = None
        self._lsi_read = False

    def indices(self) -> dict[str, int]:
        """The links of the CPE namespace by name, with their ifindex."""
        if self._indices is None:
            self._indices = self.kernel.network.links.indices()
        return self._indices

    def links(self) -> Collection[str]:
        return self.indices().keys()

    def lsi_chains(self) -> set[str] | None:
        """None: the node's LSI table is gone."""
        if not self._lsi_read:
            self._lsi_chains = self.kernel.network.lsi_chains()
            self._lsi_read = True
        return self._lsi_chains


def nf_problem(
    kernel: Kernel, members: list[Member], view: View, pidfds: Mapping[int, int]
) -> str | None:
    """What is wrong with a running NF instance, checked cheapest first; None if nothing.

    `pidfds` (fd -> pid) are the instance's processes as watched since its last start.
    """
    key = members[0].key
    state = kernel.compute.load_state(key)
    if state is None:
        return f"the state record of instance {key} is gone"
    if state.state == "failed":
        return state.last_error or "failed"
    if state.state not in RUNNING:
        return None  # being created or stopped by a commit
    if not Path(f"/run/netns/{key}").exists():
        return f"its namespace {key} is gone"
    for fd, pid in sorted(pidfds.items()):
        if exited(fd):
            return f"its process {pid} exited"
    inst = instance_of(members)
    problem = _port_problem(kernel, members, inst, view)
    if problem is None and state.state == "running":
        problem = kernel.compute.status_error(inst)
    return problem or None


def _port_problem(
    kernel: Kernel, members: list[Member], inst: NFInstance, view: View
) -> str | None:
    """Both ends of every port: the LSI side in the CPE, the NF side in its namespace."""
    for m in members:
        for port in m.ports:
            device = kernel.network.nf_port_device(m.graph, m.nf.id, port.name)
            if device not in view.links():
                where = f"{m.graph}/{m.nf.id}:{port.name}"
                return f"the LSI side {device} of its port {where} is gone"
    try:
        inside = port_states(inst.key, [p.ifname for p in inst.ports])
    except LinkError as exc:
        return f"cannot inspect its namespace: {exc}"
    for port in inst.ports:
        if port.ifname not in inside:
            return f"its port {port.name} ({port.ifname}) is gone from its namespace"
    return None


def lsi_problem(kernel: Kernel, graph: Graph, view: View) -> str | None:
    """What is missing of a graph's LSI: an endpoint device, the node's table, a port's chain."""
    network = kernel.network
    for ep in graph.endpoints.values():
        if ep.kind in ("vxlan", "internal"):
            device = network.endpoint_device(graph.name, ep)
            if device not in view.links():
                return f"the LSI port {device} of endpoint {ep.id} is gone"
    chains = view.lsi_chains()
    if chains is None:
        return f"the node's LSI table {kernel.names.lsi_table} is gone"
    for device, chain in sorted(network.lsi_chain_names(graph).items()):
        # Older kernels (Debian 12's 6.1) drop a port's chain with its device; a missing
        # NF port is the NF's failure (its own check says so; its repair rebuilds the chain).
        if chain not in chains and device in view.links():
            return f"the LSI chain {chain} of its port {device} is gone"
    for written in sorted(network.written_chains(graph.name), key=lambda c: c.name):
        # Rules forward to an ifindex: a port made again by someone else (a NIC unplugged and
        # plugged back) would silently take no traffic.
        now = view.indices().get(written.device)
        if now is not None and now != written.ifindex:
            return (
                f"the LSI port {written.device} was made again (ifindex {written.ifindex}, "
                f"now {now}): the graph's rules must be written for it again"
            )
    return None


def instance_intact(kernel: Kernel, members: list[Member]) -> bool:
    """Its namespace and every port (both sides) are still there."""
    key = members[0].key
    if not Path(f"/run/netns/{key}").exists():
        return False
    view = View(kernel)
    if any(
        kernel.network.nf_port_device(m.graph, m.nf.id, port.name) not in view.links()
        for m in members
        for port in m.ports
    ):
        return False
    inst = instance_of(members)
    try:
        inside = port_states(key, [p.ifname for p in inst.ports])
    except LinkError:
        return False
    return all(p.ifname in inside for p in inst.ports)


def rebuild_instance(kernel: Kernel, members: list[Member]) -> None:
    """Delete the instance and create it again with its ports, then start it (paused again if
    every NF it serves is). The LSI side of its ports is new: its graphs' chains must follow."""
    compute, network = kernel.compute, kernel.network
    inst = instance_of(members)
    compute.delete(inst)
    compute.create(inst)
    for m in members:
        for port in m.ports:
            network.links.delete(network.nf_port_device(m.graph, m.nf.id, port.name))
            network.create_nf_port(m.graph, m.nf.id, port.name, m.key, port.ifname)
    _start(kernel, members, inst)


def restart_instance(kernel: Kernel, members: list[Member], graphs: dict[str, Graph]) -> None:
    """Stop what is left of a failed instance and start it again: in place if its namespace and
    ports are whole (its workdir, which may hold its state such as DHCP leases, stays), else
    rebuilt, with the LSIs of `graphs` (those it serves) applied again to its new ports."""
    inst = instance_of(members)
    try:
        kernel.compute.stop(inst)
    except ComputeError as exc:
        log.info("stopping the remains of %s: %s", inst.key, exc)
    if instance_intact(kernel, members):
        _start(kernel, members, inst)
        return
    rebuild_instance(kernel, members)
    served = {m.graph: graphs[m.graph] for m in members if m.graph in graphs}
    kernel.network.apply_steering(kernel.network.steering_batch(dict(served)))


def repair_lsi(kernel: Kernel, graph: Graph) -> None:
    """Create its missing endpoint devices and write its chains and counters again."""
    network = kernel.network
    present = set(network.links.names())
    for ep in graph.endpoints.values():
        if (
            ep.kind in ("vxlan", "internal")
            and network.endpoint_device(graph.name, ep) not in present
        ):
            network.create_endpoint(graph.name, ep)
    network.forget_lsis()  # someone else changed the table: read what it holds now
    network.apply_steering(network.steering_batch({graph.name: graph}))


def _start(kernel: Kernel, members: list[Member], inst: NFInstance) -> None:
    kernel.compute.start(inst)
    if all(m.nf.admin_state == "paused" for m in members):
        kernel.compute.pause(inst)


def exited(pidfd: int) -> bool:
    """The process behind `pidfd` has ended (a pidfd turns readable then)."""
    ready, _, _ = select.select([pidfd], [], [], 0)
    return bool(ready)
