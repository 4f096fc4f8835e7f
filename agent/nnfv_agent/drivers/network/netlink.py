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
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name == "IPRoute":
        return _load("pyroute2.iproute.linux").IPRoute
    if name == "NetlinkError":
        return _load("pyroute2.netlink.exceptions").NetlinkError
    raise AttributeError(name)
