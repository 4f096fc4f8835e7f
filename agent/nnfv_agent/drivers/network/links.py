"""Links and namespaces over netlink (pyroute2): veth pairs, vxlan, bridges, netns."""

from __future__ import annotations

import errno
import functools
import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ...errors import AgentError, Kind
from . import netlink, nlmsg, nsutil

log = logging.getLogger(__name__)
T = TypeVar("T")
RECYCLE_AFTER = 100  # requests on one pyroute2 IPRoute before it is replaced
REPLY_TIMEOUT = 5.0  # seconds; the kernel answers a link request at once, never a peer


class LinkError(AgentError):
    app_tag = "link-failed"


class LinkExists(LinkError):
    kind = Kind.DATA_EXISTS


def _nl(what: str, exc: netlink.NetlinkFailure) -> LinkError:
    return LinkError(f"{what}: {os.strerror(exc.code) if exc.code else exc}")


def _on_worker(method: Callable[..., T]) -> Callable[..., T]:
    """Run the method on the Links worker thread (which lives in the CPE namespace)."""

    @functools.wraps(method)
    def call(self: Links, *args: Any, **kwargs: Any) -> T:
        if threading.current_thread() is self._worker_thread:
            return method(self, *args, **kwargs)
        return self._pool.submit(method, self, *args, **kwargs).result()

    return call


