"""The native network driver: LSIs as chains of one nftables table, veth ports, vxlan, bridges."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from functools import partial

from ...errors import AgentError
from ...model.graph import Endpoint, Graph, PortRef
from ..naming import Names
from . import netlink, nsutil
from .links import LinkError, LinkExists, Links
from .nfobjects import CounterDeleter
from .nftables import (
    Chain,
    Counter,
    Lsi,
    LsiContent,
    Nft,
    SteeringError,
    lsi_content,
    nft_runner,
    render_changes,
    render_drop,
    stale_counters,
)

log = logging.getLogger(__name__)


# The endpoint kinds this driver implements. The YANG model also has `vlan`; it is refused
# (at validation, by the planner, and here) with the message of `unsupported_endpoint`.
ENDPOINT_KINDS = ("interface", "vxlan", "internal")


class NetworkError(AgentError):
    app_tag = "network-failed"


def unsupported_endpoint(kind: str) -> str | None:
    """None if this driver implements endpoints of `kind`, else why not (one honest message)."""
    if kind in ENDPOINT_KINDS:
        return None
    return f"missing capability: {kind} endpoints are not supported by this node's network driver"


def _netdev_tables(netns: str | None) -> list[str]:
    try:
        if netns is None:
            return netlink.netdev_table_names()
        with nsutil.entered(netns):
            return netlink.netdev_table_names()
    except (OSError, netlink.NetlinkError) as exc:  # the namespace, or the netlink dump
        raise NetworkError(f"cannot list the nftables tables: {exc}") from None


@dataclass(frozen=True)
class SteeringBatch:
    """An nft batch and what the node's LSI table holds once it is applied (by graph tag)."""

    text: str
    lsis: Mapping[str, Lsi] = field(default_factory=dict)
    # Counters of the node table that no rule uses once `text` is applied: deleted after it.
    stale_counters: tuple[str, ...] = ()


