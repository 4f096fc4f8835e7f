# Copyright (c) 2026 nnfv maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Device XML -> normalised dicts for /graphs (nnfv-service-graph), config and status."""

from __future__ import annotations

from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.argspec.service_graph import (
    GRAPH_OPTIONS,
)
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.model import Model
from ansible_collections.nnfv.cpe.plugins.module_utils.nnfv.xml import (
    SG_NS,
    findall,
    text_of,
)

_SET = ["output", "set_source_mac", "set_destination_mac", "set_source_ipv4"]
_SET += ["set_destination_ipv4", "set_source_ipv6", "set_destination_ipv6"]

GRAPHS = Model(
    namespace=SG_NS,
    container="graphs",
    list_name="graph",
    label="graph",
    options=GRAPH_OPTIONS,
    keys={
        "": ("name",),
        "nfs": ("id",),
        "nfs.ports": ("name",),
        "nfs.config_parameters": ("name",),
        "endpoints": ("id",),
        "flow_rules": ("id",),
    },
    yang_names={
        "nfs": "nf",
        "endpoints": "endpoint",
        "flow_rules": "flow-rule",
        "ports": "port",
        "config_parameters": "config-parameter",
    },
    defaults={
        "admin_state": "enabled",
        "nfs.flavour": "any",
        "nfs.admin_state": "running",
        "endpoints.vxlan.dst_port": 4789,
    },
    choices={
        "nfs": [["functional_type"], ["template"]],
        "endpoints": [["interface"], ["vlan"], ["vxlan"], ["internal_group"]],
        "flow_rules.actions": [_SET, ["drop"]],
    },
    value_types={
        "flow_rules.match.source_mac": "mac-address",
        "flow_rules.match.destination_mac": "mac-address",
        "flow_rules.match.source_ipv4": "ip-prefix",
        "flow_rules.match.destination_ipv4": "ip-prefix",
        "flow_rules.match.source_ipv6": "ip-prefix",
        "flow_rules.match.destination_ipv6": "ip-prefix",
        "flow_rules.actions.set_source_mac": "mac-address",
        "flow_rules.actions.set_destination_mac": "mac-address",
        "flow_rules.actions.set_source_ipv4": "ip-address",
        "flow_rules.actions.set_destination_ipv4": "ip-address",
        "flow_rules.actions.set_source_ipv6": "ip-address",
        "flow_rules.actions.set_destination_ipv6": "ip-address",
        "endpoints.vxlan.remote": "ip-address",
        "endpoints.vxlan.local": "ip-address",
    },
    empty=["flow_rules.actions.drop"],
    unordered=["flow_rules.actions.output"],
    sub_units=["nfs", "endpoints", "flow_rules"],
    sub_labels={"nfs": "nf", "endpoints": "endpoint", "flow_rules": "flow-rule"},
    mandatory={
        "nfs": [("functional_type", "template")],
        "nfs.config_parameters": [("value",)],
        "endpoints": [("interface", "vlan", "vxlan", "internal_group")],
        "endpoints.vlan": [("interface",), ("vlan_id",)],
        "endpoints.vxlan": [("remote",), ("vni",)],
        "flow_rules": [("priority",), ("match.port_in",), ("actions.output", "actions.drop")],
    },
)

CONFIG_FILTER = f'<graphs xmlns="{SG_NS}"/>'


def graph_status(root):
    """{graph name: {state, last_change, error, nfs: {id: {...}}, rules: {id: counters}}}."""
    out = {}
    for graph in findall(root, ".//nfg:graphs/nfg:graph"):
        name = text_of(graph, "nfg:name")
        status = {
            "state": text_of(graph, "nfg:status/nfg:state"),
            "last_change": text_of(graph, "nfg:status/nfg:last-change"),
            "error": text_of(graph, "nfg:status/nfg:error"),
            "nfs": {},
            "flow_rules": {},
        }
        for nf in findall(graph, "nfg:nf"):
            st = {
                "state": text_of(nf, "nfg:status/nfg:state"),
                "flavour": text_of(nf, "nfg:status/nfg:flavour"),
                "template": text_of(nf, "nfg:status/nfg:template"),
                "namespace": text_of(nf, "nfg:status/nfg:namespace"),
                "pids": [int(p.text) for p in findall(nf, "nfg:status/nfg:pid") if p.text],
                "start_time": text_of(nf, "nfg:status/nfg:start-time"),
                "last_error": text_of(nf, "nfg:status/nfg:last-error"),
            }
            status["nfs"][text_of(nf, "nfg:id")] = st
        for rule in findall(graph, "nfg:flow-rule"):
            if rule.find("nfg:counters", {"nfg": SG_NS}) is None:
                continue
            status["flow_rules"][text_of(rule, "nfg:id")] = {
                "packets": int(text_of(rule, "nfg:counters/nfg:packets", "0")),
                "bytes": int(text_of(rule, "nfg:counters/nfg:bytes", "0")),
            }
        out[name] = status
    return out
