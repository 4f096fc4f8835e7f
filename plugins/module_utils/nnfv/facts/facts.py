# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nnfv.cpe.cpe_facts: one <get>, parsed into ansible_facts.nnfv and, for the network
resources asked for, ansible_facts.ansible_network_resources."""

from __future__ import annotations

import json

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.device import Device
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.errors import NnfvError
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.nf_template import (
    CONFIG_FILTER as TEMPLATES_FILTER,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.nf_template import (
    TEMPLATES,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.node import (
    filters_for,
    node_facts,
    resolve_subsets,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    CONFIG_FILTER as GRAPHS_FILTER,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.service_graph import (
    GRAPHS,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import HAS_LXML

# network resource -> (its Model, subtree criteria); the facts are what the resource
# module's `gathered` state returns.
FACT_RESOURCE_SUBSETS = {
    "service_graph": (GRAPHS, GRAPHS_FILTER),
    "nf_template": (TEMPLATES, TEMPLATES_FILTER),
}


class CpeFacts:
    def __init__(self, module, device=None):
        self.module = module
        self.device = device or Device(module)

    def run(self):
        if not HAS_LXML:
            from ansible.module_utils.basic import missing_required_lib

            self.module.fail_json(msg=missing_required_lib("lxml"))
        try:
            facts = self.gather()
        except NnfvError as exc:
            self.module.fail_json(rpcs=self.device.rpcs, **exc.result())
        self.module.exit_json(changed=False, ansible_facts=facts, rpcs=self.device.rpcs)

    def gather(self):
        params = self.module.params
        resources = sorted(
            resolve_subsets(params.get("gather_network_resources"), FACT_RESOURCE_SUBSETS)
        )
        full = [FACT_RESOURCE_SUBSETS[name][1] for name in resources]
        criteria, wanted = filters_for(params["gather_subset"], full)
        root = self.device.get(*criteria) if criteria else None
        nnfv = node_facts(root, wanted) if wanted else {}
        nnfv["agent"] = self.agent_info()
        facts = {
            "nnfv": nnfv,
            "ansible_net_gather_subset": sorted(wanted),
            "ansible_net_gather_network_resources": resources,
        }
        if resources:
            facts["ansible_network_resources"] = {
                name: [
                    FACT_RESOURCE_SUBSETS[name][0].clean(entry)
                    for entry in FACT_RESOURCE_SUBSETS[name][0].entries_from_xml(root)
                ]
                for name in resources
            }
        return facts

    def agent_info(self):
        """From the hello the connection already holds: no RPC."""
        try:
            caps = json.loads(self.device.capabilities())
        except (ValueError, TypeError, NnfvError):
            return {}
        info = caps.get("device_info") or {}
        return {
            "network_os": info.get("network_os"),
            "version": info.get("network_os_version"),
            "modules": info.get("network_os_modules") or {},
            "session_id": caps.get("session_id"),
        }
