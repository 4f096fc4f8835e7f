"""Links and namespaces over netlink (pyroute2): veth pairs, vxlan, bridges, netns."""

from __future__ import annotations

import errno
import logging
import os
import threading

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

log = logging.getLogger(__name__)


class LinkError(Exception):
    pass


def _nl(what: str, exc: NetlinkError) -> LinkError:
    return LinkError(f"{what}: {os.strerror(exc.code) if exc.code else exc}")


class Links:
    """All link operations of one CPE namespace (None = the agent's own namespace)."""

    def __init__(self, cpe_netns: str | None) -> None:
        self.cpe_netns = cpe_netns
        self._ipr: IPRoute | None = None
        self._lock = threading.Lock()

    @property
    def ipr(self) -> IPRoute:
        if self._ipr is None:
            self._ipr = IPRoute(netns=self.cpe_netns) if self.cpe_netns else IPRoute()
        return self._ipr

    def close(self) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None

    # ---- queries ------------------------------------------------------------------------

    def index(self, ifname: str) -> int | None:
        found = self.ipr.link_lookup(ifname=ifname)
        return found[0] if found else None

    def exists(self, ifname: str) -> bool:
        return self.index(ifname) is not None

    def names(self) -> list[str]:
        return [link.get_attr("IFLA_IFNAME") for link in self.ipr.get_links()]

    # ---- veth ---------------------------------------------------------------------------

    def create_veth(self, name: str, peer: str, peer_netns: str | None = None) -> None:
        """A veth pair; `name` stays in the CPE namespace, `peer` goes to `peer_netns`."""
        peer_spec: dict = {"ifname": peer}
        if peer_netns:
            peer_spec["net_ns_fd"] = peer_netns
        try:
            self.ipr.link("add", ifname=name, kind="veth", peer=peer_spec)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise _nl(f"cannot create veth {name}/{peer}", exc) from None
            raise LinkError(f"cannot create veth {name}: it already exists") from None
        self.set_up(name)
        if peer_netns:
            with IPRoute(netns=peer_netns) as inner:
                idx = inner.link_lookup(ifname=peer)[0]
                inner.link("set", index=idx, state="up")
        else:
            self.set_up(peer)

    def set_up(self, name: str) -> None:
        idx = self.index(name)
        if idx is None:
            raise LinkError(f"interface {name} does not exist")
        try:
            self.ipr.link("set", index=idx, state="up")
        except NetlinkError as exc:
            raise _nl(f"cannot bring {name} up", exc) from None

    def delete(self, name: str) -> None:
        idx = self.index(name)
        if idx is None:
            return
        try:
            self.ipr.link("del", index=idx)
        except NetlinkError as exc:
            if exc.code != errno.ENODEV:
                raise _nl(f"cannot delete {name}", exc) from None

    # ---- vxlan and bridges ----------------------------------------------------------------

    def create_vxlan(
        self,
        name: str,
        vni: int,
        remote: str,
        *,
        local: str | None,
        dst_port: int,
        underlay: str | None,
    ) -> None:
        spec: dict = {
            "ifname": name,
            "kind": "vxlan",
            "vxlan_id": vni,
            "vxlan_port": dst_port,
            "vxlan_learning": 0,
        }
        spec["vxlan_group6" if ":" in remote else "vxlan_group"] = remote
        if local:
            spec["vxlan_local6" if ":" in local else "vxlan_local"] = local
        if underlay:
            idx = self.index(underlay)
            if idx is None:
                raise LinkError(f"vxlan underlay interface {underlay} does not exist")
            spec["vxlan_link"] = idx
        try:
            self.ipr.link("add", **spec)
        except NetlinkError as exc:
            raise _nl(f"cannot create vxlan {name} (vni {vni})", exc) from None
        self.set_up(name)

    def ensure_bridge(self, name: str) -> None:
        if self.exists(name):
            return
        try:
            self.ipr.link("add", ifname=name, kind="bridge")
        except NetlinkError as exc:
            raise _nl(f"cannot create bridge {name}", exc) from None
        self.set_up(name)

    def enslave(self, name: str, bridge: str) -> None:
        try:
            self.ipr.link("set", index=self.index(name), master=self.index(bridge))
        except NetlinkError as exc:
            raise _nl(f"cannot add {name} to bridge {bridge}", exc) from None

    def bridge_ports(self, bridge: str) -> list[str]:
        idx = self.index(bridge)
        if idx is None:
            return []
        return [
            link.get_attr("IFLA_IFNAME")
            for link in self.ipr.get_links()
            if link.get_attr("IFLA_MASTER") == idx
        ]


def create_netns(name: str) -> None:
    if name in netns.listnetns():
        raise LinkError(f"network namespace {name} already exists")
    try:
        netns.create(name)
    except OSError as exc:
        raise LinkError(f"cannot create network namespace {name}: {exc}") from None
    with IPRoute(netns=name) as ipr:
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")


def delete_netns(name: str) -> None:
    if name not in netns.listnetns():
        return
    try:
        netns.remove(name)
    except OSError as exc:
        raise LinkError(f"cannot delete network namespace {name}: {exc}") from None


def list_netns(prefix: str) -> list[str]:
    return [n for n in netns.listnetns() if n.startswith(prefix)]