class NativeNetwork:
    def __init__(self, names: Names, cpe_netns: str | None) -> None:
        self.names = names
        self.cpe_netns = cpe_netns
        self.links = Links(cpe_netns)
        self.nft = Nft(
            nft_runner(cpe_netns),
            partial(_netdev_tables, cpe_netns),
            CounterDeleter(cpe_netns),
        )
        # What the LSI table holds, by graph tag: read once, then kept by apply_steering.
        self._lsis: dict[str, Lsi] | None = None
        self._lsi_lock = threading.Lock()

    # ---- ports --------------------------------------------------------------------------

    def nf_port_device(self, graph: str, nf: str, port: str) -> str:
        return self.names.lsi_port(graph, nf, port)

    def endpoint_device(self, graph: str, ep: Endpoint) -> str:
        if ep.kind == "interface":
            return ep.interface or ""
        if ep.kind == "vxlan":
            return self.names.vxlan(graph, ep.id)
        if ep.kind == "internal":
            return self.names.internal_port(graph, ep.group or "")
        raise NetworkError(f"endpoint {ep.id}: {unsupported_endpoint(ep.kind)}")

    def devices(self, graph: Graph) -> dict[str, str]:
        devices = {
            str(PortRef(endpoint=e.id)): self.endpoint_device(graph.name, e)
            for e in graph.endpoints.values()
        }
        for nf in graph.nfs.values():
            for port in nf.ports:
                devices[str(PortRef(nf=nf.id, port=port))] = self.nf_port_device(
                    graph.name, nf.id, port
                )
        return devices

    def create_nf_port(self, graph: str, nf: str, port: str, netns: str, ifname: str) -> None:
        device = self.nf_port_device(graph, nf, port)
        # A stable MAC: hosts that cached an NF's address (its gateway IP, say) keep reaching
        # it after the NF is re-created by a restart or an update.
        mac = self.names.nf_port_mac(graph, nf, port)
        try:
            try:
                self.links.create_veth(device, ifname, netns, peer_address=mac)
            except LinkExists:
                # The LSI end of an earlier instance of this very port, whose namespace the
                # kernel is still tearing down: its name is derived from the port, so it is ours.
                self.links.delete(device)
                self.links.create_veth(device, ifname, netns, peer_address=mac)
        except LinkError as exc:
            raise NetworkError(f"port {port} of NF {nf}: {exc}") from None

    def settle_nf_ports(self, ports: list[tuple[str, str, str]], timeout: float = 1.0) -> None:
        """After NF namespaces are gone: wait for the kernel to drop their ports' LSI ends.

        The kernel destroys a pair once its namespace's last user is gone (processes of the NF
        may take a moment to release it); past the timeout the remaining ends are deleted here.
        """
        devices = {self.nf_port_device(*p): p for p in ports}
        deadline = time.monotonic() + timeout
        while True:
            left = set(devices) & set(self.links.names())
            if not left:
                return
            if time.monotonic() > deadline:
                for device in sorted(left):
                    self.delete_nf_port(*devices[device])
                return
            time.sleep(0.01)

    def delete_nf_port(self, graph: str, nf: str, port: str) -> None:
        try:
            self.links.delete(self.nf_port_device(graph, nf, port))
        except LinkError as exc:
            raise NetworkError(f"port {port} of NF {nf}: {exc}") from None

    def create_endpoint(self, graph: str, ep: Endpoint) -> None:
        try:
            if ep.kind == "interface":
                if not self.links.exists(ep.interface or ""):
                    raise NetworkError(
                        f"endpoint {ep.id}: interface {ep.interface} does not exist on this node"
                    )
                self.links.set_up(ep.interface or "")
            elif ep.kind == "vxlan":
                self.links.create_vxlan(
                    self.names.vxlan(graph, ep.id),
                    ep.vni or 0,
                    ep.remote or "",
                    local=ep.local,
                    dst_port=ep.dst_port,
                    underlay=ep.interface,
                )
            elif ep.kind == "internal":
                group = ep.group or ""
                bridge = self.names.internal_bridge(group)
                self.links.ensure_bridge(bridge)
                peer = self.names.internal_peer(graph, group)
                self.links.create_veth(self.names.internal_port(graph, group), peer)
                self.links.enslave(peer, bridge)
            else:
                raise NetworkError(f"endpoint {ep.id}: {unsupported_endpoint(ep.kind)}")
        except LinkError as exc:
            raise NetworkError(f"endpoint {ep.id}: {exc}") from None

    def delete_endpoint(self, graph: str, ep: Endpoint, last: bool | None = None) -> None:
        """Remove an endpoint's devices; `last`: no graph joins its internal group any more
        (None: find out from the bridge, which costs a dump of every link)."""
        try:
            if ep.kind == "vxlan":
                self.links.delete(self.names.vxlan(graph, ep.id))
            elif ep.kind == "internal":
                group = ep.group or ""
                self.links.delete(self.names.internal_port(graph, group))
                bridge = self.names.internal_bridge(group)
                if last if last is not None else not self.links.bridge_ports(bridge):
                    self.links.delete(bridge)
        except LinkError as exc:
            raise NetworkError(f"endpoint {ep.id}: {exc}") from None

    def delete_endpoints(self, endpoints: list[tuple[str, Endpoint, bool]]) -> None:
        """Remove many endpoints' devices in one kernel batch: (graph, endpoint, last)."""
        devices = []
        for graph, ep, last in endpoints:
            if ep.kind == "vxlan":
                devices.append(self.names.vxlan(graph, ep.id))
            elif ep.kind == "internal":
                devices.append(self.names.internal_port(graph, ep.group or ""))
                if last:
                    devices.append(self.names.internal_bridge(ep.group or ""))
        try:
            self.links.delete_many(sorted(set(devices)))
        except LinkError as exc:
            raise NetworkError(f"endpoints of removed graphs: {exc}") from None

    # ---- steering -----------------------------------------------------------------------

    def steering_batch(self, graphs: dict[str, Graph | None]) -> SteeringBatch:
        """One nft batch that gives each graph in `graphs` its new LSI (None: none)."""
        present = self._present()
        devices = {name: self.devices(g) for name, g in graphs.items() if g is not None}
        found = self.links.indices_of({d for devs in devices.values() for d in devs.values()})

        def ifindex(device: str) -> int:
            if device not in found:
                raise NetworkError(f"cannot steer traffic to {device}: no such device")
            return found[device]

        wanted = {
            self.names.lsi_tag(name): (
                lsi_content(g, devices[name], ifindex) if g is not None else None
            )
            for name, g in graphs.items()
        }
        return self._batch(present, wanted)

    def prune_batch(self, keep: Collection[str]) -> SteeringBatch:
        """One nft batch that removes the LSI of every graph not in `keep`, and the per-graph
        tables an earlier version of the agent made."""
        present = self._present()
        kept = {self.names.lsi_tag(name) for name in keep}
        wanted: dict[str, LsiContent | None] = {tag: None for tag in present if tag not in kept}
        legacy = tuple(t for t in self.our_tables() if t != self.names.lsi_table)
        return self._batch(present, wanted, legacy)

    def _batch(
        self,
        present: dict[str, Lsi],
        wanted: dict[str, LsiContent | None],
        legacy: tuple[str, ...] = (),
    ) -> SteeringBatch:
        after = dict(present)
        for tag, content in wanted.items():
            if content is None:
                after.pop(tag, None)
            else:
                after[tag] = content.objects()
        table = self.names.lsi_table
        if not wanted and not legacy:
            text = ""
        elif not after:
            # The last graph goes: so does the node's table (nothing of this node is left).
            text = render_drop((*legacy, table)) if present or legacy else ""
        else:
            text = render_changes(table, present, wanted, legacy)
            return SteeringBatch(text, after, tuple(stale_counters(present, wanted)))
        return SteeringBatch(text, after)

    def _present(self) -> dict[str, Lsi]:
        with self._lsi_lock:
            if self._lsis is None:
                try:
                    self._lsis = self.nft.lsis(self.names.lsi_table, self.names.tag_of)
                except SteeringError as exc:
                    raise NetworkError(f"cannot read the LSI table: {exc}") from None
            return dict(self._lsis)

    def apply_steering(self, batch: SteeringBatch) -> None:
        try:
            self.nft.apply(batch.text)
            self.nft.delete_counters(self.names.lsi_table, batch.stale_counters)
        except SteeringError as exc:
            self.forget_lsis()
            raise NetworkError(f"steering rules rejected by nftables: {exc}") from None
        with self._lsi_lock:
            self._lsis = dict(batch.lsis)

    def forget_lsis(self) -> None:
        """Read the LSI table again before the next batch (someone else may have changed it)."""
        with self._lsi_lock:
            self._lsis = None

    def rule_counters(self) -> dict[str, Counter]:
        """The packet counters of every flow rule of this node, by counter name."""
        try:
            return self.nft.counters(self.names.lsi_table)
        except SteeringError as exc:
            raise NetworkError(f"cannot read the rule counters: {exc}") from None

    def lsi_chains(self) -> set[str] | None:
        """The chains the node's LSI table holds now (None: the table is gone)."""
        if self.names.lsi_table not in self.nft.tables():
            return None
        try:
            return self.nft.chains(self.names.lsi_table)
        except SteeringError as exc:
            raise NetworkError(f"cannot list the LSI chains: {exc}") from None

    def written_chains(self, graph: str) -> frozenset[Chain]:
        """The chains of `graph`'s LSI as this process last wrote them (none when the record
        was read back from the kernel, or is not there)."""
        with self._lsi_lock:
            record = (self._lsis or {}).get(self.names.lsi_tag(graph))
        return record.written if record is not None else frozenset()

    def lsi_chain_names(self, graph: Graph) -> dict[str, str]:
        """The base chain of each LSI port of `graph`, by device."""
        return {dev: self.names.lsi_chain(graph.name, dev) for dev in self.devices(graph).values()}

    # ---- inventory (for reconciliation) ---------------------------------------------------

    def our_tables(self) -> list[str]:
        """The LSI tables of this node (never those of another agent in the namespace)."""
        return [t for t in self.nft.tables() if self.names.is_our_table(t)]

    def our_links(self) -> list[str]:
        # `ip` here, not netlink: at start-up with nothing deployed this is the only look at
        # the links, and it should not cost pyroute2's memory.
        cmd = ["ip", *(["-n", self.cpe_netns] if self.cpe_netns else []), "-o", "link", "show"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False).stdout
        names = [
            line.split(":")[1].strip().split("@")[0]
            for line in out.splitlines()
            if line.count(":") >= 2
        ]
        return [n for n in names if self.names.is_our_link(n)]
