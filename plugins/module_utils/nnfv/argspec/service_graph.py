# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Argument spec of nnfv.cpe.service_graph: the YANG module nnfv-service-graph, in YAML.

Option names are the YANG names with '-' written '_'; lists are plural (nf -> nfs,
endpoint -> endpoints, flow-rule -> flow_rules, port -> ports, config-parameter ->
config_parameters). Only list keys are required here: the agent validates the rest (must,
mandatory, leafref) and its rpc-error names the path.
"""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.common import (
    resource_options,
)

NF_OPTIONS = {
    "id": {"type": "str", "required": True},
    "functional_type": {"type": "str"},
    "template": {"type": "str"},
    "flavour": {"type": "str", "choices": ["native", "docker", "vm", "any"]},
    "admin_state": {"type": "str", "choices": ["running", "paused"]},
    "ports": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "description": {"type": "str"},
        },
    },
    "config_parameters": {
        "type": "list",
        "elements": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "value": {"type": "str"},
        },
    },
}

ENDPOINT_OPTIONS = {
    "id": {"type": "str", "required": True},
    "interface": {"type": "str"},
    "vlan": {
        "type": "dict",
        "options": {
            "interface": {"type": "str"},
            "vlan_id": {"type": "int"},
        },
    },
    "vxlan": {
        "type": "dict",
        "options": {
            "remote": {"type": "str"},
            "vni": {"type": "int"},
            "local": {"type": "str"},
            "dst_port": {"type": "int"},
            "interface": {"type": "str"},
        },
    },
    "internal_group": {"type": "str"},
}

MATCH_OPTIONS = {
    "port_in": {"type": "str"},
    "ether_type": {"type": "int"},
    "vlan_id": {"type": "int"},
    "source_mac": {"type": "str"},
    "destination_mac": {"type": "str"},
    "source_ipv4": {"type": "str"},
    "destination_ipv4": {"type": "str"},
    "source_ipv6": {"type": "str"},
    "destination_ipv6": {"type": "str"},
    "ip_protocol": {"type": "int"},
    "source_port": {"type": "int"},
    "destination_port": {"type": "int"},
    "dscp": {"type": "int"},
}

ACTION_OPTIONS = {
    "output": {"type": "list", "elements": "str"},
    "drop": {"type": "bool"},
    "set_source_mac": {"type": "str"},
    "set_destination_mac": {"type": "str"},
    "set_source_ipv4": {"type": "str"},
    "set_destination_ipv4": {"type": "str"},
    "set_source_ipv6": {"type": "str"},
    "set_destination_ipv6": {"type": "str"},
}

FLOW_RULE_OPTIONS = {
    "id": {"type": "str", "required": True},
    "priority": {"type": "int"},
    "match": {"type": "dict", "options": MATCH_OPTIONS},
    "actions": {
        "type": "dict",
        "options": ACTION_OPTIONS,
        "mutually_exclusive": [["output", "drop"]],
    },
}

GRAPH_OPTIONS = {
    "name": {"type": "str", "required": True},
    "description": {"type": "str"},
    "admin_state": {"type": "str", "choices": ["enabled", "disabled"]},
    "nfs": {
        "type": "list",
        "elements": "dict",
        "options": NF_OPTIONS,
        "mutually_exclusive": [["functional_type", "template"]],
    },
    "endpoints": {
        "type": "list",
        "elements": "dict",
        "options": ENDPOINT_OPTIONS,
        "mutually_exclusive": [["interface", "vlan", "vxlan", "internal_group"]],
    },
    "flow_rules": {"type": "list", "elements": "dict", "options": FLOW_RULE_OPTIONS},
}

ARGUMENT_SPEC = resource_options(GRAPH_OPTIONS)
