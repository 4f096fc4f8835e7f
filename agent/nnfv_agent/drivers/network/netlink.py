"""pyroute2's rtnetlink client, loaded only when first needed, without pyroute2/__init__.

`import pyroute2` imports every pyroute2 protocol (IPDB, NDB, WireGuard, nl80211, ...): about
13 MB of a CPE's memory. Registering a bare package object first lets Python import just the
IPRoute module and what it needs (about 8 MB), and only once a graph needs netlink.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Iterable
from typing import Any, Protocol

_lock = threading.Lock()


def _load(module: str) -> types.ModuleType:
    with _lock:
        if "pyroute2" not in sys.modules:
            spec = importlib.util.find_spec("pyroute2")
            if spec is None or spec.submodule_search_locations is None:
                raise ImportError("pyroute2 is not installed")
            package = types.ModuleType("pyroute2")
            package.__path__ = list(spec.submodule_search_locations)
            package.__spec__ = spec
            package.__file__ = spec.origin
            sys.modules["pyroute2"] = package
        return importlib.import_module(module)


class LinkMessage(Protocol):
    """An rtnetlink link message as pyroute2 decodes it."""

    def get_attr(self, name: str) -> Any: ...

    def __getitem__(self, key: str) -> Any: ...


class IPRouteHandle(Protocol):
    """What the drivers use of pyroute2's IPRoute (pyroute2 itself is untyped)."""

    def link(self, command: str, **spec: Any) -> list[LinkMessage]: ...

    def link_lookup(self, **match: Any) -> list[int]: ...

    def get_links(self, *indexes: int) -> Iterable[LinkMessage]: ...

    def close(self) -> None: ...


class NetlinkFailure(Protocol):
    """pyroute2's NetlinkError: the kernel's errno is its `code`."""

    code: int


def ip_route() -> IPRouteHandle:
    """A new rtnetlink client in the calling thread's network namespace."""
    handle: IPRouteHandle = _load("pyroute2.iproute.linux").IPRoute()
    return handle


NFPROTO_NETDEV = 5


def netdev_table_names() -> list[str]:
    """The nftables netdev tables of the calling thread's namespace, by one netlink dump of
    tables only (the nft command fills its whole cache first: about 200 ms at 100 tables)."""
    nft = _load("pyroute2.nftables.main").NFTables(nfgen_family=NFPROTO_NETDEV)
    try:
        return [str(m.get_attr("NFTA_TABLE_NAME")) for m in nft.get_tables()]
    finally:
        nft.close()


def __getattr__(name: str) -> Any:
    if name == "IPRoute":
        return _load("pyroute2.iproute.linux").IPRoute
    if name == "NetlinkError":
        return _load("pyroute2.netlink.exceptions").NetlinkError
    raise AttributeError(name)