class Links:
    """All link operations of one CPE namespace (None = the agent's own namespace).

    pyroute2 opens its netlink socket again for every thread that uses it, in that thread's
    namespace; so one worker thread enters the CPE namespace for good and does all the work.
    """

    def __init__(self, cpe_netns: str | None) -> None:
        self.cpe_netns = cpe_netns
        self._ipr: netlink.IPRouteHandle | None = None
        self._uses = 0
        # For the requests encoded by nlmsg; only the worker thread uses it.
        self._rtnl: socket.socket | None = None
        self._seq = 0
        self._worker_thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="netlink", initializer=self._enter
        )

    def _enter(self) -> None:
        self._worker_thread = threading.current_thread()
        if self.cpe_netns:
            nsutil.enter_for_good(self.cpe_netns)

    @property
    def ipr(self) -> netlink.IPRouteHandle:
        # pyroute2's IPRoute keeps a few kB per request for as long as it lives (measured: 4 kB
        # per link lookup, 8 kB per veth created and deleted; not given back by malloc_trim),
        # so a long-lived one is a slow leak on a CPE. It is replaced after RECYCLE_AFTER uses,
        # which costs about one request's time (bench/soak.py shows the effect).
        if self._ipr is not None and self._uses >= RECYCLE_AFTER:
            self._ipr.close()
            self._ipr = None
        if self._ipr is None:
            self._ipr = netlink.ip_route()
            self._uses = 0
        self._uses += 1
        return self._ipr

    @_on_worker
    def close(self) -> None:
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None
        if self._rtnl is not None:
            self._rtnl.close()
            self._rtnl = None

    def _request(self, build: Callable[[int], bytes]) -> int:
        """Send the message `build(seq)` on the worker's own rtnetlink socket; the kernel's
        answer: 0, or a negative errno."""
        if self._rtnl is None:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            sock.settimeout(REPLY_TIMEOUT)
            self._rtnl = sock
        self._seq += 1
        try:
            return nlmsg.exchange(self._rtnl, build(self._seq), [self._seq])[self._seq]
        except OSError:  # includes an answer that never came: the socket is not reused
            self._rtnl.close()
            self._rtnl = None
            raise

    # ---- queries ------------------------------------------------------------------------

    # The two queries the supervisor and the commit path ask most go through libc, not
    # pyroute2: at 500 links a pyroute2 dump takes 400-500 ms of Python (holding the GIL) where
    # if_nameindex(3) takes 5 ms. Both run on the worker thread, i.e. in the CPE namespace.

    @_on_worker
    def index(self, ifname: str) -> int | None:
        try:
            return socket.if_nametoindex(ifname)
        except OSError:  # ENODEV; a name too long for IFNAMSIZ names no link either
            return None

    @_on_worker
    def indices_of(self, names: Collection[str]) -> dict[str, int]:
        """The ifindex of each of `names` that exists, in one hop to the worker thread (a hop
        waits for the GIL, and the more NFs the node runs, the longer that wait)."""
        found = {name: self.index(name) for name in names}
        return {name: index for name, index in found.items() if index is not None}

    @_on_worker
    def exists(self, ifname: str) -> bool:
        return self.index(ifname) is not None

    @_on_worker
    def names(self) -> list[str]:
        return [name for _, name in socket.if_nameindex()]

    @_on_worker
    def indices(self) -> dict[str, int]:
        """Every link by name, with its ifindex (one if_nameindex(3) call)."""
        return {name: index for index, name in socket.if_nameindex()}

    # ---- veth ---------------------------------------------------------------------------

    @_on_worker
    def create_veth(
        self, name: str, peer: str, peer_netns: str | None = None, peer_address: str | None = None
    ) -> None:
        """A veth pair; `name` stays in the CPE namespace, `peer` goes to `peer_netns`.

        One request encoded by nlmsg (pyroute2's encoding cost as much as the kernel's work),
        which also brings `name` up; `peer` is brought up by an ioctl in its namespace."""
        what = f"cannot create veth {name}/{peer}"
        try:
            netns_fd = os.open(nsutil.path(peer_netns), os.O_RDONLY) if peer_netns else None
        except OSError as exc:
            raise LinkError(f"{what}: network namespace {peer_netns}: {exc.strerror}") from None
        try:
            code = self._request(
                lambda seq: nlmsg.new_veth(
                    name, peer, seq, peer_netns_fd=netns_fd, peer_address=peer_address
                )
            )
        except OSError as exc:
            raise LinkError(f"{what}: {exc}") from None
        finally:
            if netns_fd is not None:
                os.close(netns_fd)
        if code == -errno.EEXIST:
            raise LinkExists(f"cannot create veth {name}: it already exists")
        if code:
            raise LinkError(f"{what}: {os.strerror(-code)}")
        try:
            if peer_netns:
                with nsutil.entered(peer_netns):
                    nsutil.set_up(peer)
            else:
                nsutil.set_up(peer)
        except OSError as exc:
            raise LinkError(f"cannot bring veth {name}/{peer} up: {exc}") from None

    @_on_worker
    def set_up(self, name: str) -> None:
        idx = self.index(name)
        if idx is None:
            raise LinkError(f"interface {name} does not exist")
        try:
            self.ipr.link("set", index=idx, state="up")
        except netlink.NetlinkError as exc:
            raise _nl(f"cannot bring {name} up", exc) from None

    @_on_worker
    def delete(self, name: str) -> None:
        idx = self.index(name)
        if idx is None:
            return
        try:
            self.ipr.link("del", index=idx)
        except netlink.NetlinkError as exc:
            if exc.code != errno.ENODEV:
                raise _nl(f"cannot delete {name}", exc) from None

    @_on_worker
    def delete_many(self, names: list[str]) -> None:
        """Delete several devices in one kernel batch.

        Deleting devices one by one waits for an RCU grace period each (tens of ms); the
        kernel deletes a whole device group in one unregister batch. The devices are put
        into a fresh group first (cheap), then the group is deleted.
        """
        index = {name: idx for idx, name in socket.if_nameindex()}
        present = [index[n] for n in names if n in index]
        if not present:
            return
        group = 0x4E000000 | random.getrandbits(24)  # no other user of groups here
        try:
            for idx in present:
                self.ipr.link("set", index=idx, group=group)
            self.ipr.link("del", index=0, group=group)
        except netlink.NetlinkError as exc:
            raise _nl(f"cannot delete {len(present)} devices", exc) from None

    # ---- vxlan and bridges ----------------------------------------------------------------

    @_on_worker
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
        except netlink.NetlinkError as exc:
            raise _nl(f"cannot create vxlan {name} (vni {vni})", exc) from None
        self.set_up(name)

    @_on_worker
    def ensure_bridge(self, name: str) -> None:
        if self.exists(name):
            return
        try:
            self.ipr.link("add", ifname=name, kind="bridge")
        except netlink.NetlinkError as exc:
            raise _nl(f"cannot create bridge {name}", exc) from None
        self.set_up(name)

    @_on_worker
    def enslave(self, name: str, bridge: str) -> None:
        try:
            # Indices first: `self.ipr` may be replaced by the look-ups (RECYCLE_AFTER).
            port, master = self.index(name), self.index(bridge)
            self.ipr.link("set", index=port, master=master)
        except netlink.NetlinkError as exc:
            raise _nl(f"cannot add {name} to bridge {bridge}", exc) from None

    @_on_worker
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
    if nsutil.exists(name):
        raise LinkError(f"network namespace {name} already exists")
    try:
        nsutil.create(name)
        with nsutil.entered(name):
            nsutil.set_up("lo")
    except OSError as exc:
        raise LinkError(f"cannot create network namespace {name}: {exc}") from None


def delete_netns(name: str) -> None:
    try:
        nsutil.remove(name)
    except OSError as exc:
        raise LinkError(f"cannot delete network namespace {name}: {exc}") from None


def port_states(netns_name: str, names: list[str]) -> dict[str, bool]:
    """Of the interfaces `names` inside namespace `netns_name`: name -> administratively up
    (absent when missing)."""
    try:
        with nsutil.entered(netns_name):
            return nsutil.interfaces_up(names)
    except OSError as exc:
        raise LinkError(f"namespace {netns_name}: {exc}") from None


def list_netns(prefix: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir(nsutil.NETNS_RUN_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []
