# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nnfv.cpe.cpe_facts: one <get>, parsed into ansible_facts.nnfv."""

from __future__ import annotations

import json

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.device import Device
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.errors import NnfvError
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.facts.node import (
    filters_for,
    node_facts,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import HAS_LXML


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
        self.module.exit_json(changed=False, ansible_facts={"nnfv": facts}, rpcs=self.device.rpcs)

    def gather(self):
        criteria, wanted = filters_for(self.module.params["gather_subset"])
        facts = node_facts(self.device.get(*criteria), wanted)
        facts["agent"] = self.agent_info()
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
