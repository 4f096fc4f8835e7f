"""Wires the commit planner to the native drivers (or to nothing, for a config-only agent)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from .commit.pipeline import CommitPipeline
from .commit.planner import GraphPlanner, Resolver
from .config import AgentConfig
from .drivers.compute.cgroups import Cgroups
from .drivers.compute.native import NativeCompute
from .drivers.compute.scripts import SAFE_PATH
from .drivers.naming import Names
from .drivers.network.native import NativeNetwork
from .model.graph import Endpoint
from .model.template import Template
from .node.catalog import Catalog
from .node.probe import KernelProbe
from .node.status import StatusReporter

log = logging.getLogger(__name__)

ENDPOINT_FEATURES = {
    "vlan": "8021q",
    "vxlan": "vxlan",
    "internal": "bridge",
    "interface": "nft-netdev-fwd",
}


class DataPlane:
    def __init__(self, config: AgentConfig, state_dir: Path) -> None:
        self.config = config
        self.names = Names(config.effective_node_id)
        self.probe = KernelProbe()
        self.catalog = Catalog(state_dir / "cache")
        self.network = NativeNetwork(self.names, config.netns)
        self.cgroups = Cgroups(root=f"nnfv/{self.names.node_id}")
        self.compute = NativeCompute(state_dir, self.cgroups, script_timeout=config.script_timeout)
        self.resolver = Resolver(
            self.names, self.catalog.all, self.compute.deployed_template, self.readiness
        )
        self.planner = GraphPlanner(
            self.resolver, self.network, self.compute, self.endpoint_support
        )

        self.status = StatusReporter(self)

    def register(self, pipeline: CommitPipeline) -> None:
        pipeline.register(self.planner)
        pipeline.observe(self.status.observe)

    def readiness(self, tpl: Template) -> str | None:
        """None when every dependency of the template is met on this node."""
        for kind, name in tpl.dependencies:
            if kind == "kernel-feature":
                why = self.probe.missing(name)
                if why:
                    return why
            elif kind == "executable" and not shutil.which(name, path=SAFE_PATH):
                return f"missing capability: executable {name}"
        return None

    def endpoint_support(self, ep: Endpoint) -> str | None:
        return self.probe.missing(ENDPOINT_FEATURES[ep.kind])
